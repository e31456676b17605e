"""Which process owns a run, and whether that process is still alive.

A run row records its host, pid and, on Linux, the process start time, so that a pid
reused by an unrelated process after a crash is not mistaken for the run's owner.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), or None off Linux or when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses, so split after its last ')'.
    return stat[stat.rfind(")") + 2 :].split()


def process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), or None off Linux or when gone."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def is_zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet: it still answers kill(pid, 0)."""
    fields = _proc_stat(pid)
    return bool(fields) and fields[0] in ("Z", "X")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover - e.g. pid out of range
        return False
    return True


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

        Only decidable for processes of the current host; callers check the host first.
        """
        if not pid_alive(self.pid) or is_zombie(self.pid):
            return True
        if self.start is None:  # cannot tell a reused pid apart; assume it is the same process
            return False
        now = process_start(self.pid)
        return now is not None and now != self.start
