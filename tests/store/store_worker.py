"""A separate process using the store, for the crash and concurrency tests.

    python store_worker.py commit URL MODEL N_CHUNKS SEED RUNS   # RUNS successive runs, each committed
    python store_worker.py hold URL MODEL                       # begin a run, print its id, never finish

Prints "run <id>" on stdout as each run begins. With SEISMO_TESTS_PAUSE_AT=<point> in the
environment it sleeps at that store fault point (tests/pause_hook.py).
"""

from __future__ import annotations

import importlib.util
import sys
import time
import types

# Import seismo.store without running seismo/__init__.py, which loads LightGBM, scikit-learn and
# plotly: seconds per process on a busy CI machine, and the store needs none of them.
_package = types.ModuleType("seismo")
_package.__path__ = list(importlib.util.find_spec("seismo").submodule_search_locations)
sys.modules["seismo"] = _package

import os
from pathlib import Path

from store_data import make_results

from seismo.store import ResultsStore

sys.path.insert(0, str(Path(__file__).parents[1]))
from pause_hook import pause_at  # noqa: E402

if os.environ.get("SEISMO_TESTS_PAUSE_AT"):  # test_store_processes: sleep at this store fault point
    pause_at(os.environ["SEISMO_TESTS_PAUSE_AT"])


def main(argv: list[str]) -> None:
    mode, url, model = argv[:3]
    store = ResultsStore(url)
    if mode == "hold":
        print("run", store.begin_run(model, "hold"), flush=True)
        time.sleep(3600)
    n_chunks, seed, runs = (int(a) for a in argv[3:6])
    for i in range(runs):
        run_id = store.begin_run(model, f"config-{seed}")
        print("run", run_id, flush=True)
        store.commit_run(run_id, model, make_results(n_chunks, seed=seed + i), {"monitor": f"{seed + i}".encode()})


if __name__ == "__main__":
    main(sys.argv[1:])
