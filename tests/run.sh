#!/usr/bin/env bash
# The whole test suite: installs the servers the tests use at their pinned versions
# (tests/servers/install.sh; idempotent, checks every version), then runs every test of the
# workspace. The tests start their own servers on 127.0.0.1 from target/test-servers.
# Every test binary runs even when one fails (--no-fail-fast); the run ends with one summary of
# what failed, and exits non-zero when anything did.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tests/servers/install.sh || { echo "tests/run.sh: installing the test servers failed" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked --all-targets --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
cargo test --workspace --locked --doc --no-fail-fast "$@" 2>&1 | tee -a "$log"
doc_status=${PIPESTATUS[0]}
[ "$status" = 0 ] && status=$doc_status

echo
echo "== summary"
# "     Running tests/cli_s3.rs (target/debug/deps/cli_s3-0123abcd)" names the binary of the
# results that follow; "test name ... FAILED" lines name the failed tests.
failed=$(awk '
  /^ *(Running|Doc-tests) / { bin = $0; sub(/^ *(Running|Doc-tests) /, "", bin); sub(/ \(.*\)$/, "", bin) }
  /^test .* \.\.\. FAILED$/ { name = $0; sub(/^test /, "", name); sub(/ \.\.\. FAILED$/, "", name); print "  " bin ": " name }
' "$log")
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
nfailed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
if [ -n "$failed" ]; then
  echo "failed tests:"
  echo "$failed"
fi
# A test binary that did not build or crashed has no "test result" line: cargo names it.
grep -E '^error: ([0-9]+ )?targets? failed|^    `-p ' "$log" || true
echo "tests: ${passed} passed, ${nfailed} failed"
if [ "$status" != 0 ] && [ -z "$failed" ]; then
  echo "cargo test failed (exit $status) without a failed test: see the build errors above" >&2
fi
exit "$status"
