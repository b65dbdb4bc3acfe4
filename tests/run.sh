#!/usr/bin/env bash
# The whole test suite: installs the storage servers the tests use (idempotent), then runs every
# test of the workspace. The tests start their own servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/servers/install.sh
cargo test --workspace --locked --all-targets "$@"
