"""Runs a real Milvus 2.3.5 standalone server (PyPI `milvus`, "Embedded Milvus") for the tests.

Started by tests/support/milvus.rs inside its own mount + network namespace (loopback only), with
every role on 127.0.0.1 and local storage. Prints one line once the server answers its health
check: `ready <package version> <grpc port> <local storage path>`; then waits. When this process
receives SIGTERM, or its parent (the test process) dies, the server is killed (the embedded
server does not stop on SIGTERM).

usage: milvus_run.py DATA_DIR [auth] [key=value ...]
  auth       common.security.authorizationEnabled: true (user root, password Milvus)
  key=value  other milvus.yaml settings, dotted keys
"""
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent(sig):
    libc.prctl(PR_SET_PDEATHSIG, sig)


# This process: SIGTERM when the test process dies (handled below: kill the server, exit).
die_with_parent(signal.SIGTERM)

import milvus  # noqa: E402
from importlib.metadata import version  # noqa: E402

_popen = subprocess.Popen


def popen_dying_with_us(*args, **kwargs):
    """The launcher's Popen, with the server killed when this process dies."""
    kwargs["preexec_fn"] = lambda: die_with_parent(signal.SIGKILL)
    return _popen(*args, **kwargs)


milvus.subprocess.Popen = popen_dying_with_us

data = sys.argv[1]
config = milvus.MilvusServerConfig()
server = milvus.MilvusServer(config, data_dir=data)
for role in ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode"):
    config.set(f"{role}.ip", "127.0.0.1")
for arg in sys.argv[2:]:
    if arg == "auth":
        config.set("authorization_enabled", True)
    else:
        key, value = arg.split("=", 1)
        config.set(key, value)


def stop(*_):
    proc = server.server_proc
    if proc is not None:
        proc.kill()
        proc.wait()
    os._exit(0)


signal.signal(signal.SIGTERM, stop)
server.start()
storage = os.path.join(data, "data")
print(f"ready {version('milvus')} {server.listen_port} {storage}", flush=True)
server.server_proc.wait()
print("milvus exited with", server.server_proc.returncode, file=sys.stderr, flush=True)
sys.exit(1)
