"""Plotly figures of a calculator Result's tidy frame (``Result.to_df()``).

Every calculator shares one tidy layout, so one function draws them all: a panel per
(column, metric), values as steps because a chunk's metric holds for the whole chunk,
and the reference period greyed out so the eye goes to the analysis period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from seismo.engine.result import Result
from seismo.errors import ColumnNotFound, InvalidConfiguration
from seismo.performance.concept import ConceptShift
from seismo.performance.concept_tracker import COVERAGE, LABELLED, REALIZED

__all__ = ["plot_result", "plot_segments", "plot_empty_message", "plotly_text"]

REFERENCE_COLOR = "#9e9e9e"
ANALYSIS_COLOR = "#1f77b4"
REALIZED_COLOR = "#ff7f0e"
ALERT_COLOR = "#d62728"
UNRELIABLE_COLOR = "#7f7f7f"
#: estimators' ``trust`` levels drawn as an unreliable estimate, and their marker symbols
UNRELIABLE_SYMBOLS = {"low": "diamond-open", "none": "x-thin-open"}
BAND_COLOR = "rgba(31, 119, 180, 0.18)"
PANEL_HEIGHT = 220
TITLE_HEIGHT = 140

_REQUIRED = ("chunk_index", "chunk_key", "period", "metric", "value")
_OPTIONAL = (
    "column", "chunk_start_date", "chunk_end_date", "sampling_error", "lower_confidence",
    "upper_confidence", "lower_threshold", "upper_threshold",
)
_HOVER = (
    "<b>%{customdata[0]}</b><br>value: %{y:.4g}<br>thresholds: [%{customdata[1]}, "
    "%{customdata[2]}]<br>sampling error: %{customdata[3]}"
)


def plotly_text(values: pd.Series) -> pd.Series:
    """Data-given strings (column names, chunk keys, reasons) as plotly shows them: as text.

    Plotly renders titles, annotations and hover labels as a small HTML dialect (``<b>``,
    ``<br>``, ``<a href>``, entities). Unescaped, a column named ``<b>x</b>`` would be drawn bold
    and ``<img ...>`` would vanish from its title; with ``&``, ``<`` and ``>`` written as entities
    (which plotly decodes) every name reads exactly as given, and no markup in data reaches the page.
    """
    return (values.astype(str).str.replace("&", "&amp;", regex=False)
            .str.replace("<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False))


def plot_empty_message(text: str) -> go.Figure:
    """A blank figure carrying ``text``, so callers always get a Figure to show."""
    fig = go.Figure()
    fig.add_annotation(
        text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template="plotly_white", height=300)
    return fig


def _prepare(df: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Add each row's chunk order, x position and step end; tell whether x is a date.

    Chunks are identified by (period, chunk_index) so every panel shares one x grid; a
    step ends where the next chunk starts, and the last one at its end date (or +1).
    """
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ColumnNotFound(missing[0], "result", [str(c) for c in df.columns])
    df = df.assign(**{c: np.nan for c in _OPTIONAL if c not in df.columns})
    alert = df["alert"] if "alert" in df.columns else pd.Series(False, index=df.index)
    df["alert"] = alert.fillna(False).astype(bool)
    df["_rank"] = df["period"].map({"reference": 0, "analysis": 1}).fillna(2).astype(int)

    chunks = (
        df.drop_duplicates(["_rank", "chunk_index"])
        .sort_values(["_rank", "chunk_index"], kind="stable")
        .reset_index(drop=True)
    )
    use_dates = bool(chunks["chunk_start_date"].notna().any())
    if use_dates:
        x = pd.to_datetime(chunks["chunk_start_date"])
        last = pd.to_datetime(chunks["chunk_end_date"]).iloc[-1]
        if pd.isna(last):  # no end date: repeat the previous chunk's width
            last = x.iloc[-1] + (x.iloc[-1] - x.iloc[-2] if len(x) > 1 else pd.Timedelta(0))
    else:
        x = pd.Series(np.arange(len(chunks), dtype=float))
        last = float(len(chunks))
    table = pd.DataFrame(
        {
            "_rank": chunks["_rank"],
            "chunk_index": chunks["chunk_index"],
            "_order": np.arange(len(chunks)),
            "_x": x,
            "_x_end": x.shift(-1),
        }
    )
    table.loc[table.index[-1], "_x_end"] = last
    merged = df.merge(table, on=["_rank", "chunk_index"], how="left")
    return merged.sort_values("_order", kind="stable"), use_dates


