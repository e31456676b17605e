"""Bin edges fixed from the reference at fit time, and the bin index of new values.

The binning rule (documented in docs/binning.md):

* A continuous column is summarised on *fine points*: every distinct reference
  value when there are at most ``max_points`` of them, otherwise
  ``max_points`` reference quantiles (``inverted_cdf``, so each point is a real
  reference value) joined with an evenly spaced grid of the same size over the
  reference range. The grid keeps resolution where an analysis chunk moves into
  a region the reference barely covers.
* The fine points interleave two kinds of bins: a *point bin* holding values
  exactly equal to a point, and an *open interval* between two neighbouring
  points. Bin ``2k + 1`` is point ``k``; bin ``2k`` is the open interval below
  it. Bin ``0`` is the lower tail (below the reference minimum), bin ``2K`` the
  upper tail (above the maximum), and the last bin, ``2K + 1``, counts NaN.
  ±inf are values: they land in the tails, as scipy's KS would count them.
  With exact points the reference has no mass inside any open interval, which
  makes KS exact and Wasserstein exact up to the few intervals where the two
  CDFs cross.
* Distances on proportions (Jensen-Shannon, Hellinger, PSI) use *coarse bins*:
  ``n_bins`` equal-frequency reference quantile bins, right-closed, plus one
  tail bin on each side for values outside the reference range. The coarse
  edges are themselves fine points, so a coarse histogram is a sum of fine bins.
"""

from __future__ import annotations

import weakref

import numpy as np

DEFAULT_MAX_POINTS = 5_000
DEFAULT_COARSE_BINS = 10


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def coarse_edges(ref_values: np.ndarray, n_bins: int = DEFAULT_COARSE_BINS) -> np.ndarray:
    """Distinct reference quantiles ``min = e_0 < e_1 < ... < e_m = max``."""
    finite = _finite(ref_values)
    if finite.size == 0:
        return np.empty(0)
    probs = np.linspace(0.0, 1.0, n_bins + 1)
    return np.unique(np.quantile(finite, probs, method="inverted_cdf"))


