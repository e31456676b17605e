"""Label-free segment discovery: which rows explain a chunk's fall in performance.

An alert says *that* a chunk's (estimated) performance fell; the next question is *where*.
This module answers it with a short list of readable rules ("region == 'east' and
x <= 0.0012") that carry most of the change, or an empty frame when no rule stands out of
the noise, so that a stationary chunk does not get a made-up culprit.

Per-row losses
--------------
Every row gets a loss ℓ, the one number whose mean is the monitored performance:

* classification (`seismo.CBPE`, `seismo.PAPE`): ℓ = 1 − P(the predicted class is right).
  Label-free, P comes from the estimator's *calibrated* probabilities, the very soft labels
  its estimate is built from (PAPE: calibrated for the chunk, reweighted like its estimate
  of a chunk holding all the rows). Reference rows use the out-of-fold calibration the
  estimator uses for its own reference estimates, so the reference is not flattered (an
  in-sample calibration would make the reference look better calibrated, and every segment
  look worse in the chunk). With labels, ℓ = 1[y_pred ≠ y_true]. The mean of ℓ is one
  minus the accuracy.
* regression (`seismo.DLE`): ℓ is the per-row loss of one metric (default the estimator's
  first; mae: the absolute error, rmse: the squared error), as DLE's loss model predicts it
  (reference: its out-of-fold predictions), or with labels the realized loss.

`row_losses` reads them from a fitted estimator through its public tracker
(``fitted_tracker_.tracker``); nothing is refitted.

Candidate rules
---------------
A simple set that a demanding user can read: for a categorical column ``col == value`` for
each value with at least `MIN_ROWS` rows (in the reference or the chunk); for a continuous
column, the reference's deciles (rounded to 4 significant digits, so the rule's text *is*
its mask) and every range of adjacent decile bins, ``col <= q``, ``col > q`` or
``a < col <= b``; missing values are their own value, ``col is missing``. Pairs are the
conjunctions of the best single rule (by z) of each of the `TOP_SINGLES` best columns.

Contribution
------------
For a rule S with row shares w and mean losses L in the chunk (c) and the reference (r),
and L_r the reference's mean loss,

    contribution(S) = w_c,S·(L_c,S − L_r) − w_r,S·(L_r,S − L_r)

= (1/n_c)·Σ_c 1_S·(ℓ − L_r) − (1/n_r)·Σ_r 1_S·(ℓ − L_r). It is additive over disjoint rules,
so contribution(S) + contribution(not S) = L_c − L_r, the whole change, and it counts a
segment that got worse (first term) as well as a poor segment that grew, or a good one that
shrank (both terms). Its standard error is the delta method's, rows independent, in both
periods (L_r is itself a reference mean): the chunk's rows add 1_S·(ℓ − L_r), the
reference's −1_S·(ℓ − L_r) + (w_r,S − w_c,S)·ℓ, each period's variance over its row count.

Which rules are reported
------------------------
* z = contribution / SE must exceed the one-sided normal bound at ``family_rate`` divided
  by the number of candidate rules (Bonferroni: over a stationary chunk, all candidates
  together name a culprit with probability at most ``family_rate``), and when the chunk's
  loss rose, the rule must explain at least `MIN_SHARE_OF_CHANGE` of the rise.
* The rule must also explain more than its share of the rows would by chance: its excess,
  contribution − w_c,S·(L_c − L_r), must pass the same bound. Without this, when the whole
  chunk got worse, any large rule (``1.01 < w <= 9.021`` of a noise column, 80% of the
  rows) carries 80% of the change with a large z and is reported as a culprit; with it, a
  change spread evenly over the rows gets no culprit, which is the honest answer.
* A pair must lose nothing beyond noise to either of its single rules: for each single S,
  either the pair beats S by more than noise (the rows of S outside the pair contribute
  significantly *less* than zero: S was diluted by rows that improved), or those rows
  contribute nothing significant (z below `NOISE_Z`) and less than a tenth of S's
  contribution, so the pair says what S says with fewer rows. The second half is an
  addition to "beat both by more than noise": contribution is additive, so a pair inside a
  single can only beat it when the single's other rows improved, and a culprit that is
  exactly ``region == 'east' and x <= 0`` would otherwise be reported as the two single rules.
* Rules are taken in order of z (among rules explaining about the same change, the more
  concentrated one is the sharper answer); one whose rows overlap a taken rule by more than
  `OVERLAP` (of the smaller of the two, rows of both periods) is dropped, unless it is the
  taken rule's refinement in the sense above (then it takes that rule's place). A later rule
  must pass the bound again on its rows outside the rules already taken, so it says something
  they do not. At most ``max_rules`` are returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.stats import norm

from seismo._typing import ColumnKind, DataLike
from seismo.chunks.chunkers import Chunk
from seismo.data.columns import Roles, build_schema
from seismo.data.features import infer_features
from seismo.data.frame import Frame, load_frame
from seismo.data.io import datetime_values, read_schema
from seismo.errors import InvalidConfiguration
from seismo.metrics.registry import metric_loss
from seismo.performance.cbpe import CBPE, CBPETracker, expected_correct
from seismo.performance.dle import DLE, DLETracker
from seismo.performance.loss_model import row_losses as realized_row_losses
from seismo.performance.model import class_index, regression_values
from seismo.performance.pape import PAPETracker

__all__ = ["COLUMNS", "discover_segments", "row_losses", "segment_contributions"]

COLUMNS = ["rule", "share_reference", "share_chunk", "performance_reference", "performance_chunk",
           "contribution", "share_of_change", "z"]
MIN_ROWS = 30  # a candidate rule holds at least this many rows in the reference or the chunk
MAX_VALUES = 50  # most frequent values of a categorical column that become rules
N_BINS = 10  # deciles
TOP_SINGLES = 10  # single rules whose pairs are candidates
MIN_SHARE_OF_CHANGE = 0.10
NOISE_Z = 2.0  # "beyond noise" when comparing a pair with its single rules
REFINE_KEEP = 0.9  # a refinement keeps at least this share of the wider rule's contribution
OVERLAP = 0.8
ROUND_DIGITS = 4
PAPE_REWEIGHT_NOISE = False  # PAPE keeps CBPE's calibration for a shift within noise (as its estimate does)


@dataclass(frozen=True)
class Condition:
    """One column's condition: ``==`` a value, ``<=``/``>`` a bound, a range ``(a, b]``, or missing."""

    column: str
    op: str  # "==", "<=", ">", "range", "missing"
    value: Any = None
    upper: float | None = None

    @property
    def text(self) -> str:
        if self.op == "missing":
            return f"{self.column} is missing"
        if self.op == "range":
            assert self.upper is not None  # a range has both bounds
            return f"{_num(self.value)} < {self.column} <= {_num(self.upper)}"
        if self.op == "==":
            return f"{self.column} == {self.value!r}"
        return f"{self.column} {self.op} {_num(self.value)}"

    def mask(self, values: np.ndarray) -> np.ndarray:
        """Rows meeting the condition; ``values`` are floats (NaN missing) or objects (None missing)."""
        if self.op == "missing":
            return _missing(values)
        if self.op == "==":
            return np.asarray(values == self.value, dtype=bool)
        if self.op == "<=":
            return values <= self.value
        if self.op == ">":
            return values > self.value
        return (values > self.value) & (values <= self.upper)


