"""Finishes on fine histograms: KS, Wasserstein, coarse counts and quantiles.

Fine bins alternate open intervals (even index ``2k``: between point ``k - 1``
and point ``k``, bin ``0`` and ``2K`` being the tails) and point bins (odd
index ``2k + 1``: values equal to point ``k``); the last bin counts NaN, which
none of these statistics use.
"""

from __future__ import annotations

import numpy as np

from seismo.stats.histogram import Histogram
from seismo.stats.tails import Tails


def _cdf_after_bins(hist: Histogram) -> np.ndarray:
    """Non-NaN CDF at the right end of every fine bin (NaN bin dropped)."""
    counts = hist.counts[:-1]
    return np.cumsum(counts) / counts.sum()


def kolmogorov_smirnov(ref: Histogram, cur: Histogram) -> float:
    """Two-sample KS statistic D = sup |F_ref - F_cur| of the non-NaN values.

    Evaluated at every fine-bin boundary. Inside an open interval F_ref moves by
    at most the reference mass there, which bounds the error; with exact points
    (every distinct reference value a point) that mass is 0 and D equals
    scipy.stats.ks_2samp(ref_values, cur_values).statistic.
    """
    if not (ref.n > 0 and cur.n > 0):
        return float("nan")
    return float(np.abs(_cdf_after_bins(ref) - _cdf_after_bins(cur)).max())


def _mean_offset(rate: np.ndarray) -> np.ndarray:
    """Mean of the density proportional to exp(rate * y) on [0, 1]."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        mean = -1.0 / np.expm1(-rate) - 1.0 / rate
    return np.where(np.abs(rate) < 1e-6, 0.5 + rate / 12.0, mean)


def _exp_rate(mean: np.ndarray) -> np.ndarray:
    """Rate s of the density proportional to exp(s y) on [0, 1] whose mean is ``mean``
    (the maximum-entropy density with that mean: uniform for a centred mean, a
    step at an edge for a mean on that edge)."""
    flip = mean > 0.5  # solve on the mirrored bin, where the rate is <= 0 (no overflow)
    nu = np.clip(np.where(flip, 1.0 - mean, mean), 1e-12, 0.5)
    lo, hi = -(1.0 / nu + 1.0), np.zeros_like(nu)  # _mean_offset(lo) < nu <= _mean_offset(0)
    # bisection, vectorised over bins; _mean_offset is increasing. The bracket's width is
    # about 1/nu ~ |rate|, so 40 halvings give the rate to ~1e-12 relative: far finer than
    # the row placement it serves, at 40% less cost than running to machine precision.
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        above = _mean_offset(mid) > nu
        lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
    rate = 0.5 * (lo + hi)
    return np.where(flip, -rate, rate)


def _exp_quantile(u: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Inverse CDF of the density proportional to exp(rate * y) on [0, 1]."""
    flip = rate > 0
    r = -np.abs(rate)
    u = np.where(flip, 1.0 - u, u)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        y = np.where(np.abs(r) < 1e-9, u, np.log1p(u * np.expm1(r)) / r)
    return np.where(flip, 1.0 - y, y)


_MAX_STEPS = 64  # per side and bin; more rows than this are close to a smooth CDF
_Side = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # before, after, mean, count


def _staircase_area(
    cross: np.ndarray, left: np.ndarray, width: np.ndarray, ref: _Side, cur: _Side
) -> np.ndarray:
    """Integral of |F_ref - F_cur| over the bins ``cross``, each side's rows in a
    bin placed at evenly spaced quantiles of its maximum-entropy density there,
    shifted so that their mean is the bin mean. One row sits exactly at its mean."""
    n = cross.size
    steps = []
    for sign, (before, after, mean, count) in ((1.0, ref), (-1.0, cur)):
        k = np.minimum(np.ceil(count[cross]), _MAX_STEPS).astype(np.int64)  # >= 1 where mass > 0
        nu = (mean[cross] - left[cross]) / width[cross]
        bin_id = np.repeat(np.arange(n), k)
        j = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
        y = _exp_quantile((j + 0.5) / k[bin_id], _exp_rate(nu)[bin_id])
        shift = nu - np.bincount(bin_id, weights=y, minlength=n) / np.maximum(k, 1)
        mass = sign * (after - before)[cross] / np.maximum(k, 1)
        steps.append((bin_id, np.clip(y + shift[bin_id], 0.0, 1.0), mass[bin_id]))
    bin_id, y, jump = (np.concatenate(parts) for parts in zip(*steps, strict=True))
    order = np.lexsort((y, bin_id))
    bin_id, y, jump = bin_id[order], y[order], jump[order]
    # F_ref - F_cur: d_start up to the first step, then after each step up to the next
    d_start = ref[0][cross] - cur[0][cross]
    cum = np.concatenate([[0.0], np.cumsum(jump)])
    first = np.searchsorted(bin_id, np.arange(n))
    d_after = d_start[bin_id] + cum[1:] - cum[first][bin_id]
    last_in_bin = np.append(bin_id[1:] != bin_id[:-1], True)
    gap = np.where(last_in_bin, 1.0, np.append(y[1:], 1.0)) - y
    y_first = y[first]  # a crossing bin has mass on some side, so at least one step
    area = (
        np.bincount(bin_id, weights=np.abs(d_after) * gap, minlength=n) + np.abs(d_start) * y_first
    )
    return area * width[cross]


