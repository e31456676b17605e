"""How close two results must be when the same rows were summed in two different orders.

Streaming batches, Spark partitions, merged partials and incremental runs all add a chunk's
rows in another order than one in-memory pass does. A float64 sum of n terms is then good to
about n * eps * sum|terms| in absolute terms, not relative to the result. For distances, rates,
standard deviations and means of one-signed values that is far below rtol=1e-9. A DataQuality
``sum`` or ``mean`` of a column centred on 0 can itself be close to 0, though, and then only an
absolute tolerance of the right size is a guarantee on every machine (issue 12, item 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RTOL = 1e-9
ATOL = 1e-12
# The test data have chunks of at most 20 000 rows of |x| below ~3 on average, so
# n * eps * sum|x| < 20 000 * 1.1e-16 * 60 000 = 1.3e-7 for a sum, and n * eps * mean|x| < 7e-12
# for a mean. The floors below sit well above that, and far below any real bug (one row more
# or less moves a sum by about 1 and a mean by about 1e-4).
ATOL_BY_METRIC = {"sum": 1e-6, "mean": 1e-10}


def assert_close_by_metric(actual, desired, metrics, err_msg: str = "") -> None:
    """``assert_allclose`` at rtol 1e-9 / atol 1e-12, with the wider absolute floor above for
    the rows whose metric is a ``sum`` or ``mean``; NaN equals NaN."""
    actual, desired = (pd.Series(np.ravel(x)).astype(float).to_numpy() for x in (actual, desired))
    metrics = pd.Series(list(metrics), dtype=object).to_numpy()
    rest = ~np.isin(metrics, list(ATOL_BY_METRIC))
    np.testing.assert_allclose(actual[rest], desired[rest], rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=err_msg)
    for metric, atol in ATOL_BY_METRIC.items():
        rows = metrics == metric
        np.testing.assert_allclose(actual[rows], desired[rows], rtol=RTOL, atol=atol, equal_nan=True,
                                   err_msg=f"{err_msg} ({metric})")