def _num(value: float) -> str:
    return f"{value:.{ROUND_DIGITS}g}"


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.asarray(pd.isna(values), dtype=bool)


@dataclass
class Rule:
    conditions: tuple[Condition, ...]
    reference: np.ndarray  # mask over the reference rows
    chunk: np.ndarray  # mask over the chunk rows

    @property
    def text(self) -> str:
        return " and ".join(c.text for c in self.conditions)

    @property
    def columns(self) -> set[str]:
        return {c.column for c in self.conditions}

    def rows(self) -> int:
        return int(self.reference.sum() + self.chunk.sum())


# -- per-row losses ------------------------------------------------------------------------------


def _check_estimator(estimator: Any) -> None:
    if not isinstance(estimator, (CBPE, DLE)):
        raise InvalidConfiguration(f"segment discovery reads a fitted seismo.CBPE, PAPE or DLE; got "
                                   f"{type(estimator).__name__}")
    if not getattr(estimator, "fitted_", False):
        raise InvalidConfiguration(f"this {type(estimator).__name__} is not fitted: call .fit(reference) first")


def _needed_columns(estimator: Any, realized: bool) -> list[str]:
    """The model columns a loss of this kind reads."""
    tracker = estimator.fitted_tracker_.tracker
    needed = [estimator.y_pred]
    if realized:
        needed.append(estimator.y_true)
    elif isinstance(tracker, CBPETracker):
        needed.extend(tracker.spec.proba_columns)
        if isinstance(tracker, PAPETracker):
            needed.extend(tracker.probe.encoder.schema.names)
    else:
        needed.extend(tracker.features)
    if estimator.timestamp is not None:
        needed.append(estimator.timestamp)
    return list(dict.fromkeys(needed))


