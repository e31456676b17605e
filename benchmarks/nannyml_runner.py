"""NannyML 0.13.1 on the frames seismo's harness uses, in its own environment, one subprocess per run.

``run_nannyml(kind, reference, analysis, **roles)`` writes the two frames to parquet in a
temporary directory, runs this file with the interpreter of ``benchmarks/.venv-nannyml``
(created by ``vs_nannyml.nannyml_python()``; NannyML needs pandas < 3), and reads back one tidy
row per chunk and metric, with the columns of seismo's ``Result.to_df()`` that the harness
compares: ``period``, ``chunk_index``, ``metric``, ``value``, ``sampling_error``,
``lower_confidence``, ``upper_confidence``, ``lower_threshold``, ``upper_threshold``,
``alert``, ``realized``.

``kind``: ``"dle"`` (``nml.DLE``), ``"cbpe"`` (``nml.CBPE``) or ``"realized"``
(``nml.PerformanceCalculator``), all with NannyML's defaults (DLE: ``LGBMRegressor()``
with LightGBM's defaults, no tuning) and the same ``chunk_size``. The subprocess runs with
``OMP_NUM_THREADS=1`` (LightGBM's estimates do not depend on it; its spin-waiting threads
made runs many times slower on a shared 2-core machine).

This file is imported by the harness (seismo's interpreter) and executed as a script by the
NannyML interpreter; the script part imports nothing from seismo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("dle", "cbpe", "realized")
FIELDS = {"value": "value", "sampling_error": "sampling_error", "realized": "realized",
          "lower_confidence_boundary": "lower_confidence", "upper_confidence_boundary": "upper_confidence",
          "lower_threshold": "lower_threshold", "upper_threshold": "upper_threshold", "alert": "alert"}
NANNYML_PROBLEM = {"binary": "classification_binary", "multiclass": "classification_multiclass",
                   "regression": "regression"}


def run_nannyml(kind: str, reference, analysis, *, problem_type: str, y_true: str, y_pred: str,
                metrics: list[str], chunk_size: int, y_pred_proba: str | dict | None = None,
                features: list[str] | None = None, timeout: float = 1_800):
    """Run NannyML's ``kind`` on the frames; the tidy per-chunk frame (see the module docstring)."""
    import pandas as pd

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    sys.path.insert(0, str(HERE))
    from vs_nannyml import nannyml_python

    columns = list(dict.fromkeys([*(features or []), y_pred, y_true,
                                  *((y_pred_proba.values() if isinstance(y_pred_proba, dict) else [y_pred_proba])
                                    if y_pred_proba else [])]))
    config = {"kind": kind, "problem_type": NANNYML_PROBLEM[problem_type], "y_true": y_true, "y_pred": y_pred,
              "y_pred_proba": y_pred_proba, "features": list(features or []), "metrics": list(metrics),
              "chunk_size": int(chunk_size)}
    with tempfile.TemporaryDirectory(prefix="seismo-nml-") as tmp:
        folder = Path(tmp)
        reference[columns].to_parquet(folder / "reference.parquet", index=False)
        analysis_columns = [c for c in columns if c in analysis.columns]
        analysis[analysis_columns].to_parquet(folder / "analysis.parquet", index=False)
        (folder / "config.json").write_text(json.dumps(config))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
        done = subprocess.run([str(nannyml_python()), str(Path(__file__).resolve()), str(folder)], env=env,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"NannyML {kind} failed:\n{done.stderr[-3000:]}")
        return pd.read_parquet(folder / "result.parquet")


def _work(folder: Path) -> None:
    """In the NannyML environment: fit on the reference, run on the analysis, write result.parquet."""
    import warnings

    import nannyml as nml
    import numpy as np
    import pandas as pd

    warnings.filterwarnings("ignore")
    config = json.loads((folder / "config.json").read_text())
    reference = pd.read_parquet(folder / "reference.parquet")
    analysis = pd.read_parquet(folder / "analysis.parquet")
    common = {"y_true": config["y_true"], "y_pred": config["y_pred"], "metrics": config["metrics"],
              "chunk_size": config["chunk_size"], "problem_type": config["problem_type"]}
    if config["kind"] == "dle":
        common.pop("problem_type")
        calc = nml.DLE(feature_column_names=config["features"], **common)
    elif config["kind"] == "cbpe":
        calc = nml.CBPE(y_pred_proba=config["y_pred_proba"], **common)
    else:
        if config["y_pred_proba"]:
            common["y_pred_proba"] = config["y_pred_proba"]
        calc = nml.PerformanceCalculator(**common)
    calc.fit(reference)
    run = calc.calculate if config["kind"] == "realized" else calc.estimate
    df = run(analysis).to_df()  # NannyML's result holds the reference chunks too (period "reference")
    rows = []
    if True:
        for metric in config["metrics"]:
            if metric not in df.columns.get_level_values(0):
                continue
            out = pd.DataFrame({"period": df[("chunk", "period")].to_numpy(),
                                "chunk_index": df[("chunk", "chunk_index")].to_numpy(), "metric": metric})
            for source, target in FIELDS.items():
                if (metric, source) in df.columns:
                    out[target] = df[(metric, source)].to_numpy()
                else:
                    out[target] = np.nan
            if config["kind"] == "realized":  # the calculator's value *is* the realized metric
                out["realized"] = out["value"]
            rows.append(out)
    result = pd.concat(rows, ignore_index=True)
    result["alert"] = result["alert"].astype(bool)
    result.to_parquet(folder / "result.parquet", index=False)


if __name__ == "__main__":
    _work(Path(sys.argv[1]))
