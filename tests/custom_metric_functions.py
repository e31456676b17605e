"""Functions of the custom metrics in tests/test_custom_metrics.py, in a module of their own: a saved
monitor and a CLI config name them by import path (``custom_metric_functions:cost``), and tests/ is
on sys.path under pytest (the rootdir conftest's folder)."""

from __future__ import annotations

import numpy as np

FN_COST, FP_COST = 5.0, 1.0  # a missed positive costs five times a false alarm
TOLERANCE = 0.5  # the regression loss counts only the part of an error beyond this


def cost(matrix: np.ndarray) -> float:
    """Binary: 5 per false negative (true 1, predicted 0) plus 1 per false positive."""
    return float(FN_COST * matrix[1, 0] + FP_COST * matrix[0, 1])


def miss_rate(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    """Per class: the share of its rows predicted as another class, FN / (TP + FN)."""
    return np.divide(fn, tp + fn, out=np.zeros_like(fn), where=(tp + fn) > 0)


def beyond_tolerance(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per row: the absolute error beyond ``TOLERANCE`` (0 within it)."""
    return np.maximum(np.abs(y_pred - y_true) - TOLERANCE, 0.0)
