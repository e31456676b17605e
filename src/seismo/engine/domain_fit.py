"""One cross-fitted domain classifier per chunk, shared by drift detection and estimation.

A LightGBM classifier separates reference rows (label 0) from a chunk's rows
(label 1) with stratified K-fold cross-fitting, so every row gets an
*out-of-fold* probability ``p`` of belonging to the chunk. Three consumers read
the same numbers:

* `DomainClassifierDrift` reports the ROC AUC of those probabilities;
* `PAPE` turns the reference rows' ``p`` into density-ratio weights;
* the trust diagnostics (`performance/trust.py`) read the chunk rows' ``p``
  (rows the reference has essentially never seen) and the weights' effective
  sample size.

`DomainFitCache` lets a `Monitor` fit the classifier once per chunk for all of
them: a fit is keyed by what determines it (the reference sample, the chunk's
rows, the parameters), so reuse can never mix up two different fits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from seismo.data.categories import category_bins, reference_categories
from seismo.data.columns import build_schema
from seismo.data.frame import Frame

MAX_CATEGORIES = 50  # categories of a column encoded apart; the rest share one code
#: Defaults that `DomainClassifierDrift` and `PAPE` share, so that a `Monitor` running both fits
#: once per chunk (`DomainFitCache` reuses a fit only when every input agrees): the rows sampled
#: from the reference (and from each chunk), and the cross-fitting folds.
DEFAULT_MAX_ROWS = 10_000
DEFAULT_N_SPLITS = 3
_P_EPS = 1e-6


class FeatureEncoder:
    """Features as a float matrix for LightGBM; categorical columns as codes fixed by the reference.

    The same encoding as `DomainClassifierDrift`'s, so fits on both can be shared.
    """

    def __init__(self, frame: Frame, names: list[str], column_types: dict | None = None,
                 max_categories: int = MAX_CATEGORIES):
        self.schema = build_schema(frame.table, names, column_types)
        self.categories: dict[str, tuple[Any, int]] = {}
        self.categorical_indices: list[int] = []
        for j, spec in enumerate(self.schema.columns):
            if spec.kind == "categorical":
                categories = reference_categories(frame.strings(spec.name), spec.name)
                self.categories[spec.name] = (categories, min(max_categories, len(categories)))
                self.categorical_indices.append(j)

    def encode(self, frame: Frame) -> np.ndarray:
        out = np.empty((frame.n_rows, len(self.schema.columns)), dtype=np.float64)
        for j, spec in enumerate(self.schema.columns):
            if spec.kind == "categorical":
                categories, top_k = self.categories[spec.name]
                out[:, j] = category_bins(frame.strings(spec.name), categories, top_k)
            else:
                out[:, j] = frame.floats(spec.name)
        return out


@dataclass(frozen=True, eq=False)
class DomainFit:
    """Out-of-fold probabilities "row belongs to the chunk" of one cross-fitted domain classifier."""

    reference_proba: np.ndarray  # (n_reference,)
    chunk_proba: np.ndarray  # (n_chunk,)
    auroc: float
    gain: np.ndarray  # LightGBM gain importance per feature, summed over the folds

    @property
    def ratio_scale(self) -> float:
        """``n_reference / n_chunk``: turns the odds ``p / (1 - p)`` into a density ratio."""
        return len(self.reference_proba) / max(len(self.chunk_proba), 1)

    def reference_weights(self, clip: tuple[float, float]) -> np.ndarray:
        """Density ratio chunk/reference at each reference row, ``(n_ref / n_chunk) · p / (1 − p)``, clipped."""
        p = np.clip(self.reference_proba, _P_EPS, 1.0 - _P_EPS)
        return np.clip(self.ratio_scale * p / (1.0 - p), *clip)

    def chunk_ratios(self) -> np.ndarray:
        """The same density ratio at each chunk row: how much denser the chunk is there than the reference."""
        p = np.clip(self.chunk_proba, _P_EPS, 1.0 - _P_EPS)
        return self.ratio_scale * p / (1.0 - p)


def cross_fit(reference: np.ndarray, current: np.ndarray, params: dict, n_splits: int,
              categorical: list[int] | None, random_state: int) -> DomainFit | None:
    """Cross-fitted domain classifier of ``current`` (1) against ``reference`` (0); None when too few rows."""
    from lightgbm import LGBMClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if min(len(reference), len(current)) < 2 * n_splits or reference.shape[1] == 0:
        return None
    x = np.vstack([reference, current])
    y = np.r_[np.zeros(len(reference), dtype=np.int8), np.ones(len(current), dtype=np.int8)]
    oof = np.empty(len(y), dtype=np.float64)
    gain = np.zeros(x.shape[1])
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    for train, test in folds.split(x, y):
        model = LGBMClassifier(**params)
        model.fit(x[train], y[train], categorical_feature=categorical or "auto")
        oof[test] = np.asarray(model.predict_proba(x[test]))[:, 1]  # typed ndarray | list by LightGBM
        gain += model.booster_.feature_importance(importance_type="gain")
    n_ref = len(reference)
    return DomainFit(oof[:n_ref], oof[n_ref:], float(roc_auc_score(y, oof)), gain)


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


class DomainFitCache:
    """Per-chunk `DomainFit`s keyed by their exact inputs, so two calculators that agree on them fit once.

    Keys hash the reference sample, the chunk sample, the parameters, the folds
    and the seed; a calculator with other inputs simply fits its own. A fit is
    handed out once more and then dropped (its two users are served), so the
    cache is empty after a run; at most ``max_entries`` unclaimed fits are kept (a run of more
    chunks than that only loses sharing for its earliest ones).
    """

    def __init__(self, max_entries: int = 256):
        self.max_entries = max_entries
        self._fits: dict[str, DomainFit | None] = {}
        self.hits = 0

    def __len__(self) -> int:
        """Fits waiting for their second user."""
        return len(self._fits)

    def fit(self, reference: np.ndarray, current: np.ndarray, params: dict, n_splits: int,
            categorical: list[int] | None, random_state: int) -> DomainFit | None:
        key = _digest(reference, current) + repr((sorted(params.items()), n_splits, categorical, random_state))
        if key in self._fits:
            self.hits += 1
            return self._fits.pop(key)
        fit = cross_fit(reference, current, params, n_splits, categorical, random_state)
        if len(self._fits) >= self.max_entries:
            self._fits.pop(next(iter(self._fits)))
        self._fits[key] = fit
        return fit
