"""Starts moto's server after saying which moto it is.

The first line on standard output is `moto <version>`, printed by the very interpreter that then
serves, so the test harness can refuse a server of another version than the one pinned in
tests/servers/versions.env (a moto of another vintage first on PATH once failed CI in ways that
looked like Ferry's fault). Every argument is passed to moto's own `moto_server` entry point.

Usage: target/test-servers/venv/bin/python moto_run.py -H 127.0.0.1 -p PORT
"""

import sys

import moto
from moto.server import main

print(f"moto {moto.__version__}", flush=True)
main(sys.argv[1:])
