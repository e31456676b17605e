"""Concept models: what a chunk's labels say about P(target | features), as LightGBM learns it.

`ConceptShift` fits one concept model per chunk of labelled rows and asks it a counterfactual
question: had the reference inputs been labelled under this chunk's concept, how would the
monitored model have performed? The answer needs, on each reference input, the chunk's
conditional distribution of the target:

* classification: the class probabilities ``P_chunk(y | x)``, used as soft labels by the same
  partials that realized performance fills with one-hot labels (`ClassificationPartial`);
* regression: ``y = mu_chunk(x) + e`` with ``mu`` a LightGBM regression of the target and ``e``
  drawn from the chunk's out-of-fold residuals, so the expected per-row loss of the monitored
  model's prediction ``E[loss(y, y_hat) | x]`` is the mean of the loss over those residuals.

The chunk's rows are split into ``n_splits`` folds. Each fold's model is fitted on the other folds;
the reference inputs get the mean of the fold models' predictions (a small bagged ensemble), and
each chunk row gets the prediction of the model that did not see it (out of fold). Those
out-of-fold predictions give the residuals above without the optimism of in-sample residuals,
and the chunk's out-of-fold log loss or R² says how much the features explain. Each fold model
left one fold out, so the spread of their estimates is a delete-a-group jackknife of the
estimate's own noise (`ConceptFit.fold`).

The method is the "reverse concept drift" idea described in NannyML's documentation of its
cloud product (a concept model trained on the analysis chunk, applied to the reference inputs);
this is an independent implementation that extends it to multiclass and regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seismo.metrics.losses import RowLoss

#: Small trees (7 leaves; 15 leaves or 200 trees made the impact and the magnitude noisier on the
#: benchmark's planted concept shifts): a chunk holds a few thousand labelled rows at most, and a model
#: that chases them adds noise to every counterfactual estimate. One thread: see
#: `seismo.performance.loss_model.DEFAULT_HYPERPARAMETERS` on spin-waiting OpenMP threads.
CONCEPT_HYPERPARAMETERS: dict[str, Any] = {
    "n_estimators": 150,
    "learning_rate": 0.08,
    "num_leaves": 7,
    "min_child_samples": 15,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.9,
    "n_jobs": 1,
    "verbose": -1,
}
DEFAULT_CONCEPT_SPLITS = 3
#: residuals a regression concept model keeps to spread its mean into a distribution
RESIDUAL_DRAWS = 256
_EPS = 1e-12


@dataclass(frozen=True, eq=False)
class ConceptFit:
    """One chunk's concept, evaluated on reference inputs.

    Classification: ``proba`` (n_eval, C). Regression: ``mean`` (n_eval,) and ``residuals``
    (out of fold, at most `RESIDUAL_DRAWS`). ``oof``: the chunk rows' own out-of-fold predictions
    (probabilities or means). ``explained``: the chunk's out-of-fold skill, 1 − log loss / log loss
    of the class frequencies (classification) or R² (regression).
    """

    proba: np.ndarray | None
    mean: np.ndarray | None
    residuals: np.ndarray | None
    explained: float
    oof: np.ndarray
    folds: np.ndarray  # each fold model's predictions on the evaluation rows: (n_splits, n_eval[, C])

    def fold(self, k: int) -> ConceptFit:
        """The fit as fold ``k``'s model alone sees the evaluation rows (for the jackknife's spread)."""
        if self.proba is not None:
            return ConceptFit(self.folds[k], None, None, self.explained, self.oof, self.folds[k:k + 1])
        return ConceptFit(None, self.folds[k], self.residuals, self.explained, self.oof, self.folds[k:k + 1])


def _folds(n: int, n_splits: int, seed: int) -> np.ndarray:
    """A fold number per row, shuffled with ``seed``, folds as equal as ``n`` allows."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n) % n_splits)


def _class_model(x: np.ndarray, y: np.ndarray, n_classes: int, params: dict, categorical: list[int]) -> Any:
    """A fitted LGBMClassifier; None when the rows hold one class only (then its frequency is the model)."""
    if np.unique(y).size < 2:
        return None
    from lightgbm import LGBMClassifier

    model = LGBMClassifier(**params)
    model.fit(x, y, categorical_feature=categorical or "auto")
    return model