def _as_frame(estimator: Any, data: Any, columns: list[str], where: str) -> Frame:
    if isinstance(data, Frame):
        missing = [c for c in columns if c not in data.columns]
    else:
        present = set(read_schema(data, where).names)
        missing = [c for c in columns if c not in present]
    if missing:
        raise InvalidConfiguration(f"the {where} data lacks the model's columns {missing} that "
                                   f"{type(estimator).__name__}'s row losses read")
    if isinstance(data, Frame):
        return data
    return load_frame(data, columns, None, where)  # rows stay in the order given


def _reference_order(estimator: Any, frame: Frame) -> np.ndarray | None:
    """Positions of ``frame``'s rows in time order: the order the estimator's reference arrays are in."""
    if estimator.timestamp is None:
        return None
    stamps = datetime_values(frame.column(estimator.timestamp), estimator.timestamp, estimator.timestamp_format)
    return np.argsort(stamps, kind="stable")


def _in_given_order(estimator: Any, frame: Frame, fitted: np.ndarray) -> np.ndarray:
    """The estimator's per-reference-row array (time order) back in ``frame``'s row order."""
    if len(fitted) != frame.n_rows:
        raise InvalidConfiguration(
            f"the estimator holds out-of-fold values for {len(fitted)} reference rows, the reference given has "
            f"{frame.n_rows}: pass the reference the estimator was fitted on (a streamed fit keeps a sample "
            "only; use realized=True there)")
    order = _reference_order(estimator, frame)
    if order is None:
        return np.asarray(fitted, dtype=float)
    out = np.empty(len(fitted))
    out[order] = fitted
    return out


def row_losses(estimator: Any, frame_or_dataframe: Any, *, reference: bool = False, realized: bool = False,
               metric: str | None = None) -> np.ndarray:
    """Each row's loss under a fitted `CBPE`/`PAPE` (1 − P(predicted class right)) or `DLE` (one metric's
    per-row loss), in the rows' given order; NaN where ``realized`` and the label is missing.

    ``reference=True``: the rows are the reference the estimator was fitted on, and get its out-of-fold
    values. ``realized=True``: the true loss from ``y_true`` instead of the estimate. ``metric``: DLE's
    metric (default its first).
    """
    _check_estimator(estimator)
    tracker = estimator.fitted_tracker_.tracker
    where = "reference" if reference else "analysis"
    frame = _as_frame(estimator, frame_or_dataframe, _needed_columns(estimator, realized), where)
    if isinstance(tracker, CBPETracker):
        if metric is not None:
            raise InvalidConfiguration("metric= picks a DLE's regression loss; a classifier's row loss is "
                                       "1 − P(the predicted class is right)")
        return _classification_losses(estimator, tracker, frame, reference, realized)
    assert isinstance(tracker, DLETracker)
    metrics = list(estimator.metrics_)
    name = metric or metrics[0]
    if name not in metrics:
        raise InvalidConfiguration(f"metric {name!r} is not one of the estimator's metrics {metrics}")
    loss = metric_loss(name).name
    if realized:
        y_true = frame.floats(estimator.y_true)
        y_pred = regression_values(frame, estimator.y_pred, "y_pred", allow_missing=False)
        out = np.full(frame.n_rows, np.nan)
        ok = np.isfinite(y_true)
        out[ok] = realized_row_losses(y_true[ok], y_pred[ok], losses=[loss])[loss]
        return out
    if reference:
        return _in_given_order(estimator, frame, tracker.encode_reference(frame)[loss])
    return np.asarray(tracker.encode(frame)[loss], dtype=float)


