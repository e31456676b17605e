"""Saved monitors, calculators and partials load back exactly, and loading runs no code.

* A fitted `Monitor` (binary with CBPE and with PAPE, regression, multiclass) saved and loaded
  gives the same report, frame for frame; so does every calculator saved on its own, and
  saving the loaded object again gives the same bytes.
* Partials (what incremental runs store) load back and merge to the same finished values.
* A tampered save is refused with a `PersistError` that names the file, class or path: a
  class outside seismo, a pickle payload (which must not run: its marker file never appears),
  a changed byte, an unknown format version, missing or malformed files.
* What cannot be saved (a lambda, a user class, an open file) fails at save time, naming
  its attribute path.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import pickle
import warnings
from collections import OrderedDict, defaultdict

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import seismo
from seismo.data.frame import load_frame
from seismo.persist import FORMAT_VERSION, PersistError, dumps, load, loads, save
from seismo.stats.moments import Moments

# Small data and a few features keep the file fast; the codec does not care about size.
SIZES = {"n_reference": 4_000, "n_analysis": 2_000}
CHUNK = 1_000
CREDIT = {"y_pred_proba": "y_pred_proba", "y_pred": "y_pred", "y_true": "defaulted", "timestamp": "timestamp",
          "id": "id", "chunk_size": CHUNK, "features": ["income", "debt_ratio", "region", "employment_type"]}


def _fit(monitor, reference):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)  # few reference chunks: fine for a round trip
        return monitor.fit(reference)


@pytest.fixture(scope="module")
def credit():
    return seismo.datasets.load_synthetic_credit(**SIZES)


@pytest.fixture(scope="module")
def credit_monitor(credit):
    return _fit(seismo.Monitor("binary", **CREDIT), credit[0])


@pytest.fixture(scope="module")
def credit_report(credit_monitor, credit):
    return credit_monitor.run(credit[1], targets=credit[2])


@pytest.fixture(scope="module")
def credit_files(credit_monitor):
    return dumps(credit_monitor)


@pytest.fixture(scope="module")
def regression():
    reference, analysis, targets = seismo.datasets.load_synthetic_house_prices(**SIZES)
    monitor = seismo.Monitor("regression", y_pred="y_pred", y_true="price", timestamp="timestamp", id="id",
                             chunk_size=CHUNK, metrics=["mae"], features=["area_m2", "neighbourhood", "rooms"])
    return _fit(monitor, reference), analysis, targets


def _assert_same_report(original, loaded, analysis, targets, original_report=None):
    expected = (original_report or original.run(analysis, targets=targets)).to_df()
    pd.testing.assert_frame_equal(loaded.run(analysis, targets=targets).to_df(), expected)


# -- round trips -----------------------------------------------------------------------------------


def test_binary_monitor_round_trip_through_a_directory(credit_monitor, credit_report, credit, tmp_path):
    credit_monitor.save(tmp_path / "monitor")
    names = {p.relative_to(tmp_path / "monitor").as_posix() for p in (tmp_path / "monitor").rglob("*") if p.is_file()}
    assert {"manifest.json", "state.json", "arrays.npz"} <= names
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)
    loaded = seismo.Monitor.load(tmp_path / "monitor")
    assert type(loaded) is seismo.Monitor and loaded is not credit_monitor
    _assert_same_report(credit_monitor, loaded, credit[1], credit[2], credit_report)
    manifest = json.loads((tmp_path / "monitor" / "manifest.json").read_text())
    assert manifest["format_version"] == 2  # no segments: the format a seismo from before segments reads
    assert {"seismo", "numpy", "lightgbm", "scikit-learn", "pyarrow"} <= set(manifest["saved_by"])
    assert manifest["saved_by"]["seismo"] == seismo.__version__
    assert set(manifest["files"]) == names - {"manifest.json"}


def test_saving_again_gives_the_same_bytes(credit_monitor, credit_files):
    assert dumps(loads(credit_files)) == credit_files


def test_every_calculator_round_trips_on_its_own(credit_monitor, credit_report, credit):
    _, analysis, targets = credit
    for key, calculator in credit_monitor.calculators_.items():  # keyed as Report.results
        loaded = loads(dumps(calculator))
        assert type(loaded) is type(calculator)
        if key == "estimated_performance":
            result = loaded.estimate(analysis, targets=targets, id="id")
        elif key == "realized_performance":
            result = loaded.calculate(analysis, targets=targets, id="id")
        else:
            result = loaded.calculate(analysis)
        pd.testing.assert_frame_equal(result.to_df(), credit_report.results[key].to_df(), obj=key)


def test_pape_monitor_round_trip(credit):
    reference, analysis, targets = credit
    monitor = _fit(seismo.Monitor("binary", **CREDIT, estimator="pape"), reference)
    assert isinstance(monitor.calculators_["estimated_performance"], seismo.PAPE)
    _assert_same_report(monitor, loads(dumps(monitor)), analysis, targets)


def test_regression_monitor_round_trip_keeps_lightgbm_models(regression):
    monitor, analysis, targets = regression
    files = dumps(monitor)
    assert any(name.startswith("lightgbm/") for name in files)  # DLE's loss models, as LightGBM text
    loaded = loads(files)
    assert isinstance(loaded.calculators_["estimated_performance"], seismo.DLE)
    _assert_same_report(monitor, loaded, analysis, targets)


def test_multiclass_monitor_round_trip():
    reference, analysis, targets = seismo.datasets.load_synthetic_churn(**SIZES)
    proba = {k: f"y_pred_proba_{k}" for k in ("stay", "downgrade", "leave")}
    monitor = _fit(seismo.Monitor("multiclass", y_pred_proba=proba, y_pred="y_pred", y_true="churn",
                                  timestamp="timestamp", id="id", chunk_size=CHUNK,
                                  features=["monthly_charges", "support_calls", "plan"]), reference)
    _assert_same_report(monitor, loads(dumps(monitor)), analysis, targets)


def test_partials_load_back_and_merge_to_the_same_values(credit_monitor, credit, regression):
    """What an incremental run stores: the partials of an open chunk, completed later by new rows."""
    covered = set()
    for monitor, (_, analysis, targets) in ((credit_monitor, credit), (regression[0], (None, *regression[1:]))):
        frame = load_frame(analysis.merge(targets, on="id"), None, None, "analysis")
        for name in ("univariate_drift", "data_quality", "realized_performance"):
            for fitted in monitor.calculators_[name].fitted_trackers_:
                tracker = fitted.tracker
                encoded = tracker.encode(frame)
                first, later = tracker.partial(encoded, slice(0, 700)), tracker.partial(encoded, slice(700, 1_900))
                first_loaded, total_loaded = loads(dumps((first, fitted.total)))
                covered |= {type(first).__name__, type(getattr(first, "inner", first)).__name__}
                expected = tracker.finish(first + later, fitted.total)
                got = tracker.finish(first_loaded + later, total_loaded)
                assert got.keys() == expected.keys()
                for key in expected:
                    np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(expected[key]), err_msg=str(key))
    assert {"Histogram", "CategoryCounts", "ContinuousQualityPartial", "ClassificationPartial", "LossSums"} <= covered


def test_shared_objects_stay_shared_and_cycles_end():
    moments = Moments.from_values(np.array([1.0, 2.0, 4.0]))
    graph: dict = {"a": [moments, moments], "b": (moments,), "arrays": [np.arange(3)] * 2}
    graph["self"] = graph
    moments.owner = graph  # an instance cycle too
    loaded = loads(dumps(graph))
    assert loaded["self"] is loaded
    assert loaded["a"][0] is loaded["a"][1] is loaded["b"][0]
    assert loaded["a"][0].owner is loaded
    assert loaded["arrays"][0] is loaded["arrays"][1]
    assert (loaded["a"][0].n, loaded["a"][0].mean, loaded["a"][0].m2) == (3.0, moments.mean, moments.m2)


def test_values_of_every_supported_type_round_trip():
    frame = pd.DataFrame({"x": [1.5, np.nan], "c": pd.Categorical(["a", "b"]),
                          "t": pd.to_datetime(["2024-01-01", "2024-02-01"]).tz_localize("UTC")}, index=[10, 20])
    value = {
        "floats": [float("nan"), float("inf"), -0.0, 1e-310], (1, "tuple key"): None, None: "none key",
        "numpy": [np.float32(0.1), np.int64(-7), np.bool_(True), np.datetime64("NaT"), np.datetime64("2024-01-01", "D"),
                  np.timedelta64(5, "s"), np.str_("s")],
        "times": [pd.Timestamp("2024-03-01 12:00:00.000000001", tz="Europe/Paris"), pd.Timedelta("1h"), pd.NaT,
                  dt.datetime(2024, 1, 2, 3, 4, 5, 6), dt.date(2024, 1, 2), dt.timedelta(days=1, microseconds=3)],
        "containers": [{1, 2}, frozenset({"a"}), OrderedDict(b=1, a=2), defaultdict(list, {"k": [1]}), slice(1, 9, 2),
                       b"\x00bytes"],
        "arrays": [np.array([[1, 2], [3, 4]], dtype=np.int32, order="F"), np.array(["ab", "c"]), np.zeros((0, 3))],
        "arrow": [pa.array(["x", None, "y"]), pa.chunked_array([[1, 2], [3]]), pa.table({"a": [1.0, None]})],
        "pandas": [frame, frame["x"].rename("named"), pd.Index(["p", "q"], name="idx")],
    }
    loaded = loads(dumps(value))
    assert loaded.keys() == value.keys() and loaded[None] == "none key"
    floats = loaded["floats"]
    assert np.isnan(floats[0]) and floats[1] == np.inf and str(floats[2]) == "-0.0" and floats[3] == 1e-310
    for got, want in zip(loaded["numpy"], value["numpy"]):
        assert type(got) is type(want) and (got == want or (np.isnat(got) and np.isnat(want)))
    assert loaded["times"][0] == value["times"][0] and str(loaded["times"][0].tz) == "Europe/Paris"
    assert loaded["times"][0].unit == value["times"][0].unit
    assert loaded["times"][1] == value["times"][1] and loaded["times"][2] is pd.NaT
    assert loaded["times"][3:] == value["times"][3:]
    assert loaded["containers"][:5] == value["containers"][:5] and loaded["containers"][5] == b"\x00bytes"
    assert type(loaded["containers"][3]) is defaultdict and loaded["containers"][3]["new"] == []
    for got, want in zip(loaded["arrays"], value["arrays"]):
        assert got.dtype == want.dtype and got.shape == want.shape and (got == want).all()
    assert loaded["arrays"][0].flags.f_contiguous
    for got, want in zip(loaded["arrow"], value["arrow"]):
        assert type(got) is type(want) and got.equals(want)
    pd.testing.assert_frame_equal(loaded["pandas"][0], frame)
    pd.testing.assert_series_equal(loaded["pandas"][1], value["pandas"][1])
    pd.testing.assert_index_equal(loaded["pandas"][2], value["pandas"][2])


def test_lightgbm_sklearn_wrapper_round_trips():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = np.where(x[:, 0] + rng.normal(0, 0.5, 400) > 0, "yes", "no")
    model = lgb.LGBMClassifier(n_estimators=8, n_jobs=1, verbose=-1).fit(x, y)
    loaded = loads(dumps(model))
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.booster_.params["num_threads"] == 1  # keeps the single-thread setting


# -- what cannot be saved ----------------------------------------------------------------------------


class _UserChunker(seismo.SizeChunker):
    """A chunker defined outside seismo: loading could not rebuild it without importing this test."""


def test_unsaveable_attributes_are_named_at_save_time(credit_files, tmp_path):
    monitor = loads(credit_files)  # a private copy to spoil
    monitor.calculators_["estimated_performance"].calibration = lambda scores: scores
    with pytest.raises(PersistError, match=r"cannot save calculators_\['estimated_performance'\]\.calibration: .*lambda"):
        dumps(monitor)
    del monitor.calculators_["estimated_performance"].calibration
    monitor.chunker = _UserChunker(100)
    with pytest.raises(PersistError, match=r"cannot save chunker: it is a test_persist:_UserChunker"):
        dumps(monitor)
    monitor.chunker = None
    with open(tmp_path / "log.txt", "w") as handle:
        monitor.calculators_["data_quality"].log = handle
        with pytest.raises(PersistError, match=r"cannot save calculators_\['data_quality'\]\.log: .*TextIOWrapper"):
            save(monitor, tmp_path / "spoilt")
    assert not (tmp_path / "spoilt").exists()  # nothing is written when saving fails
    with pytest.raises(PersistError, match=r"cannot save <root>\[1\]: a numpy array of Python objects"):
        dumps([0, np.array([{}], dtype=object)])


# -- tampering -------------------------------------------------------------------------------------


def _replaced(files: dict[str, bytes], name: str, data: bytes) -> dict[str, bytes]:
    """``files`` with ``name`` replaced and the manifest's checksum updated to match, as an attacker would."""
    files = dict(files, **{name: data})
    manifest = json.loads(files["manifest.json"])
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    files["manifest.json"] = json.dumps(manifest).encode()
    return files


