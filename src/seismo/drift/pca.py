"""`PCADrift`: multivariate drift as the PCA reconstruction error of each chunk.

A PCA fitted on the reference captures how the features vary *together*. Rows
whose joint structure changes (a correlation flips, a feature decouples from
the others) are reconstructed worse, even when every marginal distribution is
unchanged, which univariate drift cannot see.

The per-row map, learned on the reference, is pure numpy:

1. impute: missing (and non-finite) continuous values by the reference mean;
   missing categories by the reference's most frequent category;
2. frequency-encode each categorical column: a category becomes its share of
   the reference's non-missing values; a category the reference never saw
   becomes 0;
3. standardise every encoded column with the reference mean and standard
   deviation (ddof 0; a constant column keeps scale 1);
4. project onto the first ``k`` principal components ``W`` (``k`` rows, the
   smallest number explaining at least ``variance`` of the variance) and back:
   ``ẑ = (z − μ) Wᵀ W + μ``;
5. the row's error is the Euclidean distance ``‖z − ẑ‖₂``.

The statistic of a chunk is the mean error of its rows, a location statistic
(noise ∝ n^-1/2) with two-sided thresholds: an error that falls can mean the
data lost variance (a feature stuck at one value).

Reference errors are scored *out of fold*: the reference rows are split into
`N_FOLDS` folds by a hash of their position (`fold_of`) and each fold is scored
by a model (imputer, encoder, scaler and PCA) fitted on the other folds, so
reference chunks are as unseen by their model as analysis chunks are by the
final one, and the thresholds learned from them are honest. The analysis is
scored by a model fitted on the whole reference. Every model is fitted on at
most ``max_fit_rows`` rows drawn at random from its training rows (scoring
always uses every row). A reference streamed from files fits its models on
the reference sample (`seismo.reference`); its rows are still all scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..base import FeatureCalculator
from ..calculator import ROWS, MetricInfo
from ..chunking import Chunker
from ..errors import InvalidConfiguration
from ..frame import Frame
from ..io import DataLike
from ..reference import row_positions
from ..scaling import LOCATION
from ..stats.moments import Moments
from ..stats.sample import row_keys
from ..thresholds import TWO_SIDED_THRESHOLD, resolve_thresholds

METRIC = "pca_reconstruction_error"
N_FOLDS = 5
_BLOCK = 65_536  # rows scored at once, to bound the memory of the encoded matrix
_UNSEEN, _MISSING = -1, -2  # category codes besides positions in the reference vocabulary


@dataclass
class RawColumns:
    """A frame's features before imputation: continuous floats and category codes."""

    continuous: np.ndarray  # (n, dc) float64, NaN where missing or non-finite
    codes: np.ndarray  # (n, dk) int64: vocabulary position, _UNSEEN or _MISSING

    @property
    def n_rows(self) -> int:
        return self.continuous.shape[0]

    def take(self, rows: slice | np.ndarray) -> "RawColumns":
        return RawColumns(self.continuous[rows], self.codes[rows])


def raw_columns(frame: Frame, continuous: list[str], categorical: list[str], vocabularies: list[pa.Array]) -> RawColumns:
    """Read the features of ``frame`` once; categories are looked up in the reference vocabularies."""
    n = frame.n_rows
    cont = np.empty((n, len(continuous)), dtype=np.float64)
    for j, name in enumerate(continuous):
        values = frame.floats(name)
        cont[:, j] = np.where(np.isfinite(values), values, np.nan)
    codes = np.empty((n, len(categorical)), dtype=np.int64)
    for j, (name, vocabulary) in enumerate(zip(categorical, vocabularies)):
        strings = frame.strings(name)
        index = pc.fill_null(pc.index_in(strings, value_set=vocabulary), _UNSEEN)
        col = index.to_numpy(zero_copy_only=False).astype(np.int64)
        col[pc.is_null(strings).to_numpy(zero_copy_only=False)] = _MISSING
        codes[:, j] = col
    return RawColumns(cont, codes)