def _classification_losses(estimator: Any, tracker: CBPETracker, frame: Frame, reference: bool,
                           realized: bool) -> np.ndarray:
    y_pred = class_index(frame, estimator.y_pred, tracker.spec, "y_pred", allow_missing=False)
    if realized:
        labels = class_index(frame, estimator.y_true, tracker.spec, "y_true", allow_missing=True)
        return np.where(labels >= 0, (labels != y_pred).astype(float), np.nan)
    if reference:
        order = _reference_order(estimator, frame)
        pred_fitted = y_pred if order is None else y_pred[order]
        calibrated = tracker.reference_calibrated
        if len(calibrated) != frame.n_rows:
            _in_given_order(estimator, frame, calibrated)  # raises, saying why
        correct = expected_correct(calibrated, pred_fitted)
        return 1.0 - _in_given_order(estimator, frame, correct)
    if isinstance(tracker, PAPETracker):
        enc = tracker.encode(frame)
        whole = Chunk(0, "0", 0, frame.n_rows)
        shift = tracker.probe.shift(enc["x"], whole, reweight_noise=PAPE_REWEIGHT_NOISE)
        return 1.0 - expected_correct(tracker.calibrate(enc["scores"], shift), y_pred)
    return 1.0 - expected_correct(tracker.encode(frame)["soft"], y_pred)


# -- contributions -------------------------------------------------------------------------------


@dataclass
class Contributions:
    """Per rule: contribution and its standard error, the excess over an even spread of the change and
    its standard error, shares and mean losses in both periods."""

    contribution: np.ndarray
    se: np.ndarray
    excess: np.ndarray
    excess_se: np.ndarray
    share_reference: np.ndarray
    share_chunk: np.ndarray
    loss_reference: np.ndarray
    loss_chunk: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return _ratio(self.contribution, self.se)

    @property
    def excess_z(self) -> np.ndarray:
        return _ratio(self.excess, self.excess_se)

    def join(self, other: "Contributions") -> "Contributions":
        return Contributions(*(np.concatenate([getattr(self, f), getattr(other, f)]) for f in _FIELDS))


_FIELDS = ("contribution", "se", "excess", "excess_se", "share_reference", "share_chunk", "loss_reference",
           "loss_chunk")


def _ratio(value: np.ndarray, se: np.ndarray) -> np.ndarray:
    return np.where(se > 0, value / np.where(se > 0, se, 1.0), 0.0)


def _variance(sums: np.ndarray, squares: np.ndarray, n: int) -> np.ndarray:
    """Sample variance of per-row values from their sum and sum of squares (never negative)."""
    return np.maximum((squares - sums**2 / n) / max(n - 1, 1), 0.0)


def segment_contributions(masks_reference: np.ndarray, masks_chunk: np.ndarray, loss_reference: np.ndarray,
                          loss_chunk: np.ndarray) -> Contributions:
    """Contribution and delta-method standard error of each rule (rows of the (k, n) boolean masks).

    Losses must be finite. Every statistic is a sum over rows, computed for all rules at once by
    matrix-vector products. Per row, the influence on the contribution is 1_S·(ℓ − L_r) in the chunk
    and −1_S·(ℓ − L_r) + (w_r − w_c)·ℓ in the reference; on the excess, contribution − w_c·(L_c − L_r),
    it is 1_S·(ℓ − L_c) − w_c·ℓ in the chunk and −1_S·(ℓ − L_r) + w_r·ℓ in the reference.
    """
    mr = np.atleast_2d(masks_reference).astype(float)
    mc = np.atleast_2d(masks_chunk).astype(float)
    lr, lc = loss_reference, loss_chunk
    n_r, n_c = len(lr), len(lc)
    level, level_c = float(lr.mean()), float(lc.mean())
    dr, dc = lr - level, lc - level
    w_r, w_c = mr.sum(axis=1) / n_r, mc.sum(axis=1) / n_c
    sum_c, sum_r = mc @ dc, mr @ dr
    contribution = sum_c / n_c - sum_r / n_r
    excess = contribution - w_c * (level_c - level)
    s_l, s_ll = float(lr.sum()), float(lr @ lr)
    sr_d2, sr_dl = mr @ (dr * dr), mr @ (dr * lr)

    def reference_variance(coef: np.ndarray) -> np.ndarray:  # of −1_S·d + coef·ℓ
        return _variance(-sum_r + coef * s_l, sr_d2 - 2 * coef * sr_dl + coef**2 * s_ll, n_r)

    var_c = _variance(sum_c, mc @ (dc * dc), n_c)
    se = np.sqrt(var_c / n_c + reference_variance(w_r - w_c) / n_r)
    ec = lc - level_c  # chunk influence on the excess: 1_S·ec − w_c·ℓ
    sc_e, sc_ee, sc_el = mc @ ec, mc @ (ec * ec), mc @ (ec * lc)
    lc_sum, lc_sq = float(lc.sum()), float(lc @ lc)
    var_ec = _variance(sc_e - w_c * lc_sum, sc_ee - 2 * w_c * sc_el + w_c**2 * lc_sq, n_c)
    excess_se = np.sqrt(var_ec / n_c + reference_variance(w_r) / n_r)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss_r = np.where(w_r > 0, (mr @ lr) / (w_r * n_r), np.nan)
        loss_c = np.where(w_c > 0, (mc @ lc) / (w_c * n_c), np.nan)
    return Contributions(contribution, se, excess, excess_se, w_r, w_c, loss_r, loss_c)


