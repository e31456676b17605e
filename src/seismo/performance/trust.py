"""Trust diagnostics: per chunk, can this label-free estimate be believed?

Every estimator (CBPE, PAPE, DLE) assumes something the data can break: that
the model's calibration (or the loss model) learned on the reference still
holds on the chunk. Three per-chunk diagnostics say when it may not:

* ``unseen_share``: the share of the chunk's rows that lie where the reference
  has essentially no data. A cross-fitted domain classifier (reference against
  chunk, `drift/domain_fit.py`) gives each chunk row an out-of-fold density
  ratio ``r = (n_ref / n_chunk) · p / (1 − p)``; a row is *unseen* where
  ``r ≥ UNSEEN_RATIO`` (20: the chunk is at least 20 times denser there than
  the reference, the same cap PAPE puts on its weights, so beyond it no
  reweighting can represent the chunk). Nothing learned on the reference speaks
  for such rows.
* ``effective_sample_size``: Kish's ``(Σw)² / Σw²`` of the clipped density-ratio
  weights of the reference sample: how many reference rows still resemble the
  chunk. For PAPE it is the sample its calibration is fitted on.
* ``calibration_gap``: the estimated-versus-realized gap on the reference, out
  of fold, *reweighted to look like the chunk*, in units of the chunk's
  sampling error. Classification: the weighted mean over reference rows of
  ``1{y = ŷ} − P̂(y = ŷ)`` (realized minus estimated accuracy), where ``P̂`` is
  the estimator's out-of-fold calibrated probability; the unit is the binomial
  sampling error of accuracy at the chunk's size, ``sqrt(a(1 − a) / n)``.
  Regression (DLE): realized minus out-of-fold predicted loss of the first
  metric's loss, in units of ``sd(loss) / sqrt(n)``. Positive: the realized
  value is above the estimate (better accuracy, larger loss). It is what the
  estimate would miss on reference rows like the chunk's, so it catches a
  calibration that holds globally but not where the chunk lies. PAPE's ``P̂``
  is its per-chunk weighted map, cross-fitted in 2 folds over its sample.

PAPE's classifier is the one its weights come from. CBPE and DLE, which only
need diagnostics, run a smaller one (`PROBE_ROWS` reference and chunk rows at
most, `PROBE_HYPERPARAMETERS`: 50 trees, one thread).

The rule (`trust_verdict`), one reason per trigger, the worst level wins:

* ``none`` when ``unseen_share ≥ 0.5``: most of the chunk is outside the
  reference; any number would be extrapolation.
* ``low`` when ``unseen_share ≥ 0.1`` (a tenth of the chunk is unseen: with
  accuracy near 0.8, an unseen tenth behaving differently moves the metric by
  several sampling errors at chunk sizes of thousands); or when the effective
  sample size is below 10% of the reference sample (the reweighted reference is
  dominated by a few rows: PAPE's weighted calibration, and the calibration gap
  itself, are then noisy well beyond ``sampling_error``); or when the
  calibration gap exceeds 2 sampling errors *beyond its own standard error*
  ``s_g`` (``sqrt(Σ w² (d − g)²) / Σ w`` for a single gap, ``d`` the row gaps; a
  grouped jackknife for `MetricGaps`, which CBPE and PAPE use: one gap per
  reported metric, as ROC AUC or F1 can miss where accuracy does not), so a gap
  that is only reference noise rarely flags; or when a chunk whose shift was
  learned has *support* below its own size: the effective reference rows behind
  its calibration (CBPE: ESS share × labelled reference rows; reweighting PAPE:
  its sample's ESS). With fewer of them than the chunk has rows, the calibration
  there carries an error of about ``SE · sqrt(n / support)``, as large as the
  sampling noise the band stands for, and the band does not include it.
* ``ok`` otherwise.

Reference chunks have no shift: unit weights over the chunk's own rows (their
out-of-fold gap is realized minus estimated on that chunk), ``unseen_share``
0 and the whole reference sample as effective sample size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seismo._typing import TrustKind
from seismo.chunks.chunkers import MIN_RELIABLE_CHUNK_ROWS, Chunk
from seismo.engine.domain_fit import DomainFit, DomainFitCache, FeatureEncoder, cross_fit
from seismo.metrics.partials import ClassificationPartial, ConfusionSums, ScoreHistogram

UNSEEN = "unseen_share"
ESS = "effective_sample_size"
GAP = "calibration_gap"
TRUST = "trust"
REASON = "trust_reason"
TRUST_COLUMNS = (UNSEEN, ESS, GAP, TRUST, REASON)

UNSEEN_RATIO = 20.0
UNSEEN_LOW = 0.10
UNSEEN_NONE = 0.50
ESS_LOW_SHARE = 0.10
GAP_LOW = 2.0
GAP_NOISE = 1.0
#: a shifted chunk whose reference support (effective rows behind its calibration) is smaller than
#: the chunk itself is estimated less precisely than its band assumes
SUPPORT_LOW = 1.0
JACKKNIFE_GROUPS = 10
NOISE_Z = 3.0  # AUROC within this many null standard errors of 0.5: no shift learned

#: CBPE and DLE: the domain classifier only feeds diagnostics, so it is small and cheap
PROBE_ROWS = 5_000
PROBE_HYPERPARAMETERS = {
    "n_estimators": 50,
    "num_leaves": 15,
    "learning_rate": 0.1,
    "min_child_samples": 50,
    "n_jobs": 1,  # several threads spin-wait on small machines; samples are small anyway
    "verbose": -1,
}
DEFAULT_WEIGHT_CLIP = (0.05, 20.0)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``; NaN for no or all-zero weights."""
    w = np.asarray(weights, dtype=float)
    denominator = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / denominator) if denominator > 0 else float("nan")