def _with_class(files: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    state = files["state.json"].decode()
    assert f'"$object": "{old}"' in state
    return _replaced(files, "state.json", state.replace(f'"$object": "{old}"', f'"$object": "{new}"', 1).encode())


@pytest.mark.parametrize("name", ["os:system", "subprocess:Popen", "builtins:eval", "os.system", "pickle:loads",
                                  "seismo.monitor.monitor:pd", "seismo.monitor.monitor:warnings.warn", "seismo.monitor.monitor:Monitor.__class__",
                                  "seismo.persist.bundle:Path", "seismo.nothere:X"])
def test_a_class_outside_seismo_is_refused(credit_files, name):
    files = _with_class(credit_files, "seismo.chunks.chunkers:SizeChunker", name)
    with pytest.raises(PersistError, match=r"state\.json, at calculators_\['estimated_performance'\]\..*chunker_: .*" + "(not allowed"
                       "|not of the form|not a class defined|does not exist)"):
        loads(files)


class _Payload:
    """Unpickling this creates ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payloads_are_refused_without_running(credit_files, tmp_path):
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Payload(proof))).close()
    assert proof.exists()  # the payload is live: unpickling it does run code

    marker = tmp_path / "marker"
    payload = pickle.dumps(_Payload(marker))
    with pytest.raises(PersistError, match=r"arrays\.npz is not an \.npz"):
        loads(_replaced(credit_files, "arrays.npz", payload))
    with pytest.raises(PersistError, match=r"state\.json is not valid JSON"):
        loads(_replaced(credit_files, "state.json", payload))
    with pytest.raises(PersistError, match=r"manifest\.json is not valid JSON"):
        loads(dict(credit_files, **{"manifest.json": payload}))
    buffer = io.BytesIO()  # a real .npz whose member is a pickled object array
    np.savez(buffer, a0=np.array([_Payload(marker)], dtype=object))
    with pytest.raises(PersistError, match=r"arrays\.npz: member 'a0' is refused .*allow_pickle=False"):
        loads(_replaced(credit_files, "arrays.npz", buffer.getvalue()))
    assert not marker.exists()


def _npz_member(header: dict, payload: bytes) -> bytes:
    """An .npz with one member ``a0.npy``: an .npy header as given, then ``payload``, deflated."""
    import zipfile

    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a0.npy", member.getvalue() + payload)
    return buffer.getvalue()


def test_an_array_header_claiming_more_than_its_member_holds_is_refused_before_any_allocation(credit_files):
    lying = _npz_member({"descr": "<f8", "fortran_order": False, "shape": (10**12,)}, bytes(80))
    with pytest.raises(PersistError, match=r"^arrays\.npz: member 'a0\.npy' claims a \(1000000000000,\) array of "
                                           r"float64 \(8,000,000,000,000 bytes\) but holds 80 bytes$"):
        loads(_replaced(credit_files, "arrays.npz", lying))


def test_arrays_declaring_more_than_the_machines_memory_are_refused_before_decompressing(credit_files, monkeypatch):
    """A zip bomb: 8 MB of zeros deflate to ~8 kB. With the bound set to 1 MB (standing in for
    the machine's memory), the declared sizes are refused before anything is decompressed."""
    from seismo.persist import bundle

    bomb = _npz_member({"descr": "<f8", "fortran_order": False, "shape": (10**6,)}, bytes(8 * 10**6))
    assert len(bomb) < 20_000
    monkeypatch.setattr(bundle, "_memory_bytes", lambda: 10**6)
    with pytest.raises(PersistError, match=r"^arrays\.npz declares 8,000,\d+ bytes of arrays, more than this "
                                           r"machine's memory \(1,000,000 bytes\): the file is damaged or hostile$"):
        loads(_replaced(credit_files, "arrays.npz", bomb))
    monkeypatch.undo()  # within the real bound the same archive reads: the check refuses sizes, not content
    assert bundle._read_npz(bomb)["a0"].shape == (10**6,) and not bundle._read_npz(bomb)["a0"].any()


def test_a_changed_byte_fails_the_checksum(credit_files):
    for name in ("state.json", "arrays.npz"):
        data = bytearray(credit_files[name])
        data[len(data) // 2] ^= 1
        with pytest.raises(PersistError, match=rf"{name} does not match its SHA-256"):
            loads(dict(credit_files, **{name: bytes(data)}))


def test_an_incompatible_format_version_says_who_saved_it(credit_files, tmp_path):
    manifest = json.loads(credit_files["manifest.json"])
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest["saved_by"]["seismo"] = "9.0.0"
    save(loads(credit_files), tmp_path / "m")
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PersistError, match=rf"saved in seismo\.persist format version {FORMAT_VERSION + 1} by seismo "
                       rf"9\.0\.0; this seismo \({seismo.__version__}\) reads format version 1, 2, {FORMAT_VERSION}\."):
        seismo.Monitor.load(tmp_path / "m")


def test_missing_and_malformed_files_are_named(credit_files, tmp_path):
    with pytest.raises(PersistError, match=r"arrays\.npz is missing \(the manifest lists it\)"):
        loads({k: v for k, v in credit_files.items() if k != "arrays.npz"})
    with pytest.raises(PersistError, match=r"manifest\.json is missing"):
        loads({k: v for k, v in credit_files.items() if k != "manifest.json"})
    with pytest.raises(PersistError, match=r"manifest\.json cannot be read"):
        seismo.Monitor.load(tmp_path / "nowhere")
    state = json.loads(credit_files["state.json"])
    state["root"]["attrs"]["calculators_"] = {"$ref": 999}
    with pytest.raises(PersistError, match=r"at calculators_: refers to object 999, which is not defined before it"):
        loads(_replaced(credit_files, "state.json", json.dumps(state).encode()))
    state["root"]["attrs"]["calculators_"] = {"$exec": "print(1)"}
    with pytest.raises(PersistError, match=r"at calculators_: expected one known '\$' tag, found keys \['\$exec'\]"):
        loads(_replaced(credit_files, "state.json", json.dumps(state).encode()))
    manifest = json.loads(credit_files["manifest.json"])
    manifest["files"]["../../etc/passwd"] = {"sha256": "0"}
    with pytest.raises(PersistError, match=r"'\.\./\.\./etc/passwd' is not an acceptable file name"):
        loads(dict(credit_files, **{"manifest.json": json.dumps(manifest).encode()}))
    with pytest.raises(PersistError, match="the saved object is a Moments, not a Monitor"):
        loads(dumps(Moments()), expect=seismo.Monitor)


def test_saving_over_an_older_save_removes_its_stale_files(regression, credit_monitor, tmp_path):
    save(regression[0], tmp_path / "m")
    assert list((tmp_path / "m" / "lightgbm").glob("*.txt"))
    small = copy.copy(credit_monitor)
    small.calculators_ = {"data_quality": credit_monitor.calculators_["data_quality"]}
    save(small, tmp_path / "m")
    assert not list((tmp_path / "m" / "lightgbm").glob("*.txt"))
    assert load(tmp_path / "m").calculators_.keys() == {"data_quality"}
