"""Which process owns a run, and whether that process is still alive.

A run row records its host, pid and the process's start time, so that a pid reused by an
unrelated process after a crash is not mistaken for the run's owner. psutil answers both
questions the same way on Linux, macOS and Windows (there, ``os.kill(pid, 0)`` would send
CTRL_C to the process rather than probe it).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import psutil

_START = "psutil:"  # marks start times written by this module; older rows held Linux clock ticks


def process_start(pid: int) -> str | None:
    """When `pid` started (seconds since the epoch, as text), or None when it is gone or hidden."""
    try:
        return f"{_START}{psutil.Process(pid).create_time():.3f}"
    except (psutil.Error, OSError):
        return None


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (killed, not yet reaped by its parent)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.AccessDenied:  # exists, owned by someone else
        return True
    except (psutil.Error, OSError):
        return False


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    pid: int
    start: str | None

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, process_start(pid))

    def is_gone(self) -> bool:
        """True when this process, on this host, has certainly ended.

        Only decidable for processes of the current host; callers check the host first. A
        start time recorded by an older seismo cannot be compared: then a live pid counts as
        the same process, which errs towards waiting, never towards breaking a live run's lock.
        """
        if not _running(self.pid):
            return True
        if self.start is None or not self.start.startswith(_START):
            return False
        now = process_start(self.pid)
        return now is not None and now != self.start