def shift_within_noise(fit: DomainFit) -> bool:
    """True when the classifier's out-of-fold AUROC is within `NOISE_Z` null standard errors of 0.5.

    Under no shift the AUROC of ``n`` against ``m`` rows has standard error about
    ``sqrt((1/n + 1/m) / 12)`` (Hanley-McNeil at 0.5); below ``0.5 + 3`` of them
    the classifier has learned nothing but noise, and so have its weights.
    """
    n, m = len(fit.chunk_proba), len(fit.reference_proba)
    null_se = np.sqrt((1.0 / n + 1.0 / m) / 12.0)
    return not fit.auroc > 0.5 + NOISE_Z * null_se


@dataclass(frozen=True, eq=False)
class ChunkShift:
    """What one analysis chunk's domain classifier says: its fit and the reference sample's weights."""

    fit: DomainFit | None
    weights: np.ndarray
    reweighted: bool  # False: unit weights (no fit, or a shift within noise)


class DomainProbe:
    """A bounded reference sample, encoded, and the domain classifier run against each chunk.

    ``sample``: indices of the reference rows kept (at most ``max_rows``, drawn
    like `DomainClassifierDrift` draws its sample, so the two can share fits).
    Chunk rows are sampled the same way, seeded by the chunk's index.
    """

    def __init__(self, encoder: FeatureEncoder, sample: np.ndarray, x: np.ndarray, params: dict, n_splits: int,
                 max_rows: int, random_state: int, weight_clip: tuple[float, float] = DEFAULT_WEIGHT_CLIP):
        self.encoder = encoder
        self.sample = sample
        self.x = x
        self.params = params
        self.n_splits = n_splits
        self.max_rows = max_rows
        self.random_state = random_state
        self.weight_clip = weight_clip
        self.cache: DomainFitCache | None = None

    @staticmethod
    def draw(candidates: np.ndarray, max_rows: int, random_state: int) -> np.ndarray:
        """The reference sample: at most ``max_rows`` of ``candidates``, seeded as `DomainClassifierDrift`'s."""
        rng = np.random.default_rng([random_state, 3])
        return candidates if len(candidates) <= max_rows else np.sort(rng.choice(candidates, size=max_rows,
                                                                                 replace=False))

    def chunk_rows(self, chunk: Chunk) -> np.ndarray:
        rng = np.random.default_rng([self.random_state, 1, chunk.index])
        rows = np.arange(chunk.start, chunk.stop)
        return rows if len(rows) <= self.max_rows else np.sort(rng.choice(rows, size=self.max_rows, replace=False))

    def fit(self, x: np.ndarray, chunk: Chunk) -> DomainFit | None:
        """The cross-fitted classifier of the chunk's (sampled) rows of ``x`` against the reference sample."""
        current = x[self.chunk_rows(chunk)]
        args = (self.x, current, self.params, self.n_splits, self.encoder.categorical_indices or None,
                self.random_state)
        return self.cache.fit(*args) if self.cache is not None else cross_fit(*args)

    def shift(self, x: np.ndarray, chunk: Chunk, reweight_noise: bool = True) -> ChunkShift:
        """The chunk's fit and weights; unit weights when nothing was learned (``reweight_noise=False``:
        also when the shift is within noise)."""
        fit = self.fit(x, chunk)
        if fit is None or (not reweight_noise and shift_within_noise(fit)):
            return ChunkShift(fit, np.ones(len(self.sample)), False)
        return ChunkShift(fit, fit.reference_weights(self.weight_clip), True)


