"""Runs that are killed with SIGKILL, for tests/store/test_faults.py.

Starting a Python process that imports pandas and SQLAlchemy (or all of seismo) costs
seconds on a busy CI machine, and the fault tests need many processes to kill. So this
worker imports once and then forks one child per run: each child is a real process that
opens its own store and is killed for real (SIGKILL, then reaped), only its start-up is
shared.

    python fault_worker.py store URL MODEL SEED N   # a run, then N store runs killed at seeded points
    python fault_worker.py job CONFIG SEED N        # N `seismo run`s over growing data, killed too
    python fault_worker.py write URL MODEL SEED N_CHUNKS FSIZE   # one run, files capped at FSIZE bytes (0: no cap)
    python fault_worker.py together WARMUP TIMEOUT CONFIG...     # one `seismo run` per CONFIG, all at once

Each run prints one JSON line: its seed, the child's pid, where it was killed ("delay" or a
store pause point) and how it ended ("killed", "exited 0", ...).
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import signal
import sys
import time
import traceback
import types
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/: pause_hook

STORE_POINTS = ("begin_run:locked", "begin_run:inserted", "commit_run:deleted", "commit_run:rows",
                "commit_run:state", "commit_run:marked", "commit_run:committed")


def fork_run(body: Callable[[], int], pause_at: str | None, delay: float | None, timeout: float = 60) -> dict:
    """Run `body` in a child process and kill it: once it pauses at `pause_at`, or after `delay` s
    (with neither, let it finish).

    Returns how the child ended and what it wrote to stderr (its traceback, if it failed).
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report on the pipe, never return into the parent's code
        code = 3
        try:
            os.close(read_end)
            os.dup2(write_end, 2)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            if pause_at is not None:
                from pause_hook import pause_at as install_pause  # tests/pause_hook.py

                install_pause(pause_at)
            code = body()
        except BaseException:  # noqa: BLE001 - the parent reports it
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    err = b""
    if pause_at is not None:  # kill it where it paused (or let it finish, if it never got there)
        deadline = time.monotonic() + timeout
        while b"seismo-store: paused" not in err and time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_end, 65536) if ready else b""
            if not chunk:
                break
            err += chunk
    elif delay is not None:
        time.sleep(delay)
    if pause_at is not None or delay is not None:
        os.kill(pid, signal.SIGKILL)  # an exited child is a zombie until reaped: never an error
    _, status = os.waitpid(pid, 0)  # reaped: its pid is gone, as after a real crash
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        err += chunk
    os.close(read_end)
    if os.WIFSIGNALED(status):
        ended = "killed"
    else:
        ended = f"exited {os.WEXITSTATUS(status)}"
    return {"pid": pid, "ended": ended, "stderr": err.decode(errors="replace")[-3000:]}


def plan(rng: np.random.Generator, points: tuple[str, ...], duration: float) -> tuple[str | None, float | None]:
    """Where to kill one run: half at a store pause point, half after a delay within its duration."""
    if rng.random() < 0.5:
        return str(rng.choice(points)), None
    return None, float(rng.uniform(0.0, 1.2 * duration))


def store_runs(url: str, model: str, seed: int, n: int) -> None:
    """`n` runs of `model`, each writing 3 chunks one further along than the run before."""
    from store_data import make_results

    from seismo.store import ResultsStore

    def one_run(i: int) -> Callable[[], int]:
        def body() -> int:
            with ResultsStore(url) as store:
                run_id = store.begin_run(model, f"seed-{seed + i}")
                store.commit_run(run_id, model, make_results(3, seed=seed + i, first_chunk=i),
                                 {"monitor": f"{seed + i}".encode()})
            return 0
        return body

    rng = np.random.default_rng(seed)
    one_run(0)()  # in this process: the lazy imports of a first run are done once, before the forks
    started = time.monotonic()
    print(json.dumps({"seed": seed + 1, "pause_at": None, "delay": None, **fork_run(one_run(1), None, None)}),
          flush=True)
    duration = time.monotonic() - started  # one whole run, not killed: how long the delays may be
    for i in range(2, n + 2):
        pause_at, delay = plan(rng, STORE_POINTS, duration)
        outcome = fork_run(one_run(i), pause_at, delay)
        print(json.dumps({"seed": seed + i, "pause_at": pause_at, "delay": delay, **outcome}), flush=True)


