"""Finishes on fine histograms: KS, Wasserstein, coarse counts and quantiles.

Fine bins alternate open intervals (even index ``2k``: between point ``k - 1``
and point ``k``, bin ``0`` and ``2K`` being the tails) and point bins (odd
index ``2k + 1``: values equal to point ``k``); the last bin counts NaN, which
none of these statistics use.
"""

from __future__ import annotations

import numpy as np

from seismo.stats.histogram import Histogram


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


def _ramp(x: np.ndarray, start: np.ndarray, end: np.ndarray, from_right: bool) -> np.ndarray:
    """Fraction of a bin's mass below ``x`` when it is spread evenly on [start, end].

    A zero-width ramp is a step; ``from_right`` picks its right or left limit.
    """
    width = end - start
    with np.errstate(invalid="ignore", divide="ignore"):
        ramp = np.clip((x - start) / width, 0.0, 1.0)
    step = x >= start if from_right else x > start
    return np.where(width > 0, ramp, step)


def wasserstein(ref: Histogram, cur: Histogram, points: np.ndarray) -> float:
    """First Wasserstein distance, the integral of |F_ref - F_cur| dx.

    Model: inside one bin [a, c] each side's mass is spread evenly on the widest
    interval centred on that side's bin mean (sum / count) that fits in the bin,
    so its CDF ramps linearly from the mass before the bin to the mass after it
    (a step when the mean sits on an edge). |F_ref - F_cur| is then piecewise
    linear between the ramp ends, and its integral is exact for the model. Since
    the integral of a CDF over [a, c] depends only on the mass and the mean
    inside, the result is exact wherever the two CDFs do not cross inside a bin;
    where they cross, the ramp is much closer to a dense chunk than a single step
    at the mean would be. Point bins have zero width. The tails run from the
    point range out to the outermost bin mean.
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

    def support(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # An empty side is flat in the bin, so its (zero-width) ramp may sit anywhere.
        centre = np.where(np.isnan(mean), left, np.clip(mean, left, right))
        half = np.minimum(centre - left, right - centre)
        return centre - half, centre + half

    r_start, r_end = support(r_mean)
    c_start, c_end = support(c_mean)
    cuts = np.sort(np.stack([left, r_start, r_end, c_start, c_end, right], axis=1), axis=1)
    x0, x1 = cuts[:, :-1], cuts[:, 1:]  # segments on which both CDFs are linear

    def diff(x: np.ndarray, from_right: bool) -> np.ndarray:
        f_ref = r0[:, None] + (r1 - r0)[:, None] * _ramp(x, r_start[:, None], r_end[:, None], from_right)
        f_cur = c0[:, None] + (c1 - c0)[:, None] * _ramp(x, c_start[:, None], c_end[:, None], from_right)
        return f_ref - f_cur

    d0, d1 = np.abs(diff(x0, True)), np.abs(diff(x1, False))
    crossing = np.sign(diff(x0, True)) * np.sign(diff(x1, False)) < 0
    with np.errstate(invalid="ignore", divide="ignore"):
        # A linear d crossing zero: two triangles, areas d0^2 and d1^2 over 2 (d0 + d1) per unit length.
        mean_abs = np.where(crossing, (d0**2 + d1**2) / (2.0 * (d0 + d1)), 0.5 * (d0 + d1))
    return float(((x1 - x0) * mean_abs).sum())


def coarse_counts(hist: Histogram, mapping: np.ndarray, n_coarse: int) -> np.ndarray:
    """Counts per coarse bin (``mapping`` from ``binning.fine_to_coarse``), NaN dropped."""
    mapping = np.asarray(mapping)
    keep = mapping >= 0
    return np.bincount(mapping[keep], weights=hist.counts[keep], minlength=n_coarse)


def quantile(hist: Histogram, points: np.ndarray, q: float, lo: float, hi: float) -> float:
    """Approximate q-quantile of the non-NaN values (numpy's default ``linear`` rule).

    The two order statistics around rank ``(n - 1) q`` are exact in a point bin.
    In an open interval the values are spread evenly between its limits, which
    are the neighbouring points narrowed to the chunk's own ``lo``/``hi`` (the
    tails' outer limits). The chunk's minimum and maximum are known exactly, so
    the first nonempty bin starts at ``lo`` and the last one ends at ``hi``.
    """
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
    frac = rank - orders[0]
    return float(values[0] + frac * (values[1] - values[0]))