def calibration_gap(observed: np.ndarray, expected: np.ndarray, weights: np.ndarray, n_chunk: int,
                    kind: TrustKind) -> tuple[float, float]:
    """The weighted realized-minus-estimated gap in chunk sampling errors, and the part beyond its noise.

    Returns ``(gap / unit, sign(gap) · max(|gap| − GAP_NOISE · s_g, 0) / unit)``; NaN without rows.
    """
    ok = np.isfinite(observed) & np.isfinite(expected) & (weights > 0)
    if not ok.any() or n_chunk < 1:
        return float("nan"), float("nan")
    o, e, w = observed[ok], expected[ok], weights[ok]
    total = w.sum()
    d = o - e
    gap = float(np.sum(w * d) / total)
    noise = float(np.sqrt(np.sum(w * w * (d - gap) ** 2)) / total)
    if kind == "rate":
        rate = float(np.clip(np.sum(w * e) / total, 1e-3, 1 - 1e-3))
        unit = np.sqrt(rate * (1.0 - rate) / n_chunk)
    else:
        mean = np.sum(w * o) / total
        unit = np.sqrt(np.sum(w * (o - mean) ** 2) / total / n_chunk)
    if not unit > 0:
        return float("nan"), float("nan")
    beyond = np.sign(gap) * max(abs(gap) - GAP_NOISE * noise, 0.0)
    return float(gap / unit), float(beyond / unit)


def trust_verdict(unseen_share: float, ess_share: float, gap_beyond_noise: float,
                  what: str = "accuracy", *, support_rows: float = float("nan"),
                  n_chunk: float = float("nan")) -> tuple[str, str]:
    """``(trust, reason)`` by the rule in the module docstring; NaN diagnostics never trigger.

    ``what`` names the metric whose gap is ``gap_beyond_noise``; ``support_rows`` is the reference
    support of a shifted chunk (NaN when no shift was learned), compared with its ``n_chunk`` rows.
    """
    level, reasons = 0, []
    if unseen_share >= UNSEEN_NONE:
        level = 2
        reasons.append(f"{unseen_share:.0%} of the chunk's rows lie where the reference has almost no data")
    elif unseen_share >= UNSEEN_LOW:
        level = 1
        reasons.append(f"{unseen_share:.0%} of the chunk's rows lie where the reference has almost no data")
    if ess_share < ESS_LOW_SHARE:
        level = max(level, 1)
        reasons.append(f"only {ess_share:.0%} of the reference sample resembles the chunk "
                       f"(effective sample size)")
    if support_rows < SUPPORT_LOW * n_chunk:
        level = max(level, 1)
        reasons.append(f"only {support_rows:,.0f} reference rows (effective) resemble the chunk's {n_chunk:,.0f}: "
                       f"the calibration there is known less precisely than the band assumes")
    if abs(gap_beyond_noise) >= GAP_LOW:
        level = max(level, 1)
        side = "over" if gap_beyond_noise < 0 else "under"
        reasons.append(f"on reference rows like the chunk's, the estimate {side}states realized {what} by "
                       f"{abs(gap_beyond_noise):.1f} sampling errors beyond noise (out of fold)")
    return ("ok", "low", "none")[level], "; ".join(reasons)


