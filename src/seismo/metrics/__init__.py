"""Mergeable metric partials, the metric functions finished from them, the registry, and custom metrics
(`register` / `unregister`, docs/custom_metrics.md)."""

from seismo.metrics.classification import (
    accuracy,
    average_precision,
    binary_confusion_cells,
    business_value,
    confusion_matrix,
    f1,
    multiclass_confusion_cells,
    per_class_average_precision,
    per_class_roc_auc,
    precision,
    recall,
    roc_auc,
    specificity,
)
from seismo.metrics.custom import CustomMetric, custom_metrics, register, unregister
from seismo.metrics.losses import RowLoss
from seismo.metrics.partials import (
    ClassificationPartial,
    ConfusionSums,
    LossSums,
    ScoreHistogram,
    bin_scores,
)
from seismo.metrics.registry import (
    METRICS,
    PROBLEM_TYPES,
    MetricOption,
    MetricSpec,
    get_metric,
    loss_metric,
    metrics_for,
)
from seismo.metrics.regression import mae, mape, mse, msle, rmse, rmsle

__all__ = [
    "METRICS",
    "PROBLEM_TYPES",
    "ClassificationPartial",
    "ConfusionSums",
    "CustomMetric",
    "LossSums",
    "MetricOption",
    "MetricSpec",
    "RowLoss",
    "ScoreHistogram",
    "accuracy",
    "average_precision",
    "bin_scores",
    "binary_confusion_cells",
    "business_value",
    "confusion_matrix",
    "custom_metrics",
    "f1",
    "get_metric",
    "loss_metric",
    "mae",
    "mape",
    "mse",
    "metrics_for",
    "msle",
    "multiclass_confusion_cells",
    "per_class_average_precision",
    "per_class_roc_auc",
    "precision",
    "recall",
    "register",
    "rmse",
    "rmsle",
    "roc_auc",
    "specificity",
    "unregister",
]
