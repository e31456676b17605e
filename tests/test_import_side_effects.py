"""Importing seismo does nothing behind the user's back: no socket is opened and no thread is
started (no telemetry, ever). Checked in a fresh interpreter, where nothing else was imported."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import socket, threading
opened = []
class Spy(socket.socket):
    def __init__(self, *args, **kwargs):
        opened.append(args)
        super().__init__(*args, **kwargs)
socket.socket = Spy
for name in ("create_connection", "getaddrinfo"):
    original = getattr(socket, name)
    def spy(*args, _original=original, _name=name, **kwargs):
        opened.append((_name, args))
        return _original(*args, **kwargs)
    setattr(socket, name, spy)
before = {t.ident for t in threading.enumerate()}
import seismo, seismo.cli.app, seismo.monitor.monitor, seismo.monitor.report
started = [t.name for t in threading.enumerate() if t.ident not in before]
import json
print(json.dumps({"opened": [repr(o) for o in opened], "started": started}))
"""


def test_import_opens_no_socket_and_starts_no_thread():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"opened": [], "started": []}