# -- candidate rules -----------------------------------------------------------------------------


def _column_values(frame: Frame, name: str, kind: str) -> np.ndarray:
    if kind == "categorical":
        return np.asarray(frame.strings(name).to_pandas(), dtype=object)
    return frame.floats(name)


def _single_conditions(name: str, kind: str, reference: np.ndarray, chunk: np.ndarray) -> list[Condition]:
    conditions: list[Condition] = []
    if _missing(reference).any() or _missing(chunk).any():
        conditions.append(Condition(name, "missing"))
    if kind == "categorical":
        counts = pd.concat([pd.Series(reference), pd.Series(chunk)]).value_counts(dropna=True)
        conditions += [Condition(name, "==", value) for value in counts.index[:MAX_VALUES]]
        return conditions
    finite = reference[np.isfinite(reference)]
    if finite.size == 0:
        return conditions
    edges = np.quantile(finite, np.arange(1, N_BINS) / N_BINS)
    edges = np.unique([float(f"{e:.{ROUND_DIGITS}g}") for e in edges])
    edges = edges[(edges >= finite.min()) & (edges < finite.max())]
    for j, edge in enumerate(edges):
        conditions.append(Condition(name, "<=", float(edge)))
        conditions.append(Condition(name, ">", float(edge)))
        conditions += [Condition(name, "range", float(edges[i]), float(edge)) for i in range(j)]
    return conditions


def candidate_rules(reference: dict[str, np.ndarray], chunk: dict[str, np.ndarray],
                    kinds: Mapping[str, str]) -> list[Rule]:
    """Single-condition rules with at least `MIN_ROWS` rows in the reference or the chunk."""
    rules = []
    for name, kind in kinds.items():
        for condition in _single_conditions(name, kind, reference[name], chunk[name]):
            rule = Rule((condition,), condition.mask(reference[name]), condition.mask(chunk[name]))
            if max(rule.reference.sum(), rule.chunk.sum()) >= MIN_ROWS:
                rules.append(rule)
    return rules


def _pairs(singles: list[Rule], z: np.ndarray, columns: list[str]) -> list[tuple[Rule, Rule, Rule]]:
    """Conjunctions of the best single rules on different columns, conditions in ``columns``' order.

    "Best" is by z, one rule per column: when a whole population explains the drop, every range of
    a column that tracks it carries about the same contribution, and ranking by contribution alone
    would fill the top with ranges of one or two columns and never pair the columns that name the
    population (region and channel of a campaign)."""
    best: dict[str, int] = {}
    for i in np.argsort(-z, kind="stable"):
        best.setdefault(singles[i].conditions[0].column, int(i))
    top = [singles[i] for i in list(best.values())[:TOP_SINGLES]]
    top.sort(key=lambda rule: columns.index(rule.conditions[0].column))
    pairs = []
    for a, b in combinations(top, 2):
        if a.columns & b.columns:
            continue
        pair = Rule(a.conditions + b.conditions, a.reference & b.reference, a.chunk & b.chunk)
        if max(pair.reference.sum(), pair.chunk.sum()) >= MIN_ROWS:
            pairs.append((pair, a, b))
    return pairs


def _remainder(wide: Rule, narrow: Rule, loss_reference: np.ndarray, loss_chunk: np.ndarray) -> Contributions:
    """Contribution of the rows of ``wide`` outside ``narrow``."""
    return segment_contributions(wide.reference & ~narrow.reference, wide.chunk & ~narrow.chunk,
                                 loss_reference, loss_chunk)


