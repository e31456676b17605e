"""A run's owner is judged alive or gone through psutil: a finished or zombie process is gone, a
live one is not, and a pid that now belongs to a process started later is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from seismo.store.process import ProcessIdentity, process_start


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_this_process_is_alive_and_has_a_start_time():
    me = ProcessIdentity.current()
    assert me.pid == os.getpid() and me.start is not None and me.start.startswith("psutil:")
    assert not me.is_gone()


def test_a_finished_process_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = ProcessIdentity("h", child.pid, process_start(child.pid))
    child.wait()
    assert identity.is_gone()


def test_a_killed_unreaped_process_is_gone():
    child = _sleeper()
    identity = ProcessIdentity("h", child.pid, process_start(child.pid))
    try:
        os.kill(child.pid, signal.SIGKILL)
        # not reaped yet: a zombie still owns the pid
        assert _wait_until(identity.is_gone)
    finally:
        child.wait()


def test_a_pid_reused_by_a_later_process_is_gone():
    child = _sleeper()
    try:
        started = process_start(child.pid)
        earlier = f"psutil:{float(started.split(':')[1]) - 100:.3f}"  # the run's owner started before
        assert ProcessIdentity("h", child.pid, earlier).is_gone()
        assert not ProcessIdentity("h", child.pid, started).is_gone()
        # a start time an older seismo wrote (Linux clock ticks) cannot be compared: wait, never break a lock
        assert not ProcessIdentity("h", child.pid, "123456").is_gone()
    finally:
        child.kill()
        child.wait()


def _wait_until(condition, attempts: int = 200) -> bool:
    import time

    for _ in range(attempts):
        if condition():
            return True
        time.sleep(0.05)
    return False