def with_size_verdict(values: dict, n_chunk: int, smallest_reference_chunk: int) -> dict:
    """``values`` (one chunk's diagnostics) with the verdict lowered where the chunk sizes make it moot.

    The rule of `trust_verdict` judges the calibration; this judges the rows behind the numbers:

    * ``none`` for a chunk without rows (an empty calendar period): there is nothing to estimate;
    * ``low`` for a chunk under `MIN_RELIABLE_CHUNK_ROWS` rows: its estimate and band rest on a
      normal approximation that so few rows do not support;
    * ``low`` when any reference chunk is that small: the thresholds and sampling errors were
      learned from chunks that are mostly noise (a 15-row reference cut into ten chunks alerted
      on every analysis chunk with trust ``ok``).

    Diagnostics switched off (verdict None) stay off.
    """
    trust, reason = values.get((None, TRUST)), values.get((None, REASON)) or ""
    if trust is None:
        return values
    level = ("ok", "low", "none").index(trust)
    reasons = [reason] if reason else []
    if n_chunk == 0:
        level = 2
        reasons.append("the chunk has no rows")
    elif n_chunk < MIN_RELIABLE_CHUNK_ROWS:
        level = max(level, 1)
        reasons.append(f"the chunk has only {n_chunk} rows (fewer than {MIN_RELIABLE_CHUNK_ROWS})")
    if smallest_reference_chunk < MIN_RELIABLE_CHUNK_ROWS:
        level = max(level, 1)
        reasons.append(f"thresholds and sampling errors were learned from reference chunks of as few as "
                       f"{smallest_reference_chunk} rows (fewer than {MIN_RELIABLE_CHUNK_ROWS})")
    return {**values, (None, TRUST): ("ok", "low", "none")[level], (None, REASON): "; ".join(reasons)}