def _refines(narrow: Rule, narrow_contribution: float, wide: Rule, wide_contribution: float,
             loss_reference: np.ndarray, loss_chunk: np.ndarray) -> bool:
    """``narrow`` says what ``wide`` says with fewer rows: the rest of ``wide`` adds nothing beyond noise."""
    if narrow.rows() > OVERLAP * wide.rows():
        return False
    rest = _remainder(wide, narrow, loss_reference, loss_chunk)
    return bool(rest.z[0] < NOISE_Z and narrow_contribution >= REFINE_KEEP * wide_contribution)


def _pair_holds(pair: Rule, pair_contribution: float, single: Rule, single_contribution: float,
                loss_reference: np.ndarray, loss_chunk: np.ndarray) -> bool:
    """The pair beats the single by more than noise, or refines it."""
    rest = _remainder(single, pair, loss_reference, loss_chunk)
    if rest.z[0] < -NOISE_Z:
        return True
    return _refines(pair, pair_contribution, single, single_contribution, loss_reference, loss_chunk)


def _adds(rule: Rule, taken: list[Rule], loss_reference: np.ndarray, loss_chunk: np.ndarray, bound: float,
          change: float) -> bool:
    """The rule's rows outside the rules already taken still pass the bound (and the share of a drop)."""
    outside_r = rule.reference & ~np.any([t.reference for t in taken], axis=0)
    outside_c = rule.chunk & ~np.any([t.chunk for t in taken], axis=0)
    rest = segment_contributions(outside_r, outside_c, loss_reference, loss_chunk)
    return bool(rest.z[0] > bound and (change <= 0 or rest.contribution[0] >= MIN_SHARE_OF_CHANGE * change))


def _overlap(a: Rule, b: Rule) -> float:
    both = int((a.reference & b.reference).sum() + (a.chunk & b.chunk).sum())
    smaller = min(a.rows(), b.rows())
    return both / smaller if smaller else 0.0


# -- the public function -------------------------------------------------------------------------


def _default_features(estimator: Any, reference: DataLike) -> list[str]:
    names = list(getattr(estimator, "feature_names_", []) or [])
    if names:
        return names
    roles = Roles(timestamp=estimator.timestamp, y_pred_proba=getattr(estimator, "y_pred_proba", None),
                  y_pred=estimator.y_pred, y_true=estimator.y_true, id=estimator.id)
    return infer_features(reference, roles, "reference", stacklevel=3, timestamp_format=estimator.timestamp_format)


