"""Shared settings, strategies and comparisons of the property-based tests (tests/properties/).

Every property here runs under `PROPERTY`: a bounded number of examples, no deadline (a busy
CI core must not fail a test by being slow) and ``derandomize=True``, so that CI draws the
same examples on every run and a failure always reproduces. The example database is off for
the same reason: a test's examples never depend on what an earlier run found.

Tolerances: sums of at most a few hundred terms of one sign (counts, losses, proportions) are
exact to a few ulps, so `REL` (1e-9 relative) is six orders of magnitude above what the
computation guarantees on any BLAS or machine. Where terms cancel, the test scales its
absolute tolerance with the sum of the terms' magnitudes and says so.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

REL = 1e-9


def property_settings(max_examples: int) -> settings:
    """Deterministic, deadline-free settings with ``max_examples`` examples."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


PROPERTY = property_settings(60)

# A few round values make ties (equal scores, equal targets) common; free floats make them rare.
LEVELS = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
unit_floats = st.one_of(st.sampled_from(LEVELS), st.floats(0.0, 1.0, allow_nan=False))


def same(actual: float, expected: float, rel: float = REL, abs_tol: float = 0.0) -> bool:
    """Equal within ``rel`` (relative) or ``abs_tol``; NaN equals NaN, inf equals inf of its sign."""
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol)


def assert_same(actual: float, expected: float, what: str = "", rel: float = REL, abs_tol: float = 0.0) -> None:
    assert same(float(actual), float(expected), rel, abs_tol), f"{what}: seismo {actual!r} != reference {expected!r}"


def assert_arrays_same(actual: np.ndarray, expected: np.ndarray, what: str = "", rel: float = REL,
                       abs_tol: float = 0.0) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shapes {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rel, atol=abs_tol, equal_nan=True, err_msg=what)
