"""A full disk and a read-only store (issue 12, item 4): a clear `StoreError`, and nothing that was
stored before is lost.

The disk really is full: a 256 kB tmpfs, or, where this process may not mount one, a file-size cap
(RLIMIT_FSIZE) on the writing process. The store really is read-only for root too: a read-only
bind mount, or an immutable (`chattr +i`) directory, or file modes when not running as root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from store_data import in_store_order, make_results

from seismo.store import SCHEMA_VERSION, ResultsStore, StoreError

WORKER = str(Path(__file__).with_name("fault_worker.py"))


def _quiet(*command: str) -> bool:
    return shutil.which(command[0]) is not None and subprocess.run(
        command, capture_output=True, check=False).returncode == 0


def _write(url: str, seed: int, n_chunks: int, fsize: int = 0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, WORKER, "write", url, "m", str(seed), str(n_chunks), str(fsize)],
                          capture_output=True, text=True, timeout=120, check=False)


def _first_run(url: str) -> pd.DataFrame:
    first = make_results(3, seed=0)
    with ResultsStore(url) as store:
        store.commit_run(store.begin_run("m", "h"), "m", first, {"monitor": b"first"})
    return first


def _assert_kept(url: str, first: pd.DataFrame) -> None:
    with ResultsStore(url) as store:
        pd.testing.assert_frame_equal(store.results("m"), in_store_order(first), check_exact=True)
        assert store.load_state("m") == {"monitor": b"first"}


def test_a_full_disk_gives_a_store_error_and_keeps_what_was_stored(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    # room for the empty schema (version 4 added the alerts table) and one small run, not for 350 kB more
    mounted = _quiet("mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", str(disk))
    try:
        url = f"sqlite:///{disk / 'store.db'}"
        first = _first_run(url)
        cap = 0 if mounted else (disk / "store.db").stat().st_size + 64 * 1024
        done = _write(url, seed=1, n_chunks=60, fsize=cap)  # ~1,000 rows: 350 kB, more than there is room for
        assert done.returncode == 2, done.stdout + done.stderr[-3000:]
        assert "could not write the run's results (none of them were stored" in done.stdout
        assert ("full" if mounted else "I/O") in done.stdout  # "database or disk is full", or EFBIG's "disk I/O error"
        _assert_kept(url, first)
        if mounted:  # room again: the next run completes, and the refused run is failed, not left running
            assert _quiet("mount", "-o", "remount,size=16m", str(disk))
        assert _write(url, seed=2, n_chunks=60).returncode == 0
        with ResultsStore(url) as store:
            assert store.runs("m")["status"].tolist() == ["succeeded", "failed", "succeeded"]
            assert len(store.results("m")) == len(make_results(60, seed=2))
    finally:
        if mounted:
            _quiet("umount", str(disk))


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[str]:
    """`folder` made read-only even for root: yields how."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        for path in folder.iterdir():
            os.chmod(path, 0o444)
        try:
            yield "modes"
        finally:
            os.chmod(folder, 0o755)
        return
    if _quiet("mount", "--bind", str(folder), str(folder)):
        try:
            if _quiet("mount", "-o", "remount,bind,ro", str(folder)):
                yield "read-only mount"
                return
        finally:
            _quiet("umount", str(folder))
    if _quiet("chattr", "+i", str(folder), *map(str, folder.iterdir())):
        try:
            yield "immutable"
        finally:
            _quiet("chattr", "-i", str(folder), *map(str, folder.iterdir()))
        return
    pytest.fail("cannot make a folder read-only for root here: no bind mount and no chattr +i")


def test_a_read_only_sqlite_store_gives_a_store_error_and_keeps_what_was_stored(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    url = f"sqlite:///{folder / 'store.db'}"
    first = _first_run(url)
    with _read_only(folder) as how:
        assert not (folder / "proof").exists()
        with pytest.raises(OSError):
            (folder / "proof").write_text("root can still write here")
        with pytest.raises(StoreError, match=r"cannot open the store sqlite:///.*store\.db: .*(readonly|read-only|"
                                             r"unable to open).*to only read it, open it with read_only=True"):
            ResultsStore(url)
        with ResultsStore(url, read_only=True) as store:  # what a report, a backup or a dashboard needs
            pd.testing.assert_frame_equal(store.results("m"), in_store_order(first), check_exact=True)
            assert store.load_state("m") == {"monitor": b"first"} and len(store.runs("m")) == 1
            with pytest.raises(StoreError, match=r"was opened read-only \(read_only=True\): nothing can be written"):
                store.begin_run("m", "h")
        assert sorted(p.name for p in folder.iterdir()) == ["store.db"]  # no journal or lock file was attempted
    assert how
    _assert_kept(url, first)


def test_a_store_opened_read_only_creates_and_migrates_nothing(tmp_path):
    missing = tmp_path / "none.db"
    with pytest.raises(StoreError, match=r"read-only: .*none\.db does not exist"):
        ResultsStore(f"sqlite:///{missing}", read_only=True)
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    with pytest.raises(StoreError, match=r"holds no seismo results \(no schema_version table\)"):
        ResultsStore(f"sqlite:///{empty}", read_only=True)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = _first_run(url)
    newer = SCHEMA_VERSION + 1
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO schema_version VALUES ({newer}, '2030-01-01', '9.0')")
    with pytest.raises(StoreError, match=rf"schema version {newer}, newer than the version {SCHEMA_VERSION} this "
                                         r"seismo .* knows; upgrade seismo"):
        ResultsStore(url, read_only=True)
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM schema_version WHERE version = {newer}")
    with ResultsStore(url, read_only=True) as store:
        pd.testing.assert_frame_equal(store.results("m"), in_store_order(first), check_exact=True)


def test_a_read_only_postgres_store_gives_a_store_error_and_keeps_what_was_stored(postgres_server):
    url = postgres_server.create_database()
    first = _first_run(url)
    name = sa.make_url(url).database
    with ResultsStore(url) as store, store.engine.connect() as conn:
        conn.exec_driver_sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        conn.commit()
    with ResultsStore(url) as store:  # opens (nothing to migrate), then every write is refused
        with pytest.raises(StoreError, match=r"could not record a new run \(nothing was written\): "
                                             r"cannot execute .* in a read-only transaction"):
            store.begin_run("m", "h")
    _assert_kept(url, first)


def test_a_postgres_store_opened_read_only_reads_in_read_only_transactions(postgres_server):
    url = postgres_server.create_database()
    first = _first_run(url)
    with ResultsStore(url, read_only=True) as store:
        pd.testing.assert_frame_equal(store.results("m"), in_store_order(first), check_exact=True)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        with pytest.raises(StoreError, match=r"was opened read-only"):
            store.commit_run(1, "m", first)
    _assert_kept(url, first)
