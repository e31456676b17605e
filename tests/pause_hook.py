"""Stop a process at one of the store's fault points, so that a test can kill it there.

Test code only: the store calls `seismo.store.fault_points.reached` at each step of a run,
and nothing happens unless a hook is installed in that process. `pause_at(point)` installs
one that prints ``seismo-store: paused at <point>`` to stderr and sleeps; the test waits for
the line and sends SIGKILL.

    python tests/pause_hook.py POINT [seismo arguments ...]   # `seismo ...`, paused at POINT
"""

from __future__ import annotations

import sys
import time
from typing import Any

from seismo.store import fault_points


def pause_at(point: str) -> None:
    """From now on, sleep (for an hour: until killed) the first time the store reaches ``point``."""
    if point not in fault_points.POINTS:
        raise ValueError(f"{point!r} is not a store fault point; they are {fault_points.POINTS}")

    def hook(name: str, context: dict[str, Any]) -> None:
        if name == point:
            print(f"seismo-store: paused at {name}", file=sys.stderr, flush=True)
            time.sleep(3600)

    fault_points.install(hook)


if __name__ == "__main__":
    pause_at(sys.argv[1])
    from seismo.cli.app import app

    sys.argv = ["seismo", *sys.argv[2:]]
    app()