def _step(sub: pd.DataFrame, y: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y of a step line, repeating the last value up to its chunk's end."""
    xs = pd.concat([sub["_x"], sub["_x_end"].iloc[-1:]], ignore_index=True).to_numpy()
    ys = np.append(sub[y].to_numpy(dtype=float), float(sub[y].iloc[-1]))
    return xs, ys


def _fmt(values: pd.Series, missing: str) -> pd.Series:
    """Hover text of numbers, ``missing`` where null (e.g. an unbounded threshold)."""
    num = pd.to_numeric(values, errors="coerce").astype(float)
    return num.map("{:.4g}".format).where(num.notna(), missing)


def _customdata(sub: pd.DataFrame) -> np.ndarray:
    """Per-point hover fields, with the trailing step point repeating the last chunk."""
    data = np.column_stack(
        [
            plotly_text(sub["chunk_key"]).to_numpy(dtype=object),
            _fmt(sub["lower_threshold"], "-inf").to_numpy(dtype=object),
            _fmt(sub["upper_threshold"], "+inf").to_numpy(dtype=object),
            _fmt(sub["sampling_error"], "n/a").to_numpy(dtype=object),
        ]
    )
    return np.vstack([data, data[-1:]])


def _unreliable_traces(sub: pd.DataFrame, what: str = "estimate") -> list[go.Scatter]:
    """Grey open markers over estimates whose ``trust`` is low or none, the reason on hover; ``what``
    names the value ("estimate", or "concept impact", whose trust is its concept model's)."""
    if "trust" not in sub.columns:
        return []
    weak = sub[sub["trust"].isin(list(UNRELIABLE_SYMBOLS))]
    if weak.empty:
        return []
    reasons = weak["trust_reason"] if "trust_reason" in weak.columns else pd.Series("", index=weak.index)
    data = np.column_stack([
        plotly_text(weak["chunk_key"]).to_numpy(dtype=object),
        plotly_text(weak["trust"]).to_numpy(dtype=object),
        # one reason a line: split before escaping, which writes "; " of its own ("&amp; ")
        plotly_text(reasons.fillna("").astype(str).str.replace("; ", "\n", regex=False))
        .str.replace("\n", "<br>", regex=False).to_numpy(dtype=object),
    ])
    return [go.Scatter(
        x=weak["_x"].to_numpy(), y=weak["value"].to_numpy(dtype=float), mode="markers",
        name=f"{what} unreliable",
        marker={"color": UNRELIABLE_COLOR, "size": 12, "line": {"width": 2, "color": UNRELIABLE_COLOR},
                "symbol": weak["trust"].map(UNRELIABLE_SYMBOLS).tolist()},
        customdata=data,
        hovertemplate=f"<b>%{{customdata[0]}}</b><br>{what}: %{{y:.4g}}<br>{what} unreliable here "
                      "(trust: %{customdata[1]})<br>%{customdata[2]}<extra></extra>",
    )]


def _role(data: pd.DataFrame, calculator: str | None) -> str:
    """What the frame's values are: "estimated" (an estimate, its realized values drawn over it),
    "concept" (`ConceptShift`'s impact) or "analysis" (measured).

    Both an estimate's frame and ConceptShift's carry a ``realized`` column, but ConceptShift's holds
    the metric's realized level beside an impact, a change from the reference: drawn in the same
    panel it would be a second scale that flattens the impact, so a concept frame never draws it.
    ``calculator`` (`Result.calculator`, live or rebuilt from a store) says whose frame it is; a bare
    frame (None) is ConceptShift's when it has the labelled-row columns only ConceptShift reports.
    """
    if calculator == ConceptShift.__name__ or (calculator is None and {REALIZED, LABELLED, COVERAGE} <= set(data.columns)):
        return "concept"
    return "estimated" if REALIZED in data.columns and bool(data[REALIZED].notna().any()) else "analysis"


ROLE_NAMES = {"estimated": "estimated", "concept": "concept impact", "analysis": "analysis"}


def _panel_traces(sub: pd.DataFrame, role: str) -> list[go.Scatter]:
    """All traces of one panel, bottom layer first (band, thresholds, values, unreliable estimates, alerts);
    ``role``: what the values are (`_role`)."""
    estimated = role == "estimated"
    traces: list[go.Scatter] = []
    line = {"shape": "hv"}
    band = sub[sub["lower_confidence"].notna() & sub["upper_confidence"].notna()]
    if not band.empty:
        for bound, fill in (("lower_confidence", None), ("upper_confidence", "tonexty")):
            xs, ys = _step(band, bound)
            traces.append(go.Scatter(
                x=xs, y=ys, mode="lines", line={**line, "width": 0}, fill=fill,
                fillcolor=BAND_COLOR, name="confidence band", hoverinfo="skip",
                showlegend=fill is not None,
            ))
    for bound in ("lower_threshold", "upper_threshold"):
        if sub[bound].notna().any():
            xs, ys = _step(sub, bound)
            traces.append(go.Scatter(
                x=xs, y=ys, mode="lines", name=bound.replace("_", " "),
                line={**line, "color": ALERT_COLOR, "dash": "dash", "width": 1.5},
            ))
    for rank, name, color in (
        (0, "reference", REFERENCE_COLOR),
        (1, ROLE_NAMES[role], ANALYSIS_COLOR),
    ):
        part = sub[sub["_rank"] == rank]
        if not part.empty:
            xs, ys = _step(part, "value")
            traces.append(go.Scatter(
                x=xs, y=ys, mode="lines", name=name, line={**line, "color": color, "width": 2},
                customdata=_customdata(part), hovertemplate=_HOVER,
            ))
    if estimated and sub["realized"].notna().any():
        real = sub[sub["realized"].notna()]
        xs, ys = _step(real, "realized")
        traces.append(go.Scatter(
            x=xs, y=ys, mode="lines", name="realized",
            line={**line, "color": REALIZED_COLOR, "dash": "dot", "width": 2},
            customdata=_customdata(real)[:, :1],
            hovertemplate="<b>%{customdata[0]}</b><br>realized: %{y:.4g}",
        ))
    traces.extend(_unreliable_traces(sub, "concept impact" if role == "concept" else "estimate"))
    alerts = sub[sub["alert"]]
    if not alerts.empty:
        traces.append(go.Scatter(
            x=alerts["_x"].to_numpy(), y=alerts["value"].to_numpy(dtype=float),
            mode="markers", name="alert",
            marker={"color": ALERT_COLOR, "size": 9, "symbol": "circle"},
            customdata=_customdata(alerts)[:-1], hovertemplate=_HOVER,
        ))
    return traces


def plot_result(
    df: pd.DataFrame, *, title: str | None = None, max_panels: int = 24, calculator: str | None = None
) -> go.Figure:
    """Draw a Result's tidy frame: one stacked panel per (column, metric), shared x; ``calculator``:
    the class that computed it (`Result.calculator`), which says what its values are (`_role`).

    Past ``max_panels`` pairs, alerting pairs are kept first (then the rest in frame
    order) so the figure never hides an alert for a quiet feature; kept panels are drawn
    in frame order and the title says how many were left out.
    """
    if not isinstance(max_panels, int) or max_panels < 1:
        raise InvalidConfiguration(f"max_panels must be a positive integer, got {max_panels!r}")
    if df.empty:
        fig = plot_empty_message("Nothing to plot: the result has no rows.")
        return fig.update_layout(title=title) if title else fig

    data, use_dates = _prepare(df)
    metric = plotly_text(data["metric"])
    labels = metric.where(data["column"].isna(), plotly_text(data["column"]) + " · " + metric)
    codes, names = pd.factorize(labels)
    data["_pair"] = codes
    alerting = data.groupby("_pair")["alert"].any().reindex(range(len(names)))
    priority = pd.DataFrame({"alert": alerting.to_numpy(), "pos": np.arange(len(names))})
    kept = sorted(
        priority.sort_values("alert", ascending=False, kind="stable")["pos"].head(max_panels)
    )
    left_out = len(names) - len(kept)

    n = len(kept)
    fig = make_subplots(
        rows=n, cols=1, shared_xaxes=True, subplot_titles=[str(names[p]) for p in kept],
        vertical_spacing=min(0.08, 0.4 / n),
    )
    role = _role(data, calculator)
    shown: set[str] = set()
    for row, (_, sub) in enumerate(data[data["_pair"].isin(kept)].groupby("_pair"), start=1):
        for trace in _panel_traces(sub, role):
            # One legend entry per name across panels; the band's lower edge never has one.
            first = trace.showlegend is not False and trace.name not in shown
            shown.update([trace.name] if first else [])
            fig.add_trace(trace.update(legendgroup=trace.name, showlegend=first), row=row, col=1)

    boundary = data.loc[data["_rank"] == 1, "_x"]
    if (data["_rank"] == 0).any() and not boundary.empty:
        fig.add_vline(x=boundary.min(), line_dash="dash", line_color="black", opacity=0.5,
                      line_width=1, row="all", col=1)

    text = title or ""
    if left_out:
        note = f"{left_out} of {len(names)} panels left out (alerting ones kept first)"
        text = f"{text} — {note}" if text else note
    fig.update_xaxes(title_text="chunk start date" if use_dates else "chunk", row=n, col=1)
    fig.update_layout(
        title=text or None, template="plotly_white", height=TITLE_HEIGHT + PANEL_HEIGHT * n,
        hovermode="closest",
    )
    return fig


SEGMENT_COLUMNS = 3  # small multiples per row
MERGED_LABELS = ("=(other)", "=(missing)")  # drawn after the real segments


def plot_segments(
    result: Result | pd.DataFrame, metric: str, column: str | None = None, *, title: str | None = None,
    columns: int = SEGMENT_COLUMNS,
) -> go.Figure:
    """Small multiples of one metric: the overall rows first, then one panel per segment.

    Every panel shares one y axis and one chunk grid, so a segment's level reads against the
    overall one at a glance; each draws its own thresholds, band and alerts as `plot_result`
    does (a segment's thresholds are its own, or borrowed: docs/segments.md). ``column``: the
    column of a per-column result (drift, data quality); model-level metrics have none.
    """
    df = result.to_df() if isinstance(result, Result) else result
    calculator = result.calculator if isinstance(result, Result) else None
    if not isinstance(columns, int) or columns < 1:
        raise InvalidConfiguration(f"columns must be a positive integer, got {columns!r}")
    if "segment" not in df.columns or not df["segment"].notna().any():
        raise InvalidConfiguration("the result has no segment rows: give the calculator segments= to plot them")
    if metric not in set(df["metric"]):
        raise InvalidConfiguration(f"metric {metric!r} is not in this result; it has {sorted(df['metric'].unique())}")
    rows = df[df["metric"] == metric]
    if column is None:
        if rows["column"].isna().sum() == 0:
            raise InvalidConfiguration(f"{metric!r} is reported per column: pass column= (one of "
                                       f"{sorted(rows['column'].dropna().unique())})")
        rows = rows[rows["column"].isna()]
    else:
        if column not in set(rows["column"].dropna()):
            raise InvalidConfiguration(f"column {column!r} has no {metric!r} rows; columns: "
                                       f"{sorted(rows['column'].dropna().unique())}")
        rows = rows[rows["column"] == column]
    data, use_dates = _prepare(rows)
    labels = sorted({str(s) for s in data["segment"].dropna()},
                    key=lambda label: (any(m in label for m in MERGED_LABELS), label))
    panels: list[str | None] = [None, *labels]
    n_cols = min(columns, len(panels))
    n_rows = -(-len(panels) // n_cols)
    subsets = [data[data["segment"].isna()] if label is None else data[data["segment"] == label] for label in panels]
    names = ["overall" if label is None else label for label in panels]
    counts = [int(sub.loc[sub["_rank"] == 1, "alert"].sum()) for sub in subsets]
    titles = [f"{plotly_text(pd.Series([name])).iloc[0]}" + (f" · {n} alert{'s' if n > 1 else ''}" if n else "")
              for name, n in zip(names, counts)]
    fig = make_subplots(rows=n_rows, cols=n_cols, shared_xaxes="all", shared_yaxes="all", subplot_titles=titles,
                        horizontal_spacing=0.03, vertical_spacing=min(0.12, 0.5 / n_rows))
    role = _role(data, calculator)
    shown: set[str] = set()
    for i, sub in enumerate(subsets):
        if sub.empty:
            continue
        for trace in _panel_traces(sub, role):
            first = trace.showlegend is not False and trace.name not in shown
            shown.update([trace.name] if first else [])
            fig.add_trace(trace.update(legendgroup=trace.name, showlegend=first),
                          row=i // n_cols + 1, col=i % n_cols + 1)
    boundary = data.loc[data["_rank"] == 1, "_x"]
    if (data["_rank"] == 0).any() and not boundary.empty:
        fig.add_vline(x=boundary.min(), line_dash="dash", line_color="black", opacity=0.5, line_width=1,
                      row="all", col="all")
    what = plotly_text(pd.Series([metric if column is None else f"{column} · {metric}"])).iloc[0]
    fig.update_xaxes(title_text="chunk start date" if use_dates else "chunk", row=n_rows)
    fig.update_layout(title=title or f"{what} by segment", template="plotly_white",
                      height=TITLE_HEIGHT + PANEL_HEIGHT * n_rows, hovermode="closest")
    return fig
