"""Distances between a reference and a chunk given as counts over the same bins.

Each function takes the reference counts first and the chunk counts second,
normalises both to proportions and ignores bins that are empty on both sides.
A side with no mass at all has no distribution, so the result is ``nan``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import chdtrc, rel_entr

PSI_FLOOR = 1e-4
"""Proportions are floored at this value inside PSI so a bin empty on one side
gives a large but finite term instead of an infinite one; flooring (or adding a
small epsilon) is the usual convention wherever PSI is computed on bins."""


def _proportions(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    ref = np.asarray(ref, dtype=np.float64)
    cur = np.asarray(cur, dtype=np.float64)
    if ref.shape != cur.shape:
        raise ValueError(f"count vectors differ in length: {ref.size} and {cur.size}")
    n_ref, n_cur = ref.sum(), cur.sum()
    if not (n_ref > 0 and n_cur > 0):
        return None
    keep = (ref > 0) | (cur > 0)
    return ref[keep] / n_ref, cur[keep] / n_cur


def jensen_shannon(ref: np.ndarray, cur: np.ndarray) -> float:
    """Jensen-Shannon distance, base 2, in [0, 1]; symmetric and always finite.

    sqrt((KL(p||m) + KL(q||m)) / 2) with m = (p + q) / 2, the definition used by
    scipy.spatial.distance.jensenshannon.
    """
    pq = _proportions(ref, cur)
    if pq is None:
        return float("nan")
    p, q = pq
    m = 0.5 * (p + q)
    divergence = 0.5 * (rel_entr(p, m).sum() + rel_entr(q, m).sum()) / np.log(2.0)
    return float(np.sqrt(np.clip(divergence, 0.0, 1.0)))


def hellinger(ref: np.ndarray, cur: np.ndarray) -> float:
    """Hellinger distance sqrt(sum((sqrt(p) - sqrt(q))^2) / 2), in [0, 1].

    Algebraically sqrt(1 - sum(sqrt(p q))), but that form subtracts two numbers near 1:
    identical proportions such as (1, 4, 1) / 6 came out at 1e-8 instead of 0, and every
    small distance carried that much noise. Summing squared differences never cancels.
    """
    pq = _proportions(ref, cur)
    if pq is None:
        return float("nan")
    p, q = pq
    return float(min(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)), 1.0))


def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """Population stability index sum((q - p) ln(q / p)), proportions floored at
    ``PSI_FLOOR`` so it stays finite when a bin is empty on one side."""
    pq = _proportions(ref, cur)
    if pq is None:
        return float("nan")
    p, q = (np.maximum(x, PSI_FLOOR) for x in pq)
    return float(((q - p) * np.log(q / p)).sum())


def l_infinity(ref: np.ndarray, cur: np.ndarray, skip: int | None = None) -> float:
    """Largest absolute change of one bin's proportion.

    ``skip``: a bin that counts in the totals but is not a candidate for the maximum
    (an aggregate such as "other categories", whose noise would mask single categories).
    """
    ref = np.asarray(ref, dtype=np.float64)
    cur = np.asarray(cur, dtype=np.float64)
    n_ref, n_cur = ref.sum(), cur.sum()
    if not (n_ref > 0 and n_cur > 0):
        return float("nan")
    change = np.abs(ref / n_ref - cur / n_cur)
    if skip is not None and change.size > 1:
        change = np.delete(change, skip)
    return float(change.max())


def chi2(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity on the 2 x B table of counts.

    Equals ``scipy.stats.chi2_contingency(table)`` with its defaults (Yates'
    correction on a 2 x 2 table). With fewer than two non-empty bins there is
    nothing to compare: statistic 0, p-value 1.
    """
    ref = np.asarray(ref, dtype=np.float64)
    cur = np.asarray(cur, dtype=np.float64)
    if ref.shape != cur.shape:
        raise ValueError(f"count vectors differ in length: {ref.size} and {cur.size}")
    if not (ref.sum() > 0 and cur.sum() > 0):
        return float("nan"), float("nan")
    keep = (ref > 0) | (cur > 0)
    if keep.sum() < 2:
        return 0.0, 1.0
    observed = np.vstack([ref[keep], cur[keep]])
    # Expected counts under homogeneity: row total x column total / grand total.
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    dof = observed.shape[1] - 1
    if dof == 1:  # Yates' continuity correction, as chi2_contingency applies it
        diff = expected - observed
        observed = observed + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return statistic, float(chdtrc(dof, statistic))
