"""Why realized performance changed: covariate shift, concept shift, and what is left.

When labels exist, each analysis chunk's change in realized performance from the reference is
split into three parts, per metric:

* **covariate**: the change of the label-free estimate (CBPE, PAPE or DLE) from its own
  reference level. The estimate holds the reference's concept and reads the chunk's inputs, so
  it moves with covariate shift alone;
* **concept**: `ConceptShift`'s impact. It holds the reference's inputs and reads the chunk's
  concept, so it moves with concept shift alone;
* **remainder**: the realized change minus both: the interaction of the two shifts (a concept
  that changed where the inputs moved to) plus the sampling noise of all three numbers.

Every part has a sampling error: the covariate part the estimate's, the concept part
ConceptShift's, the realized change the realized metric's (the estimator reports the same one),
and the remainder the three combined as if independent, which is conservative: the parts share
the chunk's rows. A part is "clear" when it lies beyond 2 of its sampling errors from 0.

The reference level of the realized metric and of the estimate is the mean of their reference
chunks' values (the estimate's are out of fold), so an estimator's small calibration offset does
not land in the covariate part.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from seismo.engine.result import Result
from seismo.metrics.registry import METRICS, ranking_preference
from seismo.monitor.calculators import CONCEPT_SHIFT, ESTIMATED_PERFORMANCE

COLUMNS = ["chunk_index", "chunk_key", "chunk_start_date", "metric", "realized_change", "realized_se", "covariate",
           "covariate_se", "concept", "concept_se", "remainder", "remainder_se", "main_cause"]
CLEAR = 2.0  # a part beyond this many sampling errors from 0 is a finding, not noise
PARTS = ("covariate", "concept", "remainder")
SPREAD = 3.0  # bands and "±": this many sampling errors, as every confidence band of seismo


def _overall(result: Result) -> pd.DataFrame:
    df = result.to_df()
    return df[df["segment"].isna()] if "segment" in df.columns else df


def _reference_level(df: pd.DataFrame, column: str) -> pd.Series:
    """Per metric, the mean of the reference chunks' ``column``."""
    ref = df[df["period"] == "reference"]
    return ref.groupby("metric")[column].mean()


def main_cause(row: Mapping[str, float]) -> str:
    """The part that explains most of the realized change among those clear of noise; "none" when no
    part is; two or three parts joined by "+" (e.g. "concept+remainder") when each of them is clear and
    explains at least a third of the absolute parts' total."""
    clear = {part: abs(float(row[part])) for part in PARTS
             if np.isfinite(row[part]) and np.isfinite(row[f"{part}_se"])
             and abs(float(row[part])) > CLEAR * float(row[f"{part}_se"])}
    if not clear:
        return "none"
    total = sum(abs(float(row[p])) for p in PARTS if np.isfinite(row[p])) or 1.0
    big = [part for part in PARTS if part in clear and clear[part] >= total / 3]
    if len(big) > 1:
        return "+".join(big)
    return max(clear, key=lambda part: clear[part])


def decompose(results: Mapping[str, Result]) -> pd.DataFrame:
    """The decomposition of every labelled analysis chunk × metric (`COLUMNS`); empty without both an
    estimate and a `ConceptShift` result. ``realized_change`` is the chunk's realized value minus the
    reference's; the three parts add up to it exactly."""
    estimated, concept = results.get(ESTIMATED_PERFORMANCE.name), results.get(CONCEPT_SHIFT.name)
    if estimated is None or concept is None:
        return pd.DataFrame(columns=COLUMNS)
    est, con = _overall(estimated), _overall(concept)
    est_level, real_level = _reference_level(est, "value"), _reference_level(con, "realized")
    keys = ["chunk_index", "metric"]
    a_est = est[est["period"] == "analysis"][[*keys, "value", "sampling_error"]]
    a_con = con[(con["period"] == "analysis") & con["realized"].notna()][
        [*keys, "chunk_key", "chunk_start_date", "value", "sampling_error", "realized"]]
    both = a_con.merge(a_est, on=keys, suffixes=("_concept", "_estimate"))
    if both.empty:
        return pd.DataFrame(columns=COLUMNS)
    both = both[both["metric"].isin(est_level.index) & both["metric"].isin(real_level.index)]
    out = pd.DataFrame({
        "chunk_index": both["chunk_index"].to_numpy(),
        "chunk_key": both["chunk_key"].to_numpy(),
        "chunk_start_date": both["chunk_start_date"].to_numpy(),
        "metric": both["metric"].to_numpy(),
        "realized_change": (both["realized"] - both["metric"].map(real_level)).to_numpy(dtype=float),
        "realized_se": both["sampling_error_estimate"].to_numpy(dtype=float),
        "covariate": (both["value_estimate"] - both["metric"].map(est_level)).to_numpy(dtype=float),
        "covariate_se": both["sampling_error_estimate"].to_numpy(dtype=float),
        "concept": both["value_concept"].to_numpy(dtype=float),
        "concept_se": both["sampling_error_concept"].to_numpy(dtype=float),
    })
    out["remainder"] = out["realized_change"] - out["covariate"] - out["concept"]
    out["remainder_se"] = np.sqrt(out["realized_se"] ** 2 + out["covariate_se"] ** 2 + out["concept_se"] ** 2)
    out["main_cause"] = [main_cause(row) for row in out.to_dict("records")]
    return out[COLUMNS].sort_values(keys, kind="stable").reset_index(drop=True)


