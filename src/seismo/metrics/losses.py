"""Per-row losses of a regression model: the one home of each loss formula.

Realized regression metrics sum these over a chunk's labelled rows (`LossSums.from_rows`);
direct loss estimation (`seismo.performance.loss_model`) trains a model on the very same
per-row values and sums its predictions. Each loss metric of the registry
(`seismo.metrics.registry`) names the loss it is the mean (or root mean) of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seismo.errors import InvalidData

# sklearn's mean_absolute_percentage_error divides by max(|y|, eps) with this eps.
MAPE_EPS = np.finfo(np.float64).eps
# log1p is defined above -1; sklearn (>= 1.5) raises for values <= -1.
MSLE_LOWER_LIMIT = -1.0


@dataclass(frozen=True)
class RowLoss:
    """One per-row loss: ``formula(y_true, y_pred)`` on float arrays, and its domain.

    ``above``: the formula needs every target and prediction to be greater than this (log1p's
    domain for the squared log error); None: defined for every value.
    """

    name: str
    formula: Callable[[np.ndarray, np.ndarray], np.ndarray]
    above: float | None = None

    def of(self, y_true: np.ndarray, y_pred: np.ndarray, true_name: str = "y_true",
           pred_name: str = "y_pred") -> np.ndarray:
        """The loss of every row; `InvalidData` naming the column when a value is outside the domain."""
        if self.above is not None:
            for name, values in ((true_name, y_true), (pred_name, y_pred)):
                bad = values <= self.above
                if bad.any():
                    raise InvalidData(
                        f"column {name!r} has {int(bad.sum())} values <= {self.above:g} "
                        f"(min {np.nanmin(values):g}); {self.name} needs values > {self.above:g}"
                    )
        return self.formula(y_true, y_pred)


def _abs_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return np.abs(y_pred - y_true)


def _abs_pct_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return np.abs(y_pred - y_true) / np.maximum(np.abs(y_true), MAPE_EPS)


def _sq_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return (y_pred - y_true) ** 2


def _sq_log_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return (np.log1p(y_true) - np.log1p(y_pred)) ** 2


ABS_ERROR = RowLoss("abs_error", _abs_error)
ABS_PCT_ERROR = RowLoss("abs_pct_error", _abs_pct_error)  # |e| / max(|y|, eps), as scikit-learn's MAPE
SQ_ERROR = RowLoss("sq_error", _sq_error)
SQ_LOG_ERROR = RowLoss("sq_log_error", _sq_log_error, above=MSLE_LOWER_LIMIT)

#: the losses `LossSums.from_rows` and `row_losses` build when not told which
#: (those with a restricted domain only ``with_log``)
BUILT_IN = (ABS_ERROR, ABS_PCT_ERROR, SQ_ERROR, SQ_LOG_ERROR)


def default_losses(with_log: bool) -> list[RowLoss]:
    """The built-in losses; those with a restricted domain (the log loss) only ``with_log``."""
    return [loss for loss in BUILT_IN if with_log or loss.above is None]