def with_missing_features(values: dict, missing: list[str]) -> dict:
    """``values`` lowered to at least ``low`` when features the diagnostics learned from are absent
    from the analysis data: the support of the chunk was not checked, so ``ok`` would claim
    evidence that was never seen (a large shift in a dropped column read as trust ``ok``)."""
    trust = values.get((None, TRUST))
    if trust is None or not missing:
        return values
    shown = ", ".join(repr(c) for c in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    reason = (f"{len(missing)} feature(s) missing from the analysis data ({shown}): the chunk's support in the "
              "reference was not checked")
    old = values.get((None, REASON)) or ""
    return {**values, (None, TRUST): "none" if trust == "none" else "low",
            (None, REASON): f"{old}; {reason}" if old else reason}


def _grouped_sums(y: np.ndarray, y_pred: np.ndarray, bins: np.ndarray, n_bins: np.ndarray, scored: tuple[int, ...],
                  w: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted confusion sums (G, C, C) and score histograms (G, S, W) of soft labels ``y``, per row group."""
    n_classes = y.shape[1]
    cell = group * n_classes + y_pred
    matrix = np.stack([np.bincount(cell, weights=w * y[:, i], minlength=n_groups * n_classes)
                       for i in range(n_classes)], axis=1).reshape(n_groups, n_classes, n_classes)
    # matrix[g, pred, true] -> [g, true, pred], as ConfusionSums stores it
    matrix = matrix.transpose(0, 2, 1)
    n_scored, width = len(scored), int(n_bins.max())
    flat = (group[:, None] * n_scored * width + np.arange(n_scored)[None, :] * width + bins).ravel()
    ys = y[:, list(scored)]
    size = n_groups * n_scored * width
    pos = np.bincount(flat, weights=(w[:, None] * ys).ravel(), minlength=size).reshape(n_groups, n_scored, width)
    neg = np.bincount(flat, weights=(w[:, None] * (1.0 - ys)).ravel(), minlength=size).reshape(n_groups, n_scored,
                                                                                                 width)
    return matrix, pos, neg


class MetricGaps:
    """Every reported classification metric, realized against estimated, on weighted reference rows.

    Per reference row: ``labels`` (class index, -1 unlabelled), ``y_pred`` (-1 missing), ``soft``
    (the estimator's out-of-fold calibrated probabilities, (n, C)) and ``score_bins`` (the realized
    tracker's fine bins of the raw scores). `gaps` builds the weighted partial of the labels and
    of ``soft`` over the given rows (weights rescaled to the chunk's row count, so sums such as
    business value are on the chunk's scale) and finishes both with ``finish``, the metric code
    of the estimate itself. The gap's noise is a grouped jackknife over `JACKKNIFE_GROUPS` groups of
    rows. Units are each metric's sampling error at the chunk's size, from the realized tracker's
    fitted noise model (``realized``). Both ``tracker`` and ``realized`` are seismo objects, not
    closures, so a saved monitor keeps them without pickle.

    This replaces one accuracy-only gap: in a multiclass problem a chunk's ROC AUC or F1 can be
    several sampling errors off while accuracy is not, because per-class calibration can fail in
    the chunk's region where the predicted class's does not.
    """

    def __init__(self, labels: np.ndarray, y_pred: np.ndarray, soft: np.ndarray, score_bins: np.ndarray,
                 n_bins: list[int], scored: tuple[int, ...], tracker: Any, realized: Any):
        self.labels = labels
        self.y_pred = y_pred
        self.soft = soft
        self.score_bins = score_bins.reshape(len(labels), -1)
        self.n_bins = np.asarray(n_bins, dtype=np.int64).ravel()
        self.scored = tuple(int(c) for c in scored)
        self.tracker = tracker  # its ``finish`` is the metric code of the estimate itself
        self.realized = realized  # the realized tracker's FittedTracker: each metric's sampling error

    def finish(self, part: ClassificationPartial) -> dict:
        return self.tracker.finish(part)

    def sampling_errors(self, n: float) -> dict[str, float]:
        return {name: float(m.scale.sampling_error(m.unit_std, n, self.realized.reference_rows))
                for name, m in self.realized.metrics.items()}

    def _partial(self, matrix: np.ndarray, pos: np.ndarray, neg: np.ndarray, n: int) -> ClassificationPartial:
        return ClassificationPartial(ConfusionSums(matrix), ScoreHistogram(pos, neg, self.n_bins), n, self.scored)

    def _values(self, sums: tuple[np.ndarray, np.ndarray, np.ndarray], n: int) -> tuple[dict, list[dict]]:
        """Metrics of all groups together and of each leave-one-group-out partial."""
        matrix, pos, neg = sums
        total = (matrix.sum(axis=0), pos.sum(axis=0), neg.sum(axis=0))
        whole = self.finish(self._partial(*total, n))
        left_out = [self.finish(self._partial(total[0] - matrix[g], total[1] - pos[g], total[2] - neg[g], n))
                    for g in range(len(matrix))]
        return whole, left_out

    def gaps(self, rows: np.ndarray, weights: np.ndarray, n_chunk: int,
             soft: np.ndarray | None = None) -> dict[str, tuple[float, float]]:
        """``metric -> (gap, gap beyond GAP_NOISE jackknife errors)`` in chunk sampling errors (realized − estimated).

        ``soft`` overrides the estimates of ``rows`` (PAPE: its chunk's out-of-fold weighted map).
        """
        rows = np.asarray(rows)
        q = self.soft[rows] if soft is None else np.asarray(soft, dtype=float)
        w = np.asarray(weights, dtype=float)
        keep = (self.labels[rows] >= 0) & (self.y_pred[rows] >= 0) & (w > 0) & np.isfinite(q).all(axis=1)
        n_groups = JACKKNIFE_GROUPS
        if keep.sum() < 2 * n_groups or n_chunk < 1:
            return {}
        r, q, w = rows[keep], q[keep], w[keep]
        w = w * (n_chunk / w.sum())
        group = np.arange(len(r)) % n_groups
        args = (self.y_pred[r], self.score_bins[r], self.n_bins, self.scored, w, group, n_groups)
        onehot = np.eye(q.shape[1])[self.labels[r]]
        real, real_out = self._values(_grouped_sums(onehot, *args), int(n_chunk))
        est, est_out = self._values(_grouped_sums(q, *args), int(n_chunk))
        out = {}
        for name, se in self.sampling_errors(n_chunk).items():
            gap = real.get(name, np.nan) - est.get(name, np.nan)
            loo = np.array([a.get(name, np.nan) - b.get(name, np.nan) for a, b in zip(real_out, est_out)])
            if not (np.isfinite(gap) and np.isfinite(loo).all() and se > 0):
                continue
            noise = float(np.sqrt((n_groups - 1) / n_groups * np.sum((loo - loo.mean()) ** 2)))
            beyond = np.sign(gap) * max(abs(gap) - GAP_NOISE * noise, 0.0)
            out[name] = (float(gap / se), float(beyond / se))
        return out


def worst_gap(gaps: dict[str, tuple[float, float]]) -> tuple[str, float, float]:
    """The metric whose gap is largest beyond noise (then largest): ``(name, gap, beyond)``; NaN if none."""
    if not gaps:
        return "", float("nan"), float("nan")
    name = max(gaps, key=lambda k: (abs(gaps[k][1]), abs(gaps[k][0])))
    return name, gaps[name][0], gaps[name][1]


class TrustModel:
    """Everything an estimator needs to report trust diagnostics per chunk.

    ``observed``/``expected``: per reference row, the realized and the out-of-fold
    estimated quantity whose gap is the calibration gap (NaN where unlabelled);
    ``kind``: ``"rate"`` (classification: P(correct)) or ``"loss"`` (regression).
    ``metric_gaps`` (classification): when given, the gap is taken per reported metric
    (`MetricGaps`) and the worst one is reported; ``observed``/``expected`` then only
    serve DLE-style single gaps. ``calibration_rows``: how many labelled reference rows
    the estimate's calibration was fitted on (the support of a shifted chunk is that
    many times its share of effective rows). ``probe`` is None when there are no
    feature columns: then only the gap is reported, with unit weights over the whole reference.
    """

    def __init__(self, observed: np.ndarray, expected: np.ndarray, kind: TrustKind,
                 probe: DomainProbe | None, what: str, metric_gaps: MetricGaps | None = None,
                 calibration_rows: float = float("nan")):
        self.observed = observed
        self.expected = expected
        self.kind = kind
        self.probe = probe
        self.what = what
        self.metric_gaps = metric_gaps
        self.calibration_rows = calibration_rows

    @property
    def sample_size(self) -> float:
        return float(len(self.probe.sample)) if self.probe is not None else float("nan")

    def _values(self, unseen: float, ess: float, gap: tuple[str, float, float], n_chunk: float,
                support: float = float("nan")) -> dict:
        ess_share = ess / self.sample_size if self.probe is not None else float("nan")
        what, gap_se, beyond = gap
        trust, reason = trust_verdict(unseen, ess_share, beyond, what or self.what, support_rows=support,
                                      n_chunk=n_chunk)
        return {(None, UNSEEN): unseen, (None, ESS): ess, (None, GAP): gap_se, (None, TRUST): trust,
                (None, REASON): reason}

    def _gap(self, rows: np.ndarray, weights: np.ndarray, n_chunk: int,
             expected: np.ndarray | None = None) -> tuple[str, float, float]:
        if self.metric_gaps is not None:
            return worst_gap(self.metric_gaps.gaps(rows, weights, n_chunk, expected))
        e = self.expected[rows] if expected is None else expected
        return ("", *calibration_gap(self.observed[rows], e, weights, n_chunk, self.kind))

    def reference_values(self, chunk: Chunk) -> dict:
        rows = np.arange(chunk.start, chunk.stop)
        gap = self._gap(rows, np.ones(len(rows)), chunk.size)
        unseen = 0.0 if self.probe is not None else float("nan")
        return self._values(unseen, self.sample_size, gap, chunk.size)

    def analysis_values(self, shift: ChunkShift | None, n_chunk: int, expected: np.ndarray | None = None) -> dict:
        """Diagnostics of an analysis chunk; ``expected`` overrides the sample rows' estimates (PAPE,
        which then calibrates on its sample alone: the sample is the support of its estimate)."""
        if shift is None or self.probe is None:
            rows = np.arange(len(self.observed))
            return self._values(float("nan"), float("nan"), self._gap(rows, np.ones(len(rows)), n_chunk), n_chunk)
        sample = self.probe.sample
        # judged under the chunk's density ratio even where the estimate itself did not reweight
        weights = shift.fit.reference_weights(self.probe.weight_clip) if shift.fit is not None else shift.weights
        gap = self._gap(sample, weights, n_chunk, expected)
        ess = effective_sample_size(weights)
        unseen, support = float("nan"), float("nan")
        if shift.fit is not None:
            unseen = float(np.mean(shift.fit.chunk_ratios() >= UNSEEN_RATIO))
            if not shift_within_noise(shift.fit):
                support = ess if expected is not None else ess / self.sample_size * self.calibration_rows
        return self._values(unseen, ess, gap, n_chunk, support)


def empty_values() -> dict:
    """Diagnostics switched off: NaN numbers, no verdict."""
    return {(None, UNSEEN): float("nan"), (None, ESS): float("nan"), (None, GAP): float("nan"),
            (None, TRUST): None, (None, REASON): "trust diagnostics off"}
