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
  calibration gap exceeds 2 sampling errors *beyond twice its own standard
  error* ``s_g = sqrt(Σ w² (d − g)²) / Σ w`` (``d`` the row gaps), so a gap that
  is only reference noise never flags.
* ``ok`` otherwise.

Reference chunks have no shift: unit weights over the chunk's own rows (their
out-of-fold gap is realized minus estimated on that chunk), ``unseen_share``
0 and the whole reference sample as effective sample size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..chunking import Chunk
from ..drift.domain_fit import DomainFit, DomainFitCache, FeatureEncoder, cross_fit

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
GAP_NOISE = 2.0
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
                    kind: Literal["rate", "loss"]) -> tuple[float, float]:
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
                  what: str = "accuracy") -> tuple[str, str]:
    """``(trust, reason)`` by the rule in the module docstring; NaN diagnostics never trigger."""
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
    if abs(gap_beyond_noise) >= GAP_LOW:
        level = max(level, 1)
        side = "over" if gap_beyond_noise < 0 else "under"
        reasons.append(f"on reference rows like the chunk's, the estimate {side}states realized {what} by "
                       f"{abs(gap_beyond_noise):.1f} sampling errors beyond noise (out of fold)")
    return ("ok", "low", "none")[level], "; ".join(reasons)


class TrustModel:
    """Everything an estimator needs to report trust diagnostics per chunk.

    ``observed``/``expected``: per reference row, the realized and the out-of-fold
    estimated quantity whose gap is the calibration gap (NaN where unlabelled);
    ``kind``: ``"rate"`` (classification: P(correct)) or ``"loss"`` (regression).
    ``probe`` is None when there are no feature columns: then only the gap is
    reported, with unit weights over the whole reference.
    """

    def __init__(self, observed: np.ndarray, expected: np.ndarray, kind: Literal["rate", "loss"],
                 probe: DomainProbe | None, what: str):
        self.observed = observed
        self.expected = expected
        self.kind = kind
        self.probe = probe
        self.what = what

    @property
    def sample_size(self) -> float:
        return float(len(self.probe.sample)) if self.probe is not None else float("nan")

    def _values(self, unseen: float, ess: float, gap: tuple[float, float]) -> dict:
        ess_share = ess / self.sample_size if self.probe is not None else float("nan")
        trust, reason = trust_verdict(unseen, ess_share, gap[1], self.what)
        return {(None, UNSEEN): unseen, (None, ESS): ess, (None, GAP): gap[0], (None, TRUST): trust,
                (None, REASON): reason}

    def reference_values(self, chunk: Chunk) -> dict:
        rows = chunk.rows
        o, e = self.observed[rows], self.expected[rows]
        gap = calibration_gap(o, e, np.ones(len(o)), chunk.size, self.kind)
        unseen = 0.0 if self.probe is not None else float("nan")
        return self._values(unseen, self.sample_size, gap)

    def analysis_values(self, shift: ChunkShift | None, n_chunk: int, expected: np.ndarray | None = None) -> dict:
        """Diagnostics of an analysis chunk; ``expected`` overrides the sample rows' estimates (PAPE)."""
        if shift is None or self.probe is None:
            gap = calibration_gap(self.observed, self.expected, np.ones(len(self.observed)), n_chunk, self.kind)
            return self._values(float("nan"), float("nan"), gap)
        sample = self.probe.sample
        e = self.expected[sample] if expected is None else expected
        # judged under the chunk's density ratio even where the estimate itself did not reweight
        weights = shift.fit.reference_weights(self.probe.weight_clip) if shift.fit is not None else shift.weights
        gap = calibration_gap(self.observed[sample], e, weights, n_chunk, self.kind)
        unseen = float("nan") if shift.fit is None else float(np.mean(shift.fit.chunk_ratios() >= UNSEEN_RATIO))
        return self._values(unseen, effective_sample_size(weights), gap)


def empty_values() -> dict:
    """Diagnostics switched off: NaN numbers, no verdict."""
    return {(None, UNSEEN): float("nan"), (None, ESS): float("nan"), (None, GAP): float("nan"),
            (None, TRUST): None, (None, REASON): "trust diagnostics off"}
