"""The "why performance changed" figure and table of `seismo.monitor.decomposition`.

Each labelled analysis chunk's change in realized performance from the reference is split into a
covariate part, a concept part and a remainder that add up to it. The figure draws one metric on
the chunks' time axis: per chunk a bar for each part, side by side, each with ±3 sampling errors,
and the realized change itself as markers joined by a line over them, so the bar that matches the
marker is the cause. Grouped, not stacked: stacked parts of opposite signs hide each other, and an
error bar on a stacked segment would read as the error of the running total.

Colours follow the other figures: the covariate part is the estimate's change, blue like the
estimate; the realized change is orange like realized performance; concept shift has a colour of
its own, and the remainder (interaction and noise) a quiet grey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from seismo.monitor.decomposition import PARTS, SPREAD, cause_text, signed
from seismo.monitor.plotting import ANALYSIS_COLOR, REALIZED_COLOR, plot_empty_message, plotly_text

PART_COLORS = {"covariate": ANALYSIS_COLOR, "concept": "#9467bd", "remainder": "#b0b0b0"}
PART_NAMES = {"covariate": "covariate shift", "concept": "concept shift", "remainder": "remainder"}
MAX_TICKS = 20  # chunk-key ticks shown on an axis without dates; past this every k-th one
HEIGHT = 460


def chunk_labels(table: pd.DataFrame) -> pd.Series:
    """Each row's chunk as the summary names it: its start date when chunks have dates, else its key."""
    dates = pd.to_datetime(table["chunk_start_date"])
    return dates.dt.strftime("%Y-%m-%d").where(dates.notna(), table["chunk_key"].astype(str))


def _x(rows: pd.DataFrame) -> tuple[pd.Series, bool]:
    """The x of each chunk: its start date when every chunk has one, else its index."""
    dates = pd.to_datetime(rows["chunk_start_date"])
    if bool(dates.notna().all()):
        return dates, True
    return rows["chunk_index"].astype(float), False


def _hover(rows: pd.DataFrame, part: str, name: str) -> tuple[np.ndarray, str]:
    """Per-bar hover fields (chunk, ±3 SE) and the template naming the part ``name``."""
    labels = plotly_text(chunk_labels(rows)).to_numpy(dtype=object)
    spread = (SPREAD * rows[f"{part}_se"]).map(lambda v: f"{v:.2g}" if np.isfinite(v) else "n/a")
    data = np.column_stack([labels, spread.to_numpy(dtype=object)])
    return data, f"<b>%{{customdata[0]}}</b><br>{name}: %{{y:+.3g}} ± %{{customdata[1]}}<extra></extra>"


def plot_decomposition(table: pd.DataFrame, metric: str, *, title: str | None = None) -> go.Figure:
    """One metric's decomposition (`seismo.monitor.decomposition.decompose`'s rows): grouped bars of the
    covariate, concept and remainder parts per labelled chunk, error bars ±3 SE, and the realized change."""
    rows = table[table["metric"] == metric].sort_values("chunk_index", kind="stable")
    what = plotly_text(pd.Series([metric])).iloc[0]  # a custom metric's name is the user's: shown as text
    if rows.empty:
        return plot_empty_message(f"No labelled chunk decomposes {what}.")
    x, dated = _x(rows)
    fig = go.Figure()
    for part in PARTS:
        data, hover = _hover(rows, part, PART_NAMES[part])
        fig.add_trace(go.Bar(
            x=x, y=rows[part].to_numpy(dtype=float), name=PART_NAMES[part], marker_color=PART_COLORS[part],
            error_y={"type": "data", "array": (SPREAD * rows[f"{part}_se"]).to_numpy(dtype=float), "visible": True,
                     "color": "#444", "thickness": 1.2, "width": 3},
            customdata=data, hovertemplate=hover))
    data, hover = _hover(rows, "realized", "realized change")
    fig.add_trace(go.Scatter(
        x=x, y=rows["realized_change"].to_numpy(dtype=float), name="realized change", mode="lines+markers",
        line={"color": REALIZED_COLOR, "dash": "dot", "width": 2},
        marker={"color": REALIZED_COLOR, "size": 10, "symbol": "diamond", "line": {"width": 1, "color": "#222"}},
        error_y={"type": "data", "array": (SPREAD * rows["realized_se"]).to_numpy(dtype=float), "visible": True,
                 "color": REALIZED_COLOR, "thickness": 1.5, "width": 5},
        customdata=data, hovertemplate=hover))
    fig.add_hline(y=0, line_color="black", line_width=1, opacity=0.5)
    if not dated:  # chunk keys as tick labels, thinned past MAX_TICKS
        step = -(-len(rows) // MAX_TICKS)
        fig.update_xaxes(tickvals=x.to_numpy()[::step],
                         ticktext=plotly_text(rows["chunk_key"]).to_numpy(dtype=object)[::step])
    fig.update_xaxes(title_text="chunk start date" if dated else "chunk")
    fig.update_yaxes(title_text=f"change in {what} from the reference", zeroline=False)
    fig.update_layout(
        title=title or f"Why realized {what} changed: covariate + concept + remainder (error bars ±3 SE)",
        template="plotly_white", barmode="group", height=HEIGHT, hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0})
    return fig


def cause_table(table: pd.DataFrame, metric: str, dropped: set[int] | None = None) -> pd.DataFrame:
    """The rows of the page's table for ``metric``: chunk, each part as ``value ± 3 SE``, the cause in
    words, and whether realized performance dropped beyond its threshold there (``dropped``: the chunk
    indices; None leaves that column out)."""
    rows = table[table["metric"] == metric].sort_values("chunk_index", kind="stable")
    out = pd.DataFrame({"chunk": chunk_labels(rows).to_numpy(dtype=object)})
    if dropped is not None:
        out["dropped"] = ["yes" if i in dropped else "" for i in rows["chunk_index"]]
    out["realized change"] = [signed(v, s) for v, s in zip(rows["realized_change"], rows["realized_se"])]
    for part in PARTS:
        out[part] = [signed(v, s) for v, s in zip(rows[part], rows[f"{part}_se"])]
    out["main cause"] = [cause_text(c) for c in rows["main_cause"]]
    return out
