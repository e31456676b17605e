"""A ``saved_monitor`` directory may be the user's own folder: seismo never deletes, overwrites
or reads a file it did not write there, and replaces its own files atomically."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_data import write_config

from seismo.cli.jobs import run_job
from seismo.persist import PersistError
from seismo.persist.files import PENDING, replace_files


def _user_files(folder):
    """Every file in ``folder`` with its bytes: what the user had before seismo ran."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_saved_monitor_dot_keeps_the_users_config_and_data(workspace):
    # the reported loss: `saved_monitor: .` deleted config.yaml and data/ref.parquet
    (workspace / "data").mkdir()
    (workspace / "data" / "ref.parquet").write_bytes((workspace / "reference.parquet").read_bytes())
    (workspace / "notes.txt").write_text("my notes")
    path = write_config(workspace, {"saved_monitor": "."}, name="config.yaml")
    before = _user_files(workspace)
    assert run_job(path).refitted
    assert not run_job(path).refitted  # the saved monitor was found and reused
    after = _user_files(workspace)
    for name, content in before.items():
        if name != "seismo.db":  # the store next to the config is seismo's, and grows
            assert after.get(name) == content, f"{name} was changed or removed"
    written = set(after) - set(before) - {"seismo.db"}
    job = json.loads((workspace / "job.json").read_bytes())
    assert written == {"job.json", *(f"{job['folder']}{n}" for n in job["files"])}  # the folder of the last save
    assert not (workspace / PENDING).exists()


def test_a_refit_removes_only_the_files_seismo_listed(workspace):
    path = write_config(workspace, {"saved_monitor": "state"})
    run_job(path)
    state = workspace / "state"
    (state / "monitor" / "mine.txt").write_text("kept")  # a user's file inside seismo's folder
    (state / "monitor" / "lightgbm").mkdir(exist_ok=True)
    stale = state / "monitor" / "arrow" / "old.arrows"  # a file an earlier save listed, now dropped
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"old")
    job = json.loads((state / "job.json").read_bytes())
    job["files"].append("arrow/old.arrows")
    (state / "job.json").write_text(json.dumps(job))
    assert run_job(path, full=True).refitted
    assert (state / "monitor" / "mine.txt").read_text() == "kept"
    assert not stale.exists()


def test_a_foreign_job_file_stops_the_run_before_anything_is_written(workspace):
    (workspace / "job.json").write_text('{"my": "own job file"}')
    path = write_config(workspace, {"saved_monitor": "."})
    with pytest.raises(PersistError, match="job.json is not a job file seismo wrote"):
        run_job(path)
    assert (workspace / "job.json").read_text() == '{"my": "own job file"}'
    assert not (workspace / "monitor").exists()


def test_replace_files_refuses_to_overwrite_a_file_it_does_not_own(tmp_path):
    (tmp_path / "a.txt").write_text("user")
    with pytest.raises(PersistError, match="a.txt already exists and was not written by seismo"):
        replace_files(tmp_path, {"a.txt": b"seismo", "index": b"[]"}, owned=(), last="index")
    assert (tmp_path / "a.txt").read_text() == "user" and not (tmp_path / "index").exists()


def test_replace_files_after_a_crash_takes_back_the_names_it_claimed(tmp_path):
    # a write killed after its first file: the pending list says the file is seismo's
    (tmp_path / PENDING).write_text(json.dumps(["a.bin", "index"]))
    (tmp_path / "a.bin").write_bytes(b"half")
    replace_files(tmp_path, {"a.bin": b"full", "index": b"[a.bin]"}, owned=(), last="index")
    assert (tmp_path / "a.bin").read_bytes() == b"full" and not (tmp_path / PENDING).exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_persist_save_keeps_user_files_and_refuses_a_foreign_manifest(tmp_path):
    from seismo.persist import load, save
    from seismo.stats.moments import Moments

    (tmp_path / "readme.txt").write_text("user")
    partial = Moments.from_values(np.array([1.0, 2.0, 3.0]))
    save(partial, tmp_path)
    save(partial, tmp_path)
    assert (tmp_path / "readme.txt").read_text() == "user"
    assert type(load(tmp_path)) is type(partial)
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text('{"name": "a user manifest"}')
    with pytest.raises(PersistError, match="is not a manifest seismo wrote"):
        save(partial, other)
    assert (other / "manifest.json").read_text() == '{"name": "a user manifest"}'