def fine_points(
    ref_values: np.ndarray,
    max_points: int = DEFAULT_MAX_POINTS,
    include: np.ndarray | None = None,
    grid_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Sorted distinct points that define the fine bins (see module docstring).

    ``include`` adds points that must be present (the coarse edges);
    ``grid_range`` overrides the range of the even grid (``(0, 1)`` for scores).
    """
    finite = _finite(ref_values)
    extra = np.empty(0) if include is None else np.asarray(include, dtype=np.float64)
    distinct = np.unique(finite)
    if distinct.size <= max_points:
        return np.unique(np.concatenate([distinct, extra]))
    quantiles = np.quantile(finite, np.linspace(0.0, 1.0, max_points), method="inverted_cdf")
    lo, hi = grid_range if grid_range is not None else (distinct[0], distinct[-1])
    grid = np.linspace(lo, hi, max_points)
    return np.unique(np.concatenate([quantiles, grid, extra]))


def n_fine_bins(points: np.ndarray) -> int:
    """Number of fine bins, the NaN bin included: ``2K + 2``."""
    return 2 * len(points) + 2


def fine_bin_index(values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Fine bin of each value; NaN goes to the last bin (``2K + 1``), ±inf to the tails.

    Large inputs go through a lookup table (`PointLookup`); the result is identical to
    the binary search, which stays the reference implementation (`_search_bins`).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size >= LOOKUP_MIN_VALUES and len(points) >= 2:
        lookup = _lookup_for(points)
        if lookup is not None and lookup.worthwhile:
            return lookup.bins(values)
    return _search_bins(values, points)


def _search_bins(values: np.ndarray, points: np.ndarray) -> np.ndarray:
    k = np.searchsorted(points, values, side="left")
    n_points = len(points)
    if n_points == 0:
        bins = np.zeros(values.shape, dtype=np.int64)
    else:
        at = points[np.minimum(k, n_points - 1)]
        bins = 2 * k + ((k < n_points) & (at == values))
    bins[np.isnan(values)] = 2 * n_points + 1
    return bins.astype(np.int64, copy=False)


LOOKUP_MIN_VALUES = 20_000  # below this the table's set-up is not worth it
_CELLS_PER_POINT = 64
_MAX_CELLS = 1 << 22


class PointLookup:
    """Fine bins by table lookup instead of binary search.

    The reference range is cut into many equal cells. A cell with no point in it or
    in its two neighbours maps every value in it to the same open-interval bin, read
    from the table in O(1). A cell whose neighbourhood holds exactly one point ``k``
    needs one comparison: below it bin ``2k``, equal ``2k + 1``, above ``2k + 2``
    (values clipped into the end cells lie beyond every point, so the rule holds
    there too). Values in the remaining cells (several points close together)
    fall back to the binary search. The neighbour margin absorbs floating-point
    rounding of the cell number, so the answer equals `_search_bins` exactly. Where most values fall back
    (heavy tails squeeze the data into few cells; a discrete column's values sit on
    its points) the lookup is slower than plain search, so after one use it retires
    itself when more than ``MAX_SLOW_SHARE`` of the values needed the fallback.
    """

    MAX_SLOW_SHARE = 0.25

    def __init__(self, points: np.ndarray):
        self.points = points
        self.lo, hi = float(points[0]), float(points[-1])
        self.n_cells = int(np.clip(_CELLS_PER_POINT * len(points), 1 << 12, _MAX_CELLS))
        self.scale = self.n_cells / (hi - self.lo)
        edges = self.lo + np.arange(self.n_cells + 3, dtype=np.float64) / self.scale  # edge c of cell c
        # points in [edge(c - 1), edge(c + 2)]: cell c and its neighbours
        left = np.searchsorted(points, edges[np.maximum(np.arange(self.n_cells) - 1, 0)], side="left")
        right = np.searchsorted(points, edges[np.arange(self.n_cells) + 2], side="right")
        # 2k: the open interval below point k (no point near); -2 - k: only point k near; -1: several
        self.table = np.select([right == left, right == left + 1], [2 * left, -2 - left], -1).astype(np.int64)
        self.worthwhile = True

    BLOCK = 1 << 16  # values per block: the temporaries of a block stay in cache

    def bins(self, values: np.ndarray) -> np.ndarray:
        """Fine bins of ``values``, a cache-sized block at a time (memory traffic, not arithmetic,
        bounds this loop: whole-array temporaries would stream every value through RAM ~10 times)."""
        out = np.empty(len(values), dtype=np.int64)
        n_slow = 0
        for start in range(0, len(values), self.BLOCK):
            block = values[start:start + self.BLOCK]
            out[start:start + len(block)], slow = self._block_bins(block)
            n_slow += slow
        self.worthwhile = n_slow <= self.MAX_SLOW_SHARE * len(values)
        return out

    def _block_bins(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        t = np.subtract(values, self.lo)
        t *= self.scale
        np.clip(t, 0, self.n_cells - 1, out=t)
        nan = np.isnan(values)
        t[nan] = 0
        out = self.table.take(t.astype(np.intp))
        near = out < 0
        near &= ~nan
        rows = np.flatnonzero(near)
        codes = out[rows]
        single = codes <= -2
        if single.any():
            at, k = rows[single], -2 - codes[single]
            v, point = values[at], self.points[k]
            out[at] = 2 * k + (v >= point) + (v > point)
        slow = rows[~single]
        if slow.size:
            out[slow] = _search_bins(values[slow], self.points)
        out[nan] = 2 * len(self.points) + 1
        return out, int(slow.size)


_LOOKUPS: dict[int, tuple[weakref.ref, PointLookup | None]] = {}


def _lookup_for(points: np.ndarray) -> PointLookup | None:
    """The lookup of a points array, built once per array (trackers keep theirs for their lifetime)."""
    entry = _LOOKUPS.get(id(points))
    if entry is not None and entry[0]() is points:
        return entry[1]
    span = float(points[-1] - points[0])
    magnitude = max(abs(float(points[0])), abs(float(points[-1])), np.finfo(float).tiny)
    # cells must be far wider than the rounding of a value's cell number
    usable = np.isfinite(span) and span > 1e6 * np.spacing(magnitude) * _CELLS_PER_POINT * len(points)
    lookup = PointLookup(points) if usable else None
    for key in [k for k, (ref, _) in _LOOKUPS.items() if ref() is None]:
        del _LOOKUPS[key]
    _LOOKUPS[id(points)] = (weakref.ref(points), lookup)
    return lookup


def fine_to_coarse(points: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Map every fine bin to its coarse bin; the NaN bin maps to -1.

    Coarse bin 0 is the lower tail, ``1..m`` the right-closed quantile bins
    (the first one closed on both sides), ``m + 1`` the upper tail. A constant
    reference (one edge) has a single middle bin.
    """
    n_points = len(points)
    m = len(edges) - 1
    upper = max(m, 1) + 1
    if m < 0:
        below = np.ones(n_points, dtype=np.int64)
        at = below
    else:
        # Coarse bin of the open interval just below each point: 0 up to e_0, j for
        # (e_{j-1}, e_j], the upper tail above e_m. Grid points (``grid_range``)
        # can lie outside the reference range, so both tails can hold fine bins.
        below = np.searchsorted(edges, points, side="left")
        below = np.where(points > edges[-1], upper, below)
        at = np.where(points == edges[0], 1, below)  # bin 1 is closed at e_0
    mapping = np.empty(2 * n_points + 2, dtype=np.int64)
    mapping[1 : 2 * n_points : 2] = at  # point bins
    mapping[2 : 2 * n_points : 2] = below[1:]  # open interval below point k
    mapping[0] = 0
    mapping[2 * n_points] = upper
    mapping[2 * n_points + 1] = -1
    return mapping


def n_coarse_bins(edges: np.ndarray) -> int:
    """Quantile bins plus the two tail bins."""
    return max(len(edges) - 1, 1) + 2
