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

Reference rows are scored by the model that scores the analysis (the final model,
fitted on at most ``max_fit_rows`` reference rows drawn at random), so a reference
chunk and an analysis chunk from the same distribution measure the same thing. The
rows the final model was fitted on score lower than new rows would: a PCA also fits
the noise of its own rows. Their errors get that gap added (`in_sample_optimism`,
estimated from models fitted like the final one, with its number of components, on
part of its fit rows), so reference values have the expectation of analysis values
and the thresholds learned from them are honest.

Reference values used to come from fold models that chose their own number of
components; where the variance threshold falls between two components they kept a
different one than the final model, and every reference chunk scored far above
stationary analysis chunks (issue 11: 1.26 against 1.14).

A reference streamed from files fits the final model on the reference sample
(`seismo.chunks.reference`); its rows are still all scored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from seismo._typing import DataLike, Incomplete, SegmentCorrection, Segments, SmallSegments
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunker
from seismo.chunks.reference import row_positions
from seismo.data.frame import Frame
from seismo.data.io import string_values
from seismo.engine.calculator import FeatureCalculator
from seismo.engine.sampling_error import LOCATION
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.thresholds import TWO_SIDED_THRESHOLD, resolve_thresholds
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, DEFAULT_RESAMPLES, ROWS, MetricInfo
from seismo.errors import InvalidConfiguration
from seismo.stats.moments import Moments
from seismo.stats.sample import row_keys

METRIC = "pca_reconstruction_error"
N_FOLDS = 5
# Rows scored at once. Rows are scored block by block end to end (raw -> standardised ->
# projected -> error) so the block's (d, _BLOCK) matrix stays in cache and memory stays
# small whatever the number of rows.
_BLOCK = 16_384
_UNSEEN, _MISSING = -1, -2  # category codes besides positions in the reference vocabulary
# err² = ‖z‖² − ‖zWᵀ‖² loses digits to cancellation where the error is a tiny share of
# ‖z‖² (a row lying almost in the principal subspace); such rows are recomputed as ‖z − zWᵀW‖².
_CANCELLATION = 1e-4

Rows = slice | np.ndarray

