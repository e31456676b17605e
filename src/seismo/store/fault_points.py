"""Named steps of a store run where a test can inject a fault.

The fault and crash tests must stop a process at a chosen step (inside `begin_run`'s
transaction, half-way through `commit_run`'s inserts, after its commit) and kill it. The store
calls `reached(point)` at each step; nothing happens unless a test installed a hook with
`install`, in the process it is about to kill. Production code never installs one, and no
environment variable or file switches it on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

POINTS = ("begin_run:locked", "begin_run:inserted", "commit_run:deleted", "commit_run:rows",
          "commit_run:state", "commit_run:marked", "commit_run:committed")
"""``commit_run:rows`` comes after each batch of result rows, inside the open transaction, with
``inserted`` (rows so far) and ``total`` in its context."""

Hook = Callable[[str, dict[str, Any]], None]
_hook: Hook | None = None


def install(hook: Hook | None) -> None:
    """Call ``hook(point, context)`` at every point from now on (``None`` removes it)."""
    global _hook
    _hook = hook


def reached(point: str, **context: Any) -> None:
    """The store is at ``point``; the installed hook, if any, may stop or kill the process here."""
    if _hook is not None:
        _hook(point, context)
