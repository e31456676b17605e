"""Results frames shaped like `Report.to_df()`, with every dtype the store must keep."""

from __future__ import annotations

import numpy as np
import pandas as pd

DRIFT_METRICS = ("jensen_shannon", "kolmogorov_smirnov", "chi2")
PERFORMANCE_METRICS = ("roc_auc", "f1")


def _value(rng: np.random.Generator) -> float:
    """A float using all 53 bits, over many orders of magnitude, so rounding anywhere shows."""
    return float(rng.random() * 10.0 ** rng.integers(-9, 9))


def make_results(n_chunks: int = 3, columns: tuple[str, ...] = ("a", "b"), seed: int = 0,
                 start: str = "2024-01-01", first_chunk: int = 0, tz: str | None = None) -> pd.DataFrame:
    """Reference and analysis chunks of three calculators.

    Analysis chunks are numbered from `first_chunk`, so two calls with overlapping ranges
    describe overlapping chunks (same chunk_key), as re-running on grown data does.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for period, chunks in (("reference", range(n_chunks)), ("analysis", range(first_chunk, first_chunk + n_chunks))):
        base = pd.Timestamp(start, tz=tz) + (pd.Timedelta(days=400) if period == "analysis" else pd.Timedelta(0))
        for i in chunks:
            chunk = {
                "chunk_index": i, "chunk_key": f"[{i * 100}:{i * 100 + 99}]",
                "chunk_start_index": i * 100, "chunk_end_index": i * 100 + 99,
                "chunk_start_date": base + pd.Timedelta(days=7 * i),
                "chunk_end_date": base + pd.Timedelta(days=7 * i + 6, hours=23, microseconds=123_456),
                "period": period,
            }
            for column in columns:
                for metric in DRIFT_METRICS:
                    rows.append({"calculator": "univariate_drift", **chunk, "column": column, "metric": metric,
                                 "p_value": _value(rng) / 1e9 if metric == "chi2" else np.nan})
            for metric in PERFORMANCE_METRICS:
                rows.append({"calculator": "estimated_performance", **chunk, "column": None, "metric": metric,
                             "realized": _value(rng) if period == "analysis" else np.nan,
                             "trust": bool(rng.random() < 0.5), "trust_reason": "ok" if i % 2 else None,
                             "effective_sample_size": int(rng.integers(1, 10**12))})
            rows.append({"calculator": "data_quality", **chunk, "column": None, "metric": "row_count"})
    df = pd.DataFrame(rows)
    n = len(df)
    df["value"] = [_value(rng) for _ in range(n)]
    df["sampling_error"] = np.where(rng.random(n) < 0.3, np.nan, [_value(rng) for _ in range(n)])
    df["lower_confidence"] = df["value"] - df["sampling_error"] * 3
    df["upper_confidence"] = df["value"] + df["sampling_error"] * 3
    df["lower_threshold"] = np.where(rng.random(n) < 0.5, np.nan, [_value(rng) for _ in range(n)])
    df["upper_threshold"] = np.where(rng.random(n) < 0.2, np.inf, [_value(rng) for _ in range(n)])
    df["alert"] = rng.random(n) < 0.3
    df["column"] = df["column"].astype(object).where(df["column"].notna(), None)
    df["trust"] = df["trust"].astype(object).where(df["trust"].notna(), None)
    df["trust_reason"] = df["trust_reason"].astype(object).where(df["trust_reason"].notna(), None)
    df["effective_sample_size"] = df["effective_sample_size"].astype("Int64")
    order = ["calculator", "chunk_index", "chunk_key", "chunk_start_index", "chunk_end_index", "chunk_start_date",
             "chunk_end_date", "period", "column", "metric", "value", "sampling_error", "lower_confidence",
             "upper_confidence", "lower_threshold", "upper_threshold", "alert", "realized", "p_value", "trust",
             "trust_reason", "effective_sample_size"]
    return df[order]


def in_store_order(df: pd.DataFrame) -> pd.DataFrame:
    """`df` sorted as `ResultsStore.results` returns rows: calculator, reference first, chunk_index."""
    key = df["period"].map({"reference": 0, "analysis": 1})
    return (df.assign(_p=key).sort_values(["calculator", "_p", "chunk_index"], kind="stable")
            .drop(columns="_p").reset_index(drop=True))