def wasserstein(ref: Histogram, cur: Histogram, points: np.ndarray) -> float:
    """First Wasserstein distance, the integral of |F_ref - F_cur| dx.

    Over one bin [a, c] the integral of a CDF depends only on the mass before
    the bin, the mass inside and the bin mean (sum / count):
    int_a^c F = F(a) (c - a) + mass (c - mean). So in every bin where
    F_ref - F_cur keeps its sign, the integral of |F_ref - F_cur| is exact.
    Only where the difference changes sign does the position of the rows inside
    the bin matter; there each side's rows are placed at evenly spaced quantiles
    of the maximum-entropy density on [a, c] with the bin mean (a truncated
    exponential: flat for a centred mean, decaying across a tail gap), and the
    two staircases are integrated exactly. Point bins have zero width; the tails
    run from the point range out to the outermost bin mean. With exact points
    the reference is flat inside every open interval, so only the intervals
    where the chunk's CDF crosses it are approximate.
    """
    if not (ref.n > 0 and cur.n > 0):
        return float("nan")
    points = np.asarray(points, dtype=np.float64)
    n_points = len(points)
    if n_points == 0:
        return float("nan")
    interval = slice(0, 2 * n_points + 1, 2)  # open intervals and tails only

    def side(hist: Histogram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        counts = hist.counts[:-1]
        after = np.cumsum(counts) / counts.sum()
        before = after - counts / counts.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts > 0, hist.sums[:-1] / counts, np.nan)
        return before[interval], after[interval], mean[interval]

    r0, r1, r_mean = side(ref)
    c0, c1, c_mean = side(cur)
    left = np.concatenate([[points[0]], points])
    right = np.concatenate([points, [points[-1]]])
    left[0] = np.nanmin([r_mean[0], c_mean[0], points[0]])
    right[-1] = np.nanmax([r_mean[-1], c_mean[-1], points[-1]])
    width = right - left
    r_mean = np.where(np.isnan(r_mean), left, np.clip(r_mean, left, right))
    c_mean = np.where(np.isnan(c_mean), left, np.clip(c_mean, left, right))

    signed = (r0 - c0) * width + (r1 - r0) * (right - r_mean) - (c1 - c0) * (right - c_mean)
    area = np.abs(signed)
    cross = np.flatnonzero(((r0 - c0) * (r1 - c1) < 0) & (width > 0))
    if cross.size:
        r_count, c_count = ref.counts[:-1][interval], cur.counts[:-1][interval]
        area[cross] = _staircase_area(
            cross, left, width, (r0, r1, r_mean, r_count), (c0, c1, c_mean, c_count)
        )
    return float(area.sum())


def coarse_counts(hist: Histogram, mapping: np.ndarray, n_coarse: int) -> np.ndarray:
    """Counts per coarse bin (``mapping`` from ``binning.fine_to_coarse``), NaN dropped."""
    mapping = np.asarray(mapping)
    keep = mapping >= 0
    return np.bincount(mapping[keep], weights=hist.counts[keep], minlength=n_coarse)


def quantile(hist: Histogram, points: np.ndarray, q: float, lo: float, hi: float, tails: Tails | None = None) -> float:
    """Approximate q-quantile of the non-NaN values (numpy's default ``linear`` rule).

    The two order statistics around rank ``(n - 1) q`` are exact in a point bin.
    In an open interval the values are spread evenly between its limits, which
    are the neighbouring points narrowed to the chunk's own ``lo``/``hi`` (the
    tails' outer limits). The chunk's minimum and maximum are known exactly, so
    the first nonempty bin starts at ``lo`` and the last one ends at ``hi``. With ``tails``
    (the values beyond the first and last point, see `seismo.stats.tails`) an order statistic
    in a tail bin is read from its sketch, to a relative accuracy of the distance to the point.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile q must be in [0, 1], got {q}")
    counts = hist.counts[:-1]
    n = counts.sum()
    if not n > 0:
        return float("nan")
    points = np.asarray(points, dtype=np.float64)
    limits = np.concatenate([[lo], points, [hi]])  # open interval 2k spans limits[k..k+1]
    rank = (n - 1) * float(q)
    orders = np.array([np.floor(rank), min(np.floor(rank) + 1, n - 1)])
    cum = np.cumsum(counts)
    b = np.searchsorted(cum, orders, side="right")  # first bin holding more than `order` values
    k, m = b // 2, counts[b]
    nonempty = np.flatnonzero(counts)
    gap_left = np.where(b == nonempty[0], 0.0, 0.5)  # half a spacing unless pinned to lo/hi
    gap_right = np.where(b == nonempty[-1], 0.0, 0.5)
    spacings = m - 1 + gap_left + gap_right
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(spacings > 0, (orders - (cum[b] - m) + gap_left) / spacings, 0.0)
    start, stop = np.maximum(limits[k], lo), np.minimum(limits[k + 1], hi)
    values = np.where(b % 2 == 1, limits[k + 1], start + t * (stop - start))
    if tails is not None:  # beyond the reference's range even spreading is off by orders of magnitude
        within = orders - (cum[b] - m)
        for upper, tail_bin, sketch in ((False, 0, tails.below), (True, counts.size - 1, tails.above)):
            here = b == tail_bin
            if here.any() and sketch.n > 0:
                values = np.where(here, tails.value(upper, np.where(here, within, 0.0)), values)
    frac = rank - orders[0]
    return float(values[0] + frac * (values[1] - values[0]))