@dataclass
class PCAModel:
    """Imputer, frequency encoder, scaler and PCA as plain arrays (see the module docstring)."""

    means: np.ndarray  # (dc,) imputation values of the continuous columns
    frequencies: list[np.ndarray]  # per categorical column: share of each vocabulary category
    fills: np.ndarray  # (dk,) encoded value of a missing category (the most frequent one's share)
    center: np.ndarray  # (d,) scaler mean
    scale: np.ndarray  # (d,) scaler standard deviation
    mu: np.ndarray  # (d,) mean of the standardised fit rows (PCA centre)
    components: np.ndarray  # (k, d) principal axes W, orthonormal rows

    @classmethod
    def fit(cls, raw: RawColumns, variance: float) -> "PCAModel":
        cont, codes = raw.continuous, raw.codes
        with np.errstate(invalid="ignore"):
            observed = np.isfinite(cont).sum(axis=0)
            means = np.where(observed > 0, np.nansum(cont, axis=0) / np.maximum(observed, 1), 0.0)
        frequencies, fills = [], np.zeros(codes.shape[1])
        for j in range(codes.shape[1]):
            col = codes[:, j]
            known = col[col >= 0]
            size = int(col.max()) + 1 if col.size and col.max() >= 0 else 0
            counts = np.bincount(known, minlength=size).astype(float)
            share = counts / known.size if known.size else counts
            frequencies.append(share)
            fills[j] = share.max() if share.size else 0.0
        model = cls(means, frequencies, fills, np.zeros(0), np.ones(0), np.zeros(0), np.zeros((0, 0)))
        x = model.encode(raw)
        center = x.mean(axis=0)
        scale = x.std(axis=0)
        scale = np.where(scale > 1e-12 * np.maximum(np.abs(center), 1.0), scale, 1.0)
        z = (x - center) / scale
        mu = z.mean(axis=0)
        _, s, vt = np.linalg.svd(z - mu, full_matrices=False)
        explained = s**2
        total = explained.sum()
        if total <= 0 or not np.isfinite(total):
            k = 0
        else:
            k = int(np.searchsorted(np.cumsum(explained) / total, variance, side="right")) + 1
            k = min(k, vt.shape[0])
        model.center, model.scale, model.mu, model.components = center, scale, mu, vt[:k].copy()
        return model

    @property
    def n_components(self) -> int:
        return self.components.shape[0]

    def encode(self, raw: RawColumns) -> np.ndarray:
        """Imputed, frequency-encoded features (before scaling), shape (n, d)."""
        cont = np.where(np.isnan(raw.continuous), self.means, raw.continuous)
        cat = np.empty(raw.codes.shape, dtype=np.float64)
        for j, share in enumerate(self.frequencies):
            col = raw.codes[:, j]
            inside = (col >= 0) & (col < share.size)
            cat[:, j] = np.where(inside, share[np.where(inside, col, 0)] if share.size else 0.0, 0.0)
            cat[col == _MISSING, j] = self.fills[j]
        return np.hstack([cont, cat])

    def standardise(self, raw: RawColumns) -> np.ndarray:
        return (self.encode(raw) - self.center) / self.scale

    def errors(self, raw: RawColumns) -> np.ndarray:
        """Per-row Euclidean reconstruction error in the standardised space."""
        out = np.empty(raw.n_rows)
        w = self.components
        for start in range(0, raw.n_rows, _BLOCK):
            block = slice(start, start + _BLOCK)
            zc = self.standardise(raw.take(block)) - self.mu
            out[block] = np.linalg.norm(zc - (zc @ w.T) @ w, axis=1)
        return out


