"""The partial and the tracker of `ConceptShift` (`seismo.performance.concept`, whose docstring gives the method).

A chunk's partial is its labelled rows (`ConceptRows`); finishing it fits the chunk's concept model
(`seismo.performance.concept_model`) and evaluates it on a fixed sample of reference inputs
(`EvaluationSample`): the impact on every metric, the magnitude, the trust verdict. Splitting the
calculator from its tracker keeps each module to one job: this one computes a chunk's numbers, the
calculator decides which rows and thresholds they are computed with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seismo.chunks.chunkers import MIN_RELIABLE_CHUNK_ROWS
from seismo.data.frame import Frame
from seismo.engine.domain_fit import FeatureEncoder
from seismo.engine.sampling_error import Scaling
from seismo.engine.thresholds import PERFORMANCE_THRESHOLD, MaterialThreshold
from seismo.engine.trackers import (
    ROWS,
    MetricInfo,
)
from seismo.metrics.partials import ClassificationPartial, LossSums
from seismo.metrics.registry import METRICS, losses_of
from seismo.performance.concept_model import (
    ConceptFit,
    expected_losses,
    fit_classification,
    fit_regression,
)
from seismo.performance.realized import (
    ClassificationTracker,
    LabelledPartial,
    RegressionTracker,
    finish_classification,
)
from seismo.performance.trust import REASON, TRUST

MAGNITUDE = "magnitude"
REALIZED = "realized"  # the chunk's realized value of the metric, beside its concept impact
LABELLED = "labelled_rows"
COVERAGE = "label_coverage"
EXPLAINED = "concept_explained"  # the chunk's out-of-fold skill of its concept model
#: the impact's own sampling error from its fold models (a jackknife); an analysis chunk's error is the larger
#: of this and the one learned on the reference (`with_fold_errors`)
FOLD_ERROR = "_fold_error"
#: the share of the evaluation rows inside the chunk's range (`ConceptTracker._supported`): beyond it the impact
#: reads an extrapolated concept
SUPPORT = "reference_support"
CONCEPT_COLUMNS = (REALIZED, LABELLED, COVERAGE, EXPLAINED, SUPPORT, TRUST, REASON)
#: a chunk whose reference support is this far below the reference chunks' is "low" trust
SUPPORT_DROP = 0.05
#: labels for fewer than this share of a chunk's rows make its concept model "low" trust
LOW_COVERAGE = 0.5
#: the magnitude alerts above this (mean total-variation distance, or standard deviations of the target) and
#: above its noise: under strong covariate shift a chunk's concept model extrapolates on reference inputs
#: it has few rows near, which alone lifted the magnitude past its noise bound (0.089 against 0.083 on the
#: benchmark's 1-SD shift, where a planted concept shift gave 0.21); the impacts are not affected alike
MAGNITUDE_MATERIAL = 0.10
#: the magnitude is measured where the chunk has data: within these percentiles of each feature
SUPPORT_QUANTILE = 0.01
MAGNITUDE_THRESHOLD = MaterialThreshold(upper=MAGNITUDE_MATERIAL)


@dataclass(eq=False)
class ConceptRows:
    """The partial: a chunk's labelled rows (features, target) and the realized partial of all its rows.

    ``positions`` are the rows' places in the reference evaluation sample (-1: not in it), so a
    reference chunk's concept model is evaluated on the sample rows it did not learn from.
    Merging concatenates (a chunk assembled from batches); ``whole`` marks the whole reference,
    whose concept is the reference's own (it is never fitted as a chunk).
    """

    x: np.ndarray
    y: np.ndarray
    positions: np.ndarray
    realized: LabelledPartial
    whole: bool = False

    def merge(self, other: ConceptRows) -> ConceptRows:
        return ConceptRows(np.vstack([self.x, other.x]), np.concatenate([self.y, other.y]),
                           np.concatenate([self.positions, other.positions]), self.realized + other.realized,
                           self.whole and other.whole)

    __add__ = merge


@dataclass(eq=False)
class EvaluationSample:
    """The reference inputs every concept model is evaluated on, with what the monitored model did there.

    ``model``: the realized tracker's encoding of these rows (predictions, score bins, labels);
    ``baseline``: the reference concept on them, out of fold (class probabilities, or the
    conditional mean); ``target_scale``: the reference target's standard deviation (regression).
    """

    x: np.ndarray
    model: dict
    baseline: np.ndarray
    target_scale: float = 1.0


@dataclass(eq=False)
class ConceptTracker:
    """Fits a chunk's concept model and finishes its impact on every metric (see the module docstring)."""

    realized: ClassificationTracker | RegressionTracker
    metrics: list[str]
    encoder: FeatureEncoder
    sample: EvaluationSample
    n_classes: int  # 0: regression
    params: dict
    n_splits: int
    seed: int
    offsets: dict[str, float] = field(default_factory=dict)
    smallest_labelled: float = 0.0  # labelled rows of the smallest reference chunk
    reference_support: float = 1.0  # the reference chunks' mean share of evaluation rows within their range
    _memo: dict[int, dict] = field(default_factory=dict)  # raw values of the reference chunks during fit

    column = None
    comparative = False

    def _options(self, name: str) -> dict:
        """The metric's finish options (classification: business value's matrix, ...; regression: none)."""
        tracker = self.realized
        return tracker.options.get(name, {}) if isinstance(tracker, ClassificationTracker) else {}

    def metric_infos(self) -> list[MetricInfo]:
        infos = []
        for name in self.metrics:
            spec = METRICS[name]
            kind, _ = spec.scaling(self._options(name))
            span = None if spec.lower_bound is None or spec.upper_bound is None else spec.upper_bound - spec.lower_bound
            infos.append(MetricInfo(name, PERFORMANCE_THRESHOLD, None if span is None else -span, span, Scaling(kind)))
        infos.append(MetricInfo(MAGNITUDE, MAGNITUDE_THRESHOLD, 0.0, None, Scaling("distance")))
        return infos

    def encode(self, frame: Frame) -> dict:
        return {"x": self.encoder.encode(frame), "model": self.realized.encode(frame),
                "positions": np.full(frame.n_rows, -1, dtype=np.int64)}

    def _target(self, model: dict) -> tuple[np.ndarray, np.ndarray]:
        """The label of each row and which rows have one."""
        y = model["y_true"]
        labelled = y >= 0 if self.n_classes else np.isfinite(y)
        return y, labelled

    def partial(self, enc: dict, rows: slice | np.ndarray) -> ConceptRows:
        y, labelled = self._target(enc["model"])
        keep = labelled[rows]
        return ConceptRows(enc["x"][rows][keep], y[rows][keep], enc["positions"][rows][keep],
                           self.realized.partial(enc["model"], rows))

    def finish(self, part: ConceptRows, reference: Any = None) -> dict:
        n = int(part.y.size)
        if part.whole:
            return {ROWS: n}
        raw = self._memo.get(id(part))
        if raw is None:
            raw = self.raw_values(part)
        values = {k: (v - self.offsets.get(k, 0.0) if isinstance(k, str) and k != MAGNITUDE else v)
                  for k, v in raw.items()}
        return {**values, **self._trust(n, part.realized.n_rows, raw.get((None, SUPPORT), np.nan))}

    def learn_offsets(self, parts: list[ConceptRows]) -> None:
        """The offset of each metric: the mean impact of the reference chunks ``parts``, where the concept
        is the reference's. Their values are kept until `forget_reference`, so finishing the same parts
        again (the thresholds' fit) costs no second concept model."""
        raw = [self.raw_values(part, self.baseline_without(part) if (part.positions >= 0).any() else None)
               for part in parts]
        self.offsets = {name: float(np.nanmean(values)) if np.isfinite(values := [r[name] for r in raw]).any()
                        else 0.0 for name in self.metrics}
        self.smallest_labelled = float(min((part.y.size for part in parts), default=0))
        support = [r.get((None, SUPPORT), np.nan) for r in raw]
        self.reference_support = float(np.nanmean(support)) if np.isfinite(support).any() else 1.0
        self._memo = {id(part): values for part, values in zip(parts, raw)}

    def forget_reference(self) -> None:
        self._memo = {}

    def raw_values(self, part: ConceptRows, baseline: np.ndarray | None = None) -> dict:
        """Impact before the offset, magnitude, the chunk's realized values and its concept model's skill.
        ``baseline``: the reference concept on the evaluation rows to measure the magnitude from (default: the
        sample's, out of fold)."""
        n = int(part.y.size)
        real = self.realized.finish(part.realized)
        out: dict = {(name, REALIZED): real.get(name, np.nan) for name in self.metrics}
        out.update({ROWS: n, (None, LABELLED): n,
                    (None, COVERAGE): n / part.realized.n_rows if part.realized.n_rows else np.nan})
        rest = np.ones(len(self.sample.x), dtype=bool)
        rest[part.positions[part.positions >= 0]] = False
        if n < 2 * self.n_splits or not rest.any():
            return {**out, **{name: np.nan for name in self.metrics}, MAGNITUDE: np.nan, (None, EXPLAINED): np.nan}
        fit = self._fit(part, self.sample.x[rest])
        out[(None, EXPLAINED)] = fit.explained
        estimated, realized = self._estimated(fit, rest), self._baseline(rest)
        by_fold = [self._estimated(fit.fold(k), rest) for k in range(self.n_splits)]
        for name in self.metrics:
            kind, _ = METRICS[name].scaling(self._options(name))
            # a sum over rows: the change on a chunk of this chunk's size
            scale = n / rest.sum() if kind in ("extensive", "count") else 1.0
            out[name] = (estimated[name] - realized[name]) * scale
            folds = np.array([values[name] for values in by_fold], dtype=float)
            # delete-a-group jackknife over the fold models, each fitted without one fold of the chunk
            out[(name, FOLD_ERROR)] = scale * float(np.sqrt((self.n_splits - 1) / self.n_splits
                                                            * np.sum((folds - folds.mean()) ** 2)))
        reference = (self.sample.baseline if baseline is None else baseline)[rest]
        supported = self._supported(part.x, self.sample.x[rest])
        out[MAGNITUDE] = self._magnitude(fit, reference, supported)
        out[(None, SUPPORT)] = float(supported.mean())
        return out

    def baseline_without(self, part: ConceptRows) -> np.ndarray:
        """The reference concept on the evaluation rows, cross-fitted on those not in ``part`` (its own rows
        get NaN). A reference chunk's magnitude is measured from it: the sample's baseline learned from the
        chunk's own rows too, and two models sharing training rows look closer than a new chunk's would."""
        model = self.sample.model
        keep = np.ones(len(self.sample.x), dtype=bool)
        keep[part.positions[part.positions >= 0]] = False
        x, y, none = self.sample.x[keep], np.asarray(model["y_true"])[keep], self.sample.x[:0]
        seed = self.seed + 1
        if self.n_classes:
            oof = fit_classification(x, y.astype(np.int64), none, self.n_classes, self.params, self.n_splits, seed,
                                     self.encoder.categorical_indices).oof
        else:
            oof = fit_regression(x, y, none, self.params, self.n_splits, seed, self.encoder.categorical_indices).oof
        out = np.full(self.sample.baseline.shape, np.nan)
        out[keep] = oof
        return out

    def _supported(self, x: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        """Evaluation rows inside the chunk's own range: each numeric feature within the chunk's 1st-99th
        percentiles, each category one the chunk has. Beyond them a tree model extrapolates a constant,
        and a pure covariate shift alone would read as a moved concept there."""
        inside = np.ones(len(x_eval), dtype=bool)
        categorical = set(self.encoder.categorical_indices)
        for j in range(x.shape[1]):
            values = x[:, j][np.isfinite(x[:, j])]
            column = x_eval[:, j]
            if values.size == 0:
                continue
            if j in categorical:
                inside &= np.isin(column, values) | ~np.isfinite(column)
            else:
                low, high = np.quantile(values, [SUPPORT_QUANTILE, 1.0 - SUPPORT_QUANTILE])
                inside &= ((column >= low) & (column <= high)) | ~np.isfinite(column)
        return inside

    def _fit(self, part: ConceptRows, x_eval: np.ndarray) -> ConceptFit:
        categorical = self.encoder.categorical_indices
        if self.n_classes:
            return fit_classification(part.x, part.y.astype(np.int64), x_eval, self.n_classes, self.params,
                                      self.n_splits, self.seed, categorical)
        return fit_regression(part.x, part.y, x_eval, self.params, self.n_splits, self.seed, categorical)

    def _metric_values(self, rest: np.ndarray, soft: np.ndarray | None = None,
                       losses: dict[str, np.ndarray] | None = None) -> dict:
        """Every metric on the evaluation rows ``rest``: from soft labels or expected losses, else realized."""
        model = self.sample.model
        if self.n_classes:
            if soft is None:
                y = model["y_true"][rest]
                soft = np.zeros((len(y), self.n_classes))
                soft[np.arange(len(y)), y] = 1.0
            tracker = self.realized
            assert isinstance(tracker, ClassificationTracker)
            partial = ClassificationPartial.from_rows(soft, model["y_pred"][rest], model["score_bins"][rest],
                                                      model["n_bins"], tracker.spec.scored)
            return finish_classification(partial, self.metrics, tracker.options)
        if losses is None:
            sums = LossSums.from_rows(model["y_true"][rest], model["y_pred"][rest], losses=losses_of(self.metrics))
        else:
            sums = LossSums.from_losses(losses)
        return {name: METRICS[name].finish(sums) for name in self.metrics}

    def _estimated(self, fit: ConceptFit, rest: np.ndarray) -> dict:
        if self.n_classes:
            return self._metric_values(rest, soft=fit.proba)
        return self._metric_values(rest, losses=expected_losses(fit, self.sample.model["y_pred"][rest],
                                                                losses_of(self.metrics)))

    def _baseline(self, rest: np.ndarray) -> dict:
        return self._metric_values(rest)

    def _magnitude(self, fit: ConceptFit, reference: np.ndarray, supported: np.ndarray) -> float:
        """How far the concept moved from the ``reference`` concept on the ``supported`` evaluation rows (all
        of them when none is)."""
        keep = supported if supported.any() else np.ones_like(supported)
        baseline = reference[keep]
        if self.n_classes:
            assert fit.proba is not None
            return float(0.5 * np.abs(fit.proba[keep] - baseline).sum(axis=1).mean())
        assert fit.mean is not None
        return float(np.abs(fit.mean[keep] - baseline).mean() / self.sample.target_scale)

    def _trust(self, labelled: int, rows: int, support: float) -> dict:
        """``ok`` / ``low`` / ``none`` from the chunk's labelled rows, its label coverage and its reference support."""
        level, reasons = 0, []
        if labelled < 2 * self.n_splits:
            level = 2
            reasons.append(f"only {labelled} labelled rows: no concept model can be fitted")
        elif labelled < MIN_RELIABLE_CHUNK_ROWS or labelled < 0.5 * self.smallest_labelled:
            level = 1
            reasons.append(f"only {labelled} labelled rows (reference chunks had at least "
                           f"{self.smallest_labelled:,.0f}): the chunk's concept is known roughly")
        if rows and labelled / rows < LOW_COVERAGE and level < 2:
            level = max(level, 1)
            reasons.append(f"labels have arrived for {labelled / rows:.0%} of the chunk's rows; if which rows "
                           "are labelled depends on the outcome, the concept learned from them is biased")
        if support < self.reference_support - SUPPORT_DROP and level < 2:
            level = max(level, 1)
            reasons.append(f"only {support:.0%} of the reference inputs lie within the chunk's range (reference "
                           f"chunks: {self.reference_support:.0%}): the impact reads an extrapolated concept there, "
                           "and covariate shift alone can move it")
        return {(None, TRUST): ("ok", "low", "none")[level], (None, REASON): "; ".join(reasons)}


def with_fold_errors(rows: list[dict], values: dict) -> list[dict]:
    """An analysis chunk's rows with each impact's sampling error raised to its fold models' jackknife
    error where that is larger, and the ±3 SE band widened with it.

    The error learned on the reference describes concept models of the reference's concept. A chunk
    whose concept changed can be harder to learn (a sharp boundary, a rare region), and its models then
    disagree more: on the tests' reversed region the impacts of three chunks spread three times as
    widely as the reference's error. Thresholds are unchanged: alerts stay at the stated rate.
    """
    for row in rows:
        fold_error = values.get((row["metric"], FOLD_ERROR))
        if fold_error is None or not np.isfinite(fold_error) or not fold_error > row["sampling_error"]:
            continue
        value, span = row["value"], METRICS[row["metric"]]
        width = None if span.lower_bound is None or span.upper_bound is None else span.upper_bound - span.lower_bound
        low, high = value - 3 * fold_error, value + 3 * fold_error
        if width is not None:
            low, high = max(low, -width), min(high, width)
        row.update(sampling_error=fold_error, lower_confidence=low, upper_confidence=high)
    return rows