_blas_lock = threading.Lock()
_blas_users = 0
_blas_limits = None


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while any thread is inside; the setting is restored when the last
    one leaves (nested `threadpool_limits` in two threads could otherwise restore out of order)."""
    global _blas_users, _blas_limits
    with _blas_lock:
        if _blas_users == 0:
            _blas_limits = threadpool_limits(1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limits is not None:  # set by the first thread in
                _blas_limits.restore_original_limits()


@dataclass
class RawColumns:
    """A frame's features before imputation, one 1-D array per column.

    Continuous values are float64 where NaN and ±inf count as missing (the frame's own
    arrays, not copied); categories are int32 positions in the reference vocabulary,
    `_UNSEEN` or `_MISSING`. ``n_categories`` are the vocabulary sizes.
    """

    continuous: list[np.ndarray]
    codes: list[np.ndarray]
    n_categories: list[int]
    n_rows: int

    def take(self, rows: Rows) -> "RawColumns":
        n = rows.size if isinstance(rows, np.ndarray) else len(range(self.n_rows)[rows])
        return RawColumns([c[rows] for c in self.continuous], [c[rows] for c in self.codes], self.n_categories, n)


def raw_columns(frame: Frame, continuous: list[str], categorical: list[str], vocabularies: list[pa.Array]) -> RawColumns:
    """Read the features of ``frame`` once; categories are looked up in the reference vocabularies."""
    return RawColumns([frame.floats(name) for name in continuous],
                      [category_codes(frame, name, v) for name, v in zip(categorical, vocabularies)],
                      [len(v) for v in vocabularies], frame.n_rows)


def category_codes(frame: Frame, name: str, vocabulary: pa.Array) -> np.ndarray:
    """Vocabulary position of each value of column ``name``, `_UNSEEN` or `_MISSING` (int32).

    A dictionary-encoded column (pandas Categorical, parquet dictionaries) is looked up
    once per dictionary entry and the codes are taken by its indices, so no string is
    decoded per row.
    """
    column = frame.column(name)
    if not pa.types.is_dictionary(column.type):
        return _codes_of(frame.strings(name), vocabulary)
    parts = [np.empty(0, dtype=np.int32)]
    for chunk in column.chunks:
        # the entry codes, then _MISSING at the end for null indices
        entries = np.append(_codes_of(string_values(chunk.dictionary), vocabulary), np.int32(_MISSING))
        indices = pc.fill_null(chunk.indices.cast(pa.int32()), len(entries) - 1).to_numpy(zero_copy_only=False)
        parts.append(entries[indices])
    return np.concatenate(parts)


def _codes_of(strings: pa.ChunkedArray, vocabulary: pa.Array) -> np.ndarray:
    index = pc.fill_null(pc.index_in(strings, value_set=vocabulary), _UNSEEN)
    codes = index.to_numpy(zero_copy_only=False).astype(np.int32)
    codes[pc.is_null(strings).to_numpy(zero_copy_only=False)] = _MISSING
    return codes


def _principal_axes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre ``x`` (d, n; one row per standardised feature) in place and return its mean,
    the variance along each principal axis (largest first, times n) and the axes (rows).

    The right singular vectors of the centred (n, d) matrix are the eigenvectors of its
    (d, d) scatter matrix, and the squared singular values its eigenvalues: the same PCA
    from a d×d decomposition instead of an n×d one.
    """
    mu = x.mean(axis=1)
    x -= mu[:, None]
    _, explained, axes = np.linalg.svd(x @ x.T, hermitian=True)
    return mu, explained, axes


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
    def fit(cls, raw: RawColumns, variance: float, n_components: int | None = None) -> "PCAModel":
        """Imputer, encoder, scaler and PCA from ``raw``'s rows.

        The PCA keeps the fewest components that explain ``variance``, or exactly
        ``n_components`` when given (at most the number of features).
        """
        means = np.zeros(len(raw.continuous))
        for j, col in enumerate(raw.continuous):
            finite = col[np.isfinite(col)]
            means[j] = finite.mean() if finite.size else 0.0
        frequencies, fills = [], np.zeros(len(raw.codes))
        for j, col in enumerate(raw.codes):
            known = col[col >= 0]
            size = int(col.max()) + 1 if col.size and col.max() >= 0 else 0
            counts = np.bincount(known, minlength=size).astype(float)
            share = counts / known.size if known.size else counts
            frequencies.append(share)
            fills[j] = share.max() if share.size else 0.0
        d = means.size + len(frequencies)
        model = cls(means, frequencies, fills, np.zeros(d), np.ones(d), np.zeros(d), np.zeros((0, d)))
        x = np.empty((d, raw.n_rows))  # one row per feature: the encoded fit rows, unscaled
        model._fill(raw, slice(None), x)
        center = x.mean(axis=1)
        scale = x.std(axis=1)
        scale = np.where(scale > 1e-12 * np.maximum(np.abs(center), 1.0), scale, 1.0)
        x -= center[:, None]
        x /= scale[:, None]
        mu, explained, axes = _principal_axes(x)
        total = explained.sum()
        if n_components is not None:
            k = min(n_components, axes.shape[0])
        elif total <= 0 or not np.isfinite(total):
            k = 0
        else:
            k = int(np.searchsorted(np.cumsum(explained) / total, variance, side="right")) + 1
            k = min(k, axes.shape[0])
        model.center, model.scale, model.mu, model.components = center, scale, mu, axes[:k].copy()
        return model

    @property
    def n_components(self) -> int:
        return self.components.shape[0]

    def _fill(self, raw: RawColumns, rows: Rows, out: np.ndarray,
              shift: np.ndarray | None = None, inv_scale: np.ndarray | None = None) -> None:
        """Write ``(x − shift) · inv_scale`` of the encoded ``rows`` into ``out`` (d, len(rows)).

        ``x`` is imputed and frequency-encoded; without ``shift`` and ``inv_scale`` it is
        written as is. One row of ``out`` per feature, so every write is contiguous.
        """
        d = out.shape[0]
        shift = np.zeros(d) if shift is None else shift
        inv_scale = np.ones(d) if inv_scale is None else inv_scale
        for j, col in enumerate(raw.continuous):
            values, row = col[rows], out[j]
            np.subtract(values, shift[j], out=row)
            row *= inv_scale[j]
            missing = ~np.isfinite(values)
            if missing.any():
                row[missing] = (self.means[j] - shift[j]) * inv_scale[j]
        dc = len(raw.continuous)
        for j, (col, share, size) in enumerate(zip(raw.codes, self.frequencies, raw.n_categories)):
            # encoded value of every code: its share (0 past the fit rows' categories), the
            # fill at _MISSING (-2) and 0 at _UNSEEN (-1), already shifted and scaled
            table = np.zeros(size + 2)
            table[:share.size] = share
            table[_MISSING] = self.fills[j]
            table = (table - shift[dc + j]) * inv_scale[dc + j]
            np.take(table, col[rows], out=out[dc + j])

    def errors(self, raw: RawColumns, rows: np.ndarray | None = None) -> np.ndarray:
        """Per-row Euclidean reconstruction error in the standardised space (of ``rows``, or all).

        ``z − μ = (x − c − μσ) / σ``, so centring and scaling are one shift and one scale
        applied while a block is filled; with orthonormal ``W`` the error is
        ``‖z − μ‖² − ‖(z − μ)Wᵀ‖²``, one product per block. The products, (k, d) by
        (d, `_BLOCK`), run on one BLAS thread: more threads only wait on each other, on a
        busy machine badly (measured 60× slower); threads over blocks did not pay on 2 cores.
        """
        n = raw.n_rows if rows is None else rows.size
        out = np.empty(n)
        shift = self.center + self.mu * self.scale
        inv_scale = 1.0 / self.scale
        w = self.components
        buffer = np.empty((shift.size, min(n, _BLOCK)))
        with _one_blas_thread():
            for start in range(0, n, _BLOCK):
                stop = min(start + _BLOCK, n)
                zc = buffer[:, :stop - start]
                self._fill(raw, slice(start, stop) if rows is None else rows[start:stop], zc, shift, inv_scale)
                projected = w @ zc
                squared = np.einsum("ij,ij->j", zc, zc)
                error = squared - np.einsum("ij,ij->j", projected, projected)
                inexact = np.flatnonzero(error < _CANCELLATION * squared)
                if inexact.size:
                    residual = zc[:, inexact] - w.T @ projected[:, inexact]
                    error[inexact] = np.einsum("ij,ij->j", residual, residual)
                np.sqrt(np.maximum(error, 0.0), out=out[start:stop])
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