def _sample(rows: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    if rows.size <= max_rows:
        return rows
    return np.sort(rng.choice(rows, size=max_rows, replace=False))


FOLD_SALT = 0x0F01_D5A1_7000_0001  # mixed into the seed: fold hashes differ from the reference sample's


def fold_of(positions: np.ndarray, seed: int, n_folds: int = N_FOLDS) -> np.ndarray:
    """Fold of each reference row, from a hash of its global position.

    A row's fold depends on nothing but its position, so a row streamed in a batch and
    the same row in the reference sample land in the same fold.
    """
    return (row_keys(positions, seed ^ FOLD_SALT) % np.uint64(n_folds)).astype(np.int64)


def fold_models(raw: RawColumns, folds: np.ndarray, variance: float, max_fit_rows: int,
                rng: np.random.Generator, n_folds: int = N_FOLDS) -> list[PCAModel]:
    """One model per fold, fitted on (at most ``max_fit_rows`` of) the rows of the other folds.

    A fold whose complement is empty (a tiny reference) gets a model of every row.
    """
    models = []
    for fold in range(n_folds):
        train = np.flatnonzero(folds != fold)
        if train.size == 0:
            train = np.arange(raw.n_rows)
        models.append(PCAModel.fit(raw.take(_sample(train, max_fit_rows, rng)), variance))
    return models


class PCATracker:
    """Model-level tracker of the mean reconstruction error (non-comparative).

    ``encode`` scores a frame with the final model, fitted on the whole reference;
    reference rows are scored out of fold by `OutOfFoldScorer` instead.
    """

    comparative = False
    column = None

    def __init__(self, model: PCAModel, continuous: list[str], categorical: list[str], vocabularies: list[pa.Array]):
        self.model = model
        self.continuous = continuous
        self.categorical = categorical
        self.vocabularies = vocabularies

    def metric_infos(self) -> list[MetricInfo]:
        return [MetricInfo(METRIC, TWO_SIDED_THRESHOLD, lower_bound=0.0, scaling=LOCATION)]

    def raw(self, frame: Frame) -> RawColumns:
        return raw_columns(frame, self.continuous, self.categorical, self.vocabularies)

    def encode(self, frame: Frame) -> np.ndarray:
        return self.model.errors(self.raw(frame))

    def partial(self, encoded: np.ndarray, rows: slice | np.ndarray) -> Moments:
        return Moments.from_values(encoded[rows])

    def finish(self, part: Moments, reference: None = None) -> dict:
        return {METRIC: part.mean if part.n else np.nan, ROWS: part.n}


class OutOfFoldScorer(PCATracker):
    """Scores reference rows, each by the model of the folds it is not in (`fold_of`).

    Works on a whole reference, a batch of a streamed one (rows from ``frame.offset``)
    and the reference sample (rows at its ``positions``) alike.
    """

    def __init__(self, tracker: PCATracker, models: list[PCAModel], seed: int):
        super().__init__(tracker.model, tracker.continuous, tracker.categorical, tracker.vocabularies)
        self.models = models
        self.seed = seed

    def encode(self, frame: Frame) -> np.ndarray:
        raw = self.raw(frame)
        folds = fold_of(row_positions(frame), self.seed, len(self.models))
        out = np.empty(raw.n_rows)
        for fold, model in enumerate(self.models):
            held = np.flatnonzero(folds == fold)
            if held.size:
                out[held] = model.errors(raw.take(held))
        return out


class PCADrift(FeatureCalculator):
    """Multivariate drift: mean PCA reconstruction error per chunk (see the module docstring).

    ``variance`` is the share of the standardised reference variance the PCA
    keeps; ``max_fit_rows`` caps the reference rows (a random sample) each
    imputer/encoder/scaler/PCA is fitted on.
    """

    def __init__(
        self,
        columns: list[str] | None = None,
        timestamp: str | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        thresholds: dict | None = None,
        column_types: dict[str, str] | None = None,
        *,
        incomplete: Literal["keep", "append", "drop"] = "keep",
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        id: str | None = None,
        variance: float = 0.65,
        max_fit_rows: int = 100_000,
        n_resamples: int = 50,
        random_state: int = 0,
    ):
        super().__init__(
            columns=columns, column_types=column_types, y_pred_proba=y_pred_proba, y_pred=y_pred,
            y_true=y_true, id=id, timestamp=timestamp, chunk_size=chunk_size, chunk_number=chunk_number,
            chunk_period=chunk_period,
            chunker=chunker, incomplete=incomplete, thresholds=thresholds, n_resamples=n_resamples,
            random_state=random_state,
        )
        self.variance = variance
        self.max_fit_rows = max_fit_rows

    def _check_config(self) -> None:
        if not (isinstance(self.variance, (int, float)) and 0.0 < self.variance <= 1.0):
            raise InvalidConfiguration(f"variance is {self.variance!r}; use a share in (0, 1]")
        if not (isinstance(self.max_fit_rows, (int, np.integer)) and self.max_fit_rows >= 2):
            raise InvalidConfiguration(f"max_fit_rows is {self.max_fit_rows!r}; use an integer of at least 2")

    def fit(self, reference: DataLike, *, streaming: bool | None = None) -> "PCADrift":
        """Learn the preprocessing, the PCA, out-of-fold reference errors and thresholds.

        ``streaming`` works as in `UnivariateDrift.fit`: the models are then fitted on the
        reference sample (each on at most ``max_fit_rows`` rows anyway), and every
        reference row is scored out of fold in the second pass.
        """
        self._check_config()
        ref = self._reference_features(reference, streaming)
        overrides = resolve_thresholds(self.thresholds, [METRIC])
        continuous = [c.name for c in self.schema_.columns if c.kind == "continuous"]
        categorical = [c.name for c in self.schema_.columns if c.kind == "categorical"]
        vocabularies = [ref.categories(c) for c in categorical]
        sample = ref.frame
        raw = raw_columns(sample, continuous, categorical, vocabularies)
        rng = np.random.default_rng(self.random_state)
        model = PCAModel.fit(raw.take(_sample(np.arange(raw.n_rows), self.max_fit_rows, rng)), self.variance)
        tracker = PCATracker(model, continuous, categorical, vocabularies)
        folds = fold_of(row_positions(sample), self.random_state)
        scorer = OutOfFoldScorer(tracker, fold_models(raw, folds, self.variance, self.max_fit_rows, rng),
                                 self.random_state)
        self.model_ = model
        self.n_components_ = model.n_components
        self.fitted_trackers_ = self._fit_trackers([tracker], ref, overrides, encoders=[scorer])
        self.fitted_ = True
        return self