def discover_segments(estimator: Any, reference: DataLike, chunk: DataLike, *, features: list[str] | None = None,
                      labels: bool | None = None, max_rules: int = 3, family_rate: float = 0.01) -> pd.DataFrame:
    """The rules over the features that explain a chunk's fall in performance, best first.

    ``estimator``: a fitted `seismo.CBPE`, `seismo.PAPE` or `seismo.DLE`; ``reference``: the data it was
    fitted on; ``chunk``: the rows to explain (one analysis chunk). ``labels=None`` uses realized losses
    when ``chunk`` holds the target column and the estimator's expected losses otherwise; True/False force
    one. ``features``: the columns rules are made of (default: the estimator's features).

    Columns: ``rule`` (readable, pandas ``query`` syntax except ``is missing``), ``share_reference``,
    ``share_chunk`` (the rule's share of the rows), ``performance_reference``, ``performance_chunk`` (within
    the rule: classification, accuracy = 1 − mean loss; regression, the mean per-row loss of the metric,
    e.g. the mean absolute error for mae, the mean squared error for rmse), ``contribution`` (loss units:
    accuracy points or the metric's loss; positive explains a drop; see the module docstring),
    ``share_of_change`` (contribution / the chunk's whole change in mean loss) and ``z``
    (contribution / standard error). An empty frame (same columns) means no rule stands out of the noise.
    """
    _check_estimator(estimator)
    if max_rules < 1:
        raise InvalidConfiguration(f"max_rules is {max_rules}; ask for at least 1 rule")
    if not 0 < family_rate < 1:
        raise InvalidConfiguration(f"family_rate is {family_rate}; it is a probability in (0, 1)")
    names = list(features) if features is not None else _default_features(estimator, reference)
    if not names:
        raise InvalidConfiguration("no feature to build rules from: pass features=[...]")
    for where, data in (("reference", reference), ("chunk", chunk)):
        present = set(read_schema(data, where).names)
        unknown = [c for c in names if c not in present]
        if unknown:
            raise InvalidConfiguration(f"features {unknown} are not columns of the {where} data")
    chunk_columns = set(read_schema(chunk, "chunk").names)
    realized = estimator.y_true in chunk_columns if labels is None else bool(labels)
    needed = _needed_columns(estimator, realized)
    columns = list(dict.fromkeys([*needed, *names]))
    frames = {}
    for where, data in (("reference", reference), ("chunk", chunk)):
        present = set(read_schema(data, where).names)
        lacking = [c for c in needed if c not in present]
        if lacking:
            raise InvalidConfiguration(f"the {where} data lacks the model's columns {lacking} that "
                                       f"{type(estimator).__name__}'s row losses read"
                                       + (" (labels=True needs y_true)" if realized and estimator.y_true in
                                          lacking else ""))
        frames[where] = load_frame(data, columns, None, where)
    loss_ref = row_losses(estimator, frames["reference"], reference=True, realized=realized)
    loss_chunk = row_losses(estimator, frames["chunk"], realized=realized)
    ok_ref, ok_chunk = np.isfinite(loss_ref), np.isfinite(loss_chunk)
    if ok_ref.sum() < 2 or ok_chunk.sum() < 2:
        return pd.DataFrame(columns=COLUMNS)
    loss_ref, loss_chunk = loss_ref[ok_ref], loss_chunk[ok_chunk]
    column_types = {k: v for k, v in (getattr(estimator, "column_types", None) or {}).items() if k in names}
    kinds = {c.name: c.kind for c in build_schema(frames["reference"].table, names, column_types).columns}
    values_ref = {n: _column_values(frames["reference"], n, kinds[n])[ok_ref] for n in names}
    values_chunk = {n: _column_values(frames["chunk"], n, kinds[n])[ok_chunk] for n in names}
    classification = isinstance(estimator.fitted_tracker_.tracker, CBPETracker)
    return _discover(values_ref, values_chunk, kinds, loss_ref, loss_chunk, max_rules, family_rate, classification)


def _discover(values_ref: dict[str, np.ndarray], values_chunk: dict[str, np.ndarray], kinds: Mapping[str, str],
              loss_ref: np.ndarray, loss_chunk: np.ndarray, max_rules: int, family_rate: float,
              classification: bool) -> pd.DataFrame:
    singles = candidate_rules(values_ref, values_chunk, kinds)
    if not singles:
        return pd.DataFrame(columns=COLUMNS)
    single_stats = segment_contributions(np.array([r.reference for r in singles]),
                                         np.array([r.chunk for r in singles]), loss_ref, loss_chunk)
    pairs = _pairs(singles, single_stats.z, list(kinds))
    rules = singles + [p for p, _, _ in pairs]
    if pairs:
        pair_stats = segment_contributions(np.array([p.reference for p, _, _ in pairs]),
                                           np.array([p.chunk for p, _, _ in pairs]), loss_ref, loss_chunk)
        stats = single_stats.join(pair_stats)
    else:
        stats = single_stats
    change = float(loss_chunk.mean() - loss_ref.mean())
    bound = float(norm.isf(family_rate / len(rules)))
    z = stats.z
    passing = (z > bound) & (stats.excess_z > bound)
    if change > 0:
        passing &= stats.contribution >= MIN_SHARE_OF_CHANGE * change
    index = {id(r): i for i, r in enumerate(rules)}
    for pair, a, b in pairs:
        i = index[id(pair)]
        if passing[i]:
            c = float(stats.contribution[i])
            passing[i] = all(_pair_holds(pair, c, s, float(stats.contribution[index[id(s)]]), loss_ref, loss_chunk)
                             for s in (a, b))
    order = [i for i in np.argsort(-z, kind="stable") if passing[i]]
    chosen: list[int] = []
    for i in order:
        over = [j for j in chosen if _overlap(rules[i], rules[j]) > OVERLAP]
        if over:
            if all(_refines(rules[i], float(stats.contribution[i]), rules[j], float(stats.contribution[j]),
                            loss_ref, loss_chunk) for j in over):
                at = chosen.index(over[0])
                chosen = [j for j in chosen if j not in over]
                chosen.insert(at, i)
            continue
        if chosen and not _adds(rules[i], [rules[j] for j in chosen], loss_ref, loss_chunk, bound, change):
            continue
        chosen.append(i)
    chosen = chosen[:max_rules]
    rows = []
    for i in chosen:
        perf_r, perf_c = float(stats.loss_reference[i]), float(stats.loss_chunk[i])
        if classification:
            perf_r, perf_c = 1.0 - perf_r, 1.0 - perf_c
        rows.append({"rule": rules[i].text, "share_reference": float(stats.share_reference[i]),
                     "share_chunk": float(stats.share_chunk[i]), "performance_reference": perf_r,
                     "performance_chunk": perf_c, "contribution": float(stats.contribution[i]),
                     "share_of_change": float(stats.contribution[i]) / change if change else float("nan"),
                     "z": float(z[i])})
    return pd.DataFrame(rows, columns=COLUMNS)