def _class_proba(model: Any, x: np.ndarray, y_train: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, C) probabilities over every class; classes the model never saw get 0."""
    out = np.zeros((len(x), n_classes))
    if len(x) == 0:
        return out
    if model is None:  # one class in the training rows
        out[:, int(y_train[0])] = 1.0
        return out
    out[:, np.asarray(model.classes_, dtype=np.int64)] = np.asarray(model.predict_proba(x))
    return out


def fit_classification(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, n_classes: int, params: dict,
                       n_splits: int, seed: int, categorical: list[int]) -> ConceptFit:
    """Class probabilities of the chunk's concept on ``x_eval`` (labels ``y`` are class indices)."""
    folds = _folds(len(y), n_splits, seed)
    per_fold = np.zeros((n_splits, len(x_eval), n_classes))
    oof = np.zeros((len(y), n_classes))
    for k in range(n_splits):
        train, held = folds != k, folds == k
        model = _class_model(x[train], y[train], n_classes, params, categorical)
        per_fold[k] = _class_proba(model, x_eval, y[train], n_classes)
        oof[held] = _class_proba(model, x[held], y[train], n_classes)
    prior = np.bincount(y, minlength=n_classes) / len(y)
    picked = np.clip(oof[np.arange(len(y)), y], _EPS, 1.0)
    base = -np.sum(prior[prior > 0] * np.log(prior[prior > 0]))
    explained = 1.0 - float(-np.mean(np.log(picked))) / base if base > 0 else float("nan")
    return ConceptFit(per_fold.mean(axis=0), None, None, explained, oof, per_fold)


def fit_regression(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, params: dict, n_splits: int, seed: int,
                   categorical: list[int]) -> ConceptFit:
    """The chunk's conditional mean on ``x_eval`` and its out-of-fold residuals."""
    from lightgbm import LGBMRegressor

    folds = _folds(len(y), n_splits, seed)
    per_fold = np.zeros((n_splits, len(x_eval)))
    oof = np.zeros(len(y))
    for k in range(n_splits):
        train, held = folds != k, folds == k
        model = LGBMRegressor(**params)
        model.fit(x[train], y[train], categorical_feature=categorical or "auto")
        if len(x_eval):
            per_fold[k] = np.asarray(model.predict(x_eval))
        oof[held] = np.asarray(model.predict(x[held]))
    residuals = y - oof
    if residuals.size > RESIDUAL_DRAWS:
        residuals = np.random.default_rng(seed).choice(residuals, RESIDUAL_DRAWS, replace=False)
    spread = float(np.var(y))
    explained = 1.0 - float(np.mean((y - oof) ** 2)) / spread if spread > 0 else float("nan")
    return ConceptFit(None, per_fold.mean(axis=0), np.sort(residuals), explained, oof, per_fold)


def expected_losses(fit: ConceptFit, y_pred: np.ndarray, losses: list[RowLoss]) -> dict[str, np.ndarray]:
    """Each row's expected loss of the monitored model's prediction under the chunk's concept:
    the mean over the residual draws of ``loss(mean + residual, y_pred)``. A loss with a restricted
    domain (log1p's) averages over the draws inside it (a row with none has no value)."""
    assert fit.mean is not None and fit.residuals is not None
    draws = fit.mean[:, None] + fit.residuals[None, :]
    out = {}
    for loss in losses:
        if loss.above is None:
            out[loss.name] = np.asarray(loss.formula(draws, y_pred[:, None]), dtype=float).mean(axis=1)
            continue
        # log1p's domain: draws at or below the limit are left out of the row's mean (reading them as just above
        # it gave log1p of -1 + 1e-9, and a squared log error of hundreds); the prediction is checked by realized
        inside = draws > loss.above
        values = np.asarray(loss.formula(np.where(inside, draws, loss.above + 1.0), y_pred[:, None]), dtype=float)
        counted = inside.sum(axis=1)
        out[loss.name] = np.where(counted > 0, np.where(inside, values, 0.0).sum(axis=1) / np.maximum(counted, 1),
                                  np.nan)
    return out
