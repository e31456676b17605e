"""`Result`: the tidy table every calculator returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pandas as pd

from seismo.errors import InvalidConfiguration

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from seismo.chunks.accumulator import StreamState

RESULT_COLUMNS: list[str] = [
    "chunk_index",
    "chunk_key",
    "chunk_start_index",
    "chunk_end_index",
    "chunk_start_date",
    "chunk_end_date",
    "period",
    "column",
    "segment",  # None: the overall rows; else the segment's label, e.g. "region=north" (docs/segments.md)
    "metric",
    "value",
    "sampling_error",
    "lower_confidence",
    "upper_confidence",
    "lower_threshold",
    "upper_threshold",
    "alert",
]
PERIODS = ("reference", "analysis")


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _segment_mask(d: pd.DataFrame, segments: str | Iterable[str] | None, overall_only: bool) -> pd.Series:
    """The rows `Result.filter` keeps for ``segments`` / ``overall_only``."""
    labels = None if segments is None or segments == "*" else _as_list(segments)
    segment = d["segment"] if "segment" in d.columns else pd.Series(None, index=d.index, dtype=object)
    if overall_only and labels is not None:
        raise InvalidConfiguration(f"pass segments ({labels}) or overall_only=True, not both: overall_only keeps "
                                   "only the rows of no segment")
    if overall_only:
        return segment.isna()
    if labels is None:
        return pd.Series(True, index=d.index)
    known = sorted(set(segment.dropna()))
    unknown = sorted(set(labels) - set(known))
    if unknown:
        raise InvalidConfiguration(f"segments {unknown} are not in this result; it has {known or 'no segments'}")
    return segment.isin(labels)


class Result:
    """Per chunk × column × metric values, thresholds and alerts.

    A result holds aggregated statistics only, never raw rows, so it is safe to
    store, send and plot.
    """

    def __init__(self, data: pd.DataFrame, calculator: str):
        self._data = data
        self.calculator = calculator
        self.state: StreamState | None = None  # incremental runs: where the next run continues (a `seismo.StreamState`)
        self.rows_skipped = 0  # incremental runs: rows of the input already processed before

    def to_df(self) -> pd.DataFrame:
        """The tidy frame: one row per chunk × column × metric (see docs/api.md)."""
        return self._data.copy()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        d = self._data
        n_alerts = int(d["alert"].sum()) if len(d) else 0
        return (
            f"<Result {self.calculator}: {d['chunk_key'].nunique()} chunk keys, "
            f"{d['metric'].nunique()} metrics, {n_alerts} alerts>"
        )

    def filter(
        self,
        period: str | None = None,
        columns: str | Iterable[str] | None = None,
        metrics: str | Iterable[str] | None = None,
        *,
        segments: str | Iterable[str] | None = "*",
        overall_only: bool = False,
    ) -> "Result":
        """Keep one period ("reference", "analysis"; None or "all" keeps both), columns, metrics.

        Segments, as `ResultsStore.results` reads them: ``segments="*"`` (or None, the default)
        keeps every row; a label or a list of labels (``"region=east"``) keeps those segments'
        rows only, matched exactly; ``overall_only=True`` keeps the overall rows (``segment``
        None: every row of an unsegmented result). Passing both is an `InvalidConfiguration`.
        """
        d = self._data
        mask = pd.Series(True, index=d.index)
        if period not in (None, "all"):
            if period not in PERIODS:
                raise InvalidConfiguration(f"period is {period!r}; use 'reference', 'analysis' or 'all'")
            mask &= d["period"] == period
        cols = _as_list(columns)
        if cols is not None:
            unknown = sorted(set(cols) - set(d["column"].dropna()))
            if unknown:
                raise InvalidConfiguration(
                    f"columns {unknown} are not in this result; it has {sorted(d['column'].dropna().unique())}"
                )
            mask &= d["column"].isin(cols)
        mets = _as_list(metrics)
        if mets is not None:
            unknown = sorted(set(mets) - set(d["metric"]))
            if unknown:
                raise InvalidConfiguration(
                    f"metrics {unknown} are not in this result; it has {sorted(d['metric'].unique())}"
                )
            mask &= d["metric"].isin(mets)
        mask &= _segment_mask(d, segments, overall_only)
        return Result(d[mask].reset_index(drop=True), self.calculator)

    def alerts(self) -> pd.DataFrame:
        """Only the analysis rows that raised an alert."""
        d = self._data
        return d[(d["period"] == "analysis") & d["alert"]].reset_index(drop=True)

    def plot(self, *, title: str | None = None, max_panels: int = 24, segment: str | None = None) -> "go.Figure":
        """A step plot per column × metric with thresholds, band and alerts, of the overall rows
        (``segment`` None) or of one segment's (``segment="region=east"``); `plot_segments` draws
        every segment side by side."""
        from seismo.monitor.plotting import plot_result, plotly_text

        if segment is None:
            return plot_result(self.filter(overall_only=True)._data, title=title or self.calculator,
                               max_panels=max_panels, calculator=self.calculator)
        label = plotly_text(pd.Series([segment])).iloc[0]  # a label is data: shown as text, never as markup
        return plot_result(self.filter(segments=segment)._data, title=title or f"{self.calculator}: {label}",
                           max_panels=max_panels, calculator=self.calculator)