def headline_metric(table: pd.DataFrame) -> str | None:
    """The metric a summary quotes: the ranking's preferred one present in ``table``."""
    present = set(table["metric"])
    return next((m for m in ranking_preference() if m in present), None)


NAMES = {"covariate": "covariate shift", "concept": "concept shift",
         "remainder": "the remainder (the shifts' interaction, or noise)"}


def cause_text(cause: str) -> str:
    """`main_cause` in words."""
    if cause == "none":
        return "no part clear of noise"
    parts = cause.split("+")
    return f"mostly {NAMES[parts[0]]}" if len(parts) == 1 else " and ".join(NAMES[p] for p in parts) + " together"


def signed(value: float, se: float) -> str:
    """``value ± 3 SE``, both to the decimals that give the spread two significant digits, so a column of
    them lines up and shows no digit the noise makes meaningless; the sign is always shown (but for 0).
    Without a sampling error: the value to 3 significant digits."""
    spread = SPREAD * se
    if not (np.isfinite(spread) and spread > 0) or not np.isfinite(value):
        return f"{value:+.3g}"
    decimals = max(0, 1 - int(np.floor(np.log10(spread))))
    text = f"{value:+.{decimals}f}"
    return f"{text if float(text) else f'{0:.{decimals}f}'} ± {spread:.{decimals}f}"


def summary_lines(results: Mapping[str, Result], drops: list[int] | None = None, limit: int = 5) -> list[str]:
    """The "why" part of `Report.summary`: the headline metric's decomposition in the chunks whose realized
    performance dropped beyond its threshold (``drops``: their indices; None: every chunk whose realized change
    is clear of noise on the worse side), the latest ``limit`` of them."""
    table = decompose(results)
    metric = headline_metric(table) if len(table) else None
    if metric is None:
        return []
    rows = table[table["metric"] == metric]
    worse = -1.0 if METRICS[metric].higher_is_better else 1.0
    if drops is None:
        rows = rows[worse * rows["realized_change"] > CLEAR * rows["realized_se"]]
    else:
        rows = rows[rows["chunk_index"].isin(drops)]
    if rows.empty:
        return []
    lines = [f"Why realized {metric} changed (change from the reference = covariate + concept + remainder, "
             "each ± 3 SE):"]
    for _, row in rows.tail(limit).iterrows():
        label = (pd.Timestamp(row["chunk_start_date"]).strftime("%Y-%m-%d") if pd.notna(row["chunk_start_date"])
                 else str(row["chunk_key"]))
        lines.append(f"- {label}: {signed(row['realized_change'], row['realized_se'])} = covariate "
                     f"{signed(row['covariate'], row['covariate_se'])} + concept "
                     f"{signed(row['concept'], row['concept_se'])} + remainder "
                     f"{signed(row['remainder'], row['remainder_se'])}: {cause_text(row['main_cause'])}")
    if len(rows) > limit:
        lines.append(f"  ({len(rows) - limit} earlier chunk(s) in Report.decomposition())")
    return lines