def job_runs(config: str, seed: int, n: int) -> None:
    """`n` `seismo run`s (the CLI's own entry point), each after appending a day of rows."""
    from pathlib import Path

    import pandas as pd
    from typer.main import get_command

    from seismo.cli.app import app

    command = get_command(app)
    folder = Path(config).parent
    analysis = pd.read_parquet(folder / "all_analysis.parquet")
    per_run = len(analysis) // (n + 3)

    def append(i: int) -> None:
        analysis.iloc[i * per_run:(i + 1) * per_run].to_parquet(folder / "analysis" / f"part-{i:03d}.parquet",
                                                                 index=False)

    def body() -> int:  # click returns the exit code that `seismo run` would exit with
        return int(command.main(["run", "-c", config, "-q"], standalone_mode=False) or 0)

    rng = np.random.default_rng(seed)
    append(0)
    # in this process: fits the monitor and does a first run's lazy imports once, before the forks
    print(json.dumps({"run": 0, "pause_at": None, "delay": None, "ended": f"exited {body()}", "stderr": ""}),
          flush=True)
    append(1)
    started = time.monotonic()
    print(json.dumps({"run": 1, "pause_at": None, "delay": None, **fork_run(body, None, None)}), flush=True)
    duration = time.monotonic() - started  # one incremental run, not killed: how long the delays may be
    for i in range(2, n + 2):
        append(i)
        pause_at, delay = plan(rng, STORE_POINTS, duration)
        print(json.dumps({"run": i, "pause_at": pause_at, "delay": delay, **fork_run(body, pause_at, delay)}),
              flush=True)
    rest = analysis.iloc[(n + 2) * per_run:]  # the rest of the rows, for the run that completes the work
    rest.to_parquet(folder / "analysis" / f"part-{n + 2:03d}.parquet", index=False)


def together(warmup: str, timeout: float, configs: list[str]) -> None:
    """Start one `seismo run` per config at the same moment; each prints how it ended.

    A child still running after `timeout` seconds is reported "hung" (a deadlock, or a lock
    wait that never ends) and killed. `warmup` is run first in this process, so that the
    children share its imports instead of each paying for them.
    """
    from typer.main import get_command

    from seismo.cli.app import app

    command = get_command(app)
    command.main(["run", "-c", warmup, "-q"], standalone_mode=False)
    children = {}
    for config in configs:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                os.close(read_end)
                os.dup2(write_end, 1)
                os.dup2(write_end, 2)
                sys.stdout, sys.stderr = os.fdopen(1, "w", buffering=1), os.fdopen(2, "w", buffering=1)
                code = int(command.main(["run", "-c", config, "-q"], standalone_mode=False) or 0)
            except BaseException:  # noqa: BLE001 - the parent reports it
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write_end)
        os.set_blocking(read_end, False)
        children[pid] = (config, read_end, [])
    ended: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(children) and time.monotonic() < deadline:
        for pid, (_, read_end, out) in children.items():
            with_output = True
            while with_output:  # drain, so that no child blocks on a full pipe
                try:
                    chunk = os.read(read_end, 65536)
                except BlockingIOError:
                    chunk = b""
                out.append(chunk)
                with_output = bool(chunk)
            if pid not in ended:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    ended[pid] = f"exited {os.waitstatus_to_exitcode(status)}"
        time.sleep(0.02)
    for pid, (config, read_end, out) in children.items():
        if pid not in ended:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            ended[pid] = "hung"
        os.set_blocking(read_end, True)
        while chunk := os.read(read_end, 65536):
            out.append(chunk)
        os.close(read_end)
        print(json.dumps({"config": config, "pid": pid, "ended": ended[pid],
                          "output": b"".join(out).decode(errors="replace")[-3000:]}), flush=True)


def write_run(url: str, model: str, seed: int, n_chunks: int, fsize: int) -> None:
    """One run of `n_chunks`, as `seismo run` does it: a refused write marks the run failed if it can.

    With `fsize`, no file of this process may grow beyond `fsize` bytes (RLIMIT_FSIZE): a write
    failure as real as a full disk, where mounting a small file system is not permitted. Exits 2
    printing the `StoreError` when the store refuses.
    """
    import resource

    from store_data import make_results

    from seismo.store import ResultsStore, StoreError

    if fsize:  # Python ignores SIGXFSZ, so a write past the cap fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    try:
        with ResultsStore(url) as store:
            run_id = store.begin_run(model, f"seed-{seed}")
            try:
                store.commit_run(run_id, model, make_results(n_chunks, seed=seed), {"monitor": str(seed).encode()})
            except StoreError:
                try:
                    store.fail_run(run_id, "refused")
                except StoreError:
                    pass  # the next run marks it failed
                raise
    except StoreError as exc:
        print(f"StoreError: {exc}", flush=True)
        raise SystemExit(2) from None
    print("stored", flush=True)


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode in ("store", "write"):
        # seismo.store without seismo/__init__.py (LightGBM, scikit-learn, plotly): see store_worker.py
        package = types.ModuleType("seismo")
        package.__path__ = list(importlib.util.find_spec("seismo").submodule_search_locations)
        sys.modules["seismo"] = package
        if mode == "store":
            store_runs(argv[1], argv[2], int(argv[3]), int(argv[4]))
        else:
            write_run(argv[1], argv[2], *(int(a) for a in argv[3:6]))
    elif mode == "job":
        job_runs(argv[1], int(argv[2]), int(argv[3]))
    elif mode == "together":
        together(argv[1], float(argv[2]), argv[3:])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