def _fold_gap(raw: RawColumns, folds: np.ndarray, final: PCAModel, variance: float,
              n_folds: int) -> tuple[float, float]:
    """Mean optimism of fold models (see `in_sample_optimism`) and the mean number of rows they fit.

    Fold ``f``'s model is fitted like ``final`` (imputer, encoder, scaler and PCA) on the rows
    outside fold ``f`` but keeps exactly ``final``'s number of components: it must be the
    final model's procedure on fewer rows. Choosing its own count made it a different model
    where ``variance`` falls between two components (issue 11). Its encoder and scaler are
    its own rows' too, so fold ``f`` is new to it in every step, as analysis rows are to
    ``final`` (a scaler shared with the held-out rows overstated the gap by about 5%). Its
    optimism is its mean error on fold ``f`` minus its mean error on its own rows. NaN where
    no fold has both.
    """
    gaps, sizes = [], []
    for fold in range(n_folds):
        held = folds == fold
        train = np.flatnonzero(~held)
        if train.size == 0 or train.size == raw.n_rows:
            continue
        errors = PCAModel.fit(raw.take(train), variance, final.n_components).errors(raw)
        gaps.append(errors[held].mean() - errors[train].mean())
        sizes.append(train.size)
    return (float(np.mean(gaps)), float(np.mean(sizes))) if gaps else (np.nan, np.nan)


def in_sample_optimism(raw: RawColumns, positions: np.ndarray, seed: int, final: PCAModel,
                       variance: float) -> float:
    """How much higher, per row, ``final``'s error is on new rows than on the rows it was fitted on.

    ``raw`` holds exactly ``final``'s fit rows, ``positions`` their global positions. A PCA
    also fits the noise of its own rows, so their errors are lower than a new row's: the
    optimism G(m) of a fit on m rows. It falls like m^-α, with α between 1/2 (directions of
    equal variance, where the fit picks the noise's largest: measured 0.5 on isotropic data)
    and 1 (well separated components). Fold models fitted on 4/5 and on 1/2 of the rows
    (`_fold_gap`) give G at two sizes, hence α, and G at ``final``'s m follows. On 1,000 to
    5,000 rows of 30 or 40 isotropic features (G from 0.13 to 0.42) this is within 2% of
    G measured on 100,000 new rows (mean of 10 seeds); α fixed at 1 fell 10% short.
    """
    g5, m5 = _fold_gap(raw, fold_of(positions, seed, N_FOLDS), final, variance, N_FOLDS)
    if not np.isfinite(g5):
        return 0.0  # too few rows to hold any out
    g2, m2 = _fold_gap(raw, fold_of(positions, seed, 2), final, variance, 2)
    alpha = 1.0
    if g5 > 0 and g2 > 0 and m5 > m2:
        alpha = float(np.clip(np.log(g2 / g5) / np.log(m5 / m2), 0.5, 1.0))
    return g5 * (m5 / raw.n_rows) ** alpha


