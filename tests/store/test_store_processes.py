"""Real processes: killed mid-write, running side by side, fighting over one model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from store_data import in_store_order, make_results

from seismo.store import ResultsStore, StoreError

WORKER = str(Path(__file__).with_name("store_worker.py"))
PAUSE_AT_ENV = "SEISMO_TESTS_PAUSE_AT"  # read by store_worker.py only


def _start(*args: str, pause_at: str | None = None) -> subprocess.Popen:
    """The worker; with ``pause_at``, it sleeps at that store fault point (tests/pause_hook.py)."""
    env = dict(os.environ)
    if pause_at is not None:
        env[PAUSE_AT_ENV] = pause_at
    return subprocess.Popen([sys.executable, WORKER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _wait_for(proc: subprocess.Popen, stream: str, text: str) -> str:
    """Read `stream` until a line containing `text`; fail with the process's output if it exits first."""
    pipe = getattr(proc, stream)
    for line in pipe:
        if text in line:
            return line
    proc.wait(timeout=30)
    raise AssertionError(f"worker exited ({proc.returncode}) before printing {text!r}: {proc.stderr.read()[-3000:]}")


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)  # reaped: its pid no longer exists
    proc.stdout.close()
    proc.stderr.close()


def test_a_run_killed_mid_write_leaves_no_rows_and_is_marked_failed(store_url: str):
    with ResultsStore(store_url) as store:
        first = make_results(n_chunks=3, seed=0)
        store.commit_run(store.begin_run("m", "h"), "m", first, {"monitor": b"first"})

        # The worker re-writes the same chunks (seed 7): deletes the old rows, inserts a batch, then freezes.
        proc = _start("commit", store_url, "m", "3", "7", "1", pause_at="commit_run:rows")
        killed = int(_wait_for(proc, "stdout", "run ").split()[1])
        _wait_for(proc, "stderr", "seismo-store: paused")
        _kill(proc)

        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM results WHERE run_id = :r"), {"r": killed}).scalar() == 0
        # The rows it deleted before dying are all back: the first run's rows, untouched.
        pd.testing.assert_frame_equal(store.results("m"), in_store_order(first), check_exact=True)
        assert store.load_state("m") == {"monitor": b"first"}
        assert store.runs("m").set_index("run_id").loc[killed, "status"] == "running"  # until someone looks

        rerun = store.begin_run("m", "h")
        runs = store.runs("m").set_index("run_id")
        assert runs.loc[killed, "status"] == "failed"
        assert f"pid {proc.pid}" in runs.loc[killed, "message"] and "ended without committing" in runs.loc[killed, "message"]
        again = make_results(n_chunks=3, seed=7)
        assert store.commit_run(rerun, "m", again, {"monitor": b"rerun"}) == len(again)
        pd.testing.assert_frame_equal(store.results("m"), in_store_order(again), check_exact=True)
        assert store.load_state("m") == {"monitor": b"rerun"}


def test_two_models_written_by_two_processes_at_once(store_url: str):
    ResultsStore(store_url).close()  # create the schema once, before the race
    procs = {model: _start("commit", store_url, model, "6", str(seed), "2") for model, seed in (("a", 10), ("b", 20))}
    for model, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"worker {model} failed: {err[-3000:]}"
        assert out.count("run ") == 2
    with ResultsStore(store_url) as store:
        for model, seed in (("a", 10), ("b", 20)):
            last = make_results(6, seed=seed + 1)
            runs = store.runs(model)
            assert runs["status"].tolist() == ["succeeded"] * 2 and runs["row_count"].tolist() == [len(last)] * 2
            pd.testing.assert_frame_equal(store.results(model), in_store_order(last), check_exact=True)
            assert store.load_state(model) == {"monitor": str(seed + 1).encode()}


def test_a_second_process_on_the_same_model_is_refused(store_url: str):
    ResultsStore(store_url).close()
    holder = _start("hold", store_url, "m")
    try:
        held = int(_wait_for(holder, "stdout", "run ").split()[1])
        with ResultsStore(store_url) as store:
            with pytest.raises(StoreError, match=f"model 'm' is already being monitored by run {held} .*pid {holder.pid}"):
                store.begin_run("m", "h")
            other = store.begin_run("n", "h")
            assert store.commit_run(other, "n", make_results(1)) == len(make_results(1))
            _kill(holder)
            store.begin_run("m", "h")
            assert store.runs("m")["status"].tolist() == ["failed", "running"]
    finally:
        if holder.poll() is None:
            _kill(holder)