# -- what a Monitor keeps to explain its alerts later -------------------------------------------
DISCOVERY_ROWS = 50_000  # reference rows a monitor keeps for discovery (a uniform sample beyond this)
EXPECTED, REALIZED = "__expected_loss__", "__realized_loss__"


def discovery_reference(estimator: Any, reference: DataLike, features: list[str], *,
                        max_rows: int = DISCOVERY_ROWS, seed: int = 0) -> tuple[pd.DataFrame, dict[str, ColumnKind]]:
    """The reference side of discovery, computed once at fit: each (sampled) reference row's feature
    values, its out-of-fold expected loss and its realized loss, and each feature's kind.

    A `Monitor` keeps this (saved with it) so that a run can explain an alerting chunk without the
    reference at hand; `explain_chunk` compares a chunk with it. The sample is uniform, so shares and
    mean losses stay unbiased; it bounds what a saved monitor holds.
    """
    _check_estimator(estimator)
    names = [c for c in features if c in set(read_schema(reference, "reference").names)]
    columns = list(dict.fromkeys([*_needed_columns(estimator, False), *_needed_columns(estimator, True), *names]))
    frame = load_frame(reference, columns, None, "reference")
    expected = row_losses(estimator, frame, reference=True)
    realized = row_losses(estimator, frame, realized=True)
    column_types = {k: v for k, v in (getattr(estimator, "column_types", None) or {}).items() if k in names}
    kinds = {c.name: c.kind for c in build_schema(frame.table, names, column_types).columns}
    keep = np.arange(frame.n_rows)
    if frame.n_rows > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(frame.n_rows, max_rows, replace=False))
    out = pd.DataFrame({n: _column_values(frame, n, kinds[n])[keep] for n in names})
    out[EXPECTED], out[REALIZED] = expected[keep], realized[keep]
    return out, kinds


def explain_chunk(estimator: Any, reference: pd.DataFrame, kinds: Mapping[str, ColumnKind], chunk: DataLike, *,
                  labels: bool | None = None, max_rules: int = 3, family_rate: float = 0.01) -> pd.DataFrame:
    """`discover_segments` for one chunk against a kept `discovery_reference`: realized losses when the
    chunk holds labels (``labels=None``), the estimator's expected losses otherwise."""
    names = [n for n in kinds if n in set(read_schema(chunk, "chunk").names)]
    chunk_columns = set(read_schema(chunk, "chunk").names)
    realized = estimator.y_true in chunk_columns if labels is None else bool(labels)
    frame = load_frame(chunk, list(dict.fromkeys([*_needed_columns(estimator, realized), *names])), None, "chunk")
    loss_chunk = row_losses(estimator, frame, realized=realized)
    loss_ref = reference[REALIZED if realized else EXPECTED].to_numpy(dtype=float)
    ok_ref, ok_chunk = np.isfinite(loss_ref), np.isfinite(loss_chunk)
    if ok_ref.sum() < 2 or ok_chunk.sum() < 2 or not names:
        return pd.DataFrame(columns=COLUMNS)
    values_ref = {n: reference[n].to_numpy()[ok_ref] for n in names}
    values_chunk = {n: _column_values(frame, n, kinds[n])[ok_chunk] for n in names}
    classification = isinstance(estimator.fitted_tracker_.tracker, CBPETracker)
    return _discover(values_ref, values_chunk, {n: kinds[n] for n in names}, loss_ref[ok_ref], loss_chunk[ok_chunk],
                     max_rules, family_rate, classification)