class PCATracker:
    """Model-level tracker of the mean reconstruction error (non-comparative).

    ``encode`` scores a frame with the final model; reference rows are scored by
    `ReferenceScorer`, which adds the in-sample optimism to the rows the model was fitted on.
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


class ReferenceScorer(PCATracker):
    """Scores reference rows with the final model; a row it was fitted on also gets its optimism.

    Rows are told apart by their global position, so this works on a whole reference, a
    batch of a streamed one (rows from ``frame.offset``) and the reference sample (rows at
    its ``positions``) alike.
    """

    def __init__(self, tracker: PCATracker, fitted: np.ndarray, optimism: float,
                 known: tuple[Frame, RawColumns] | None = None):
        super().__init__(tracker.model, tracker.continuous, tracker.categorical, tracker.vocabularies)
        self.fitted = fitted  # sorted global positions of the final model's fit rows
        self.optimism = optimism
        self.known = known  # a frame whose raw columns were already made (the fit's)

    def encode(self, frame: Frame) -> np.ndarray:
        raw = self.known[1] if self.known is not None and self.known[0] is frame else self.raw(frame)
        errors = self.model.errors(raw)
        positions = row_positions(frame)
        at = np.minimum(np.searchsorted(self.fitted, positions), max(self.fitted.size - 1, 0))
        if self.fitted.size:
            errors[self.fitted[at] == positions] += self.optimism
        return errors


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
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        id: str | None = None,
        variance: float = 0.65,
        max_fit_rows: int = 100_000,
        n_resamples: int = DEFAULT_RESAMPLES,
        random_state: int = DEFAULT_RANDOM_STATE,
        timestamp_format: str | None = None,
        false_alarm_rate: float | None = None,
        segments: Segments | None = None,
        min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS,
        small_segments: SmallSegments = "other",
        segment_correction: SegmentCorrection = "bonferroni",
    ):
        super().__init__(
            columns=columns, column_types=column_types, y_pred_proba=y_pred_proba, y_pred=y_pred,
            y_true=y_true, id=id, timestamp=timestamp, chunk_size=chunk_size, chunk_number=chunk_number,
            chunk_period=chunk_period,
            chunker=chunker, incomplete=incomplete, thresholds=thresholds, n_resamples=n_resamples,
            random_state=random_state,
            timestamp_format=timestamp_format, false_alarm_rate=false_alarm_rate,
            segments=segments, min_segment_rows=min_segment_rows, small_segments=small_segments,
            segment_correction=segment_correction,
        )
        self.variance = variance
        self.max_fit_rows = max_fit_rows

    def _check_config(self) -> None:
        if not (isinstance(self.variance, (int, float)) and 0.0 < self.variance <= 1.0):
            raise InvalidConfiguration(f"variance is {self.variance!r}; use a share in (0, 1]")
        if not (isinstance(self.max_fit_rows, (int, np.integer)) and self.max_fit_rows >= 2):
            raise InvalidConfiguration(f"max_fit_rows is {self.max_fit_rows!r}; use an integer of at least 2")

    def fit(self, reference: DataLike, *, streaming: bool | None = None) -> "PCADrift":
        """Learn the preprocessing, the PCA, its in-sample optimism, reference errors and thresholds.

        ``streaming`` works as in `UnivariateDrift.fit`: the model is then fitted on the
        reference sample (on at most ``max_fit_rows`` rows anyway), and every reference
        row is scored in the second pass. ``optimism_`` is the in-sample optimism.
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
        rows = _sample(np.arange(raw.n_rows), self.max_fit_rows, rng)
        fit_raw = raw.take(rows)
        model = PCAModel.fit(fit_raw, self.variance)
        tracker = PCATracker(model, continuous, categorical, vocabularies)
        positions = row_positions(sample)[rows]
        optimism = in_sample_optimism(fit_raw, positions, self.random_state, model, self.variance)
        scorer = ReferenceScorer(tracker, np.sort(positions), optimism, known=(sample, raw))
        self.optimism_ = optimism
        self.model_ = model
        self.n_components_ = model.n_components
        self.fitted_trackers_ = self._fit_trackers([tracker], ref, overrides, encoders=[scorer])
        self.fitted_ = True
        return self
