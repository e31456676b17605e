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


def coarse_atoms(ref_values: np.ndarray, edges: np.ndarray, n_bins: int = DEFAULT_COARSE_BINS) -> np.ndarray:
    """Which coarse edges are *atoms*: values holding at least ``1 / n_bins`` of the reference.

    Equal-frequency bins are right-closed, so a value that carries a whole bin's worth of
    rows (the zeros of a zero-inflated column, the few values of a tied one) would share its
    bin with the interval below or above it, and a chunk that moves rows from the atom to
    its neighbours would look unchanged. An atom gets a bin of its own instead. Such a value
    always spans one of the quantile levels ``j / n_bins``, so it is always an edge.
    """
    finite = np.sort(_finite(ref_values))
    if finite.size == 0 or edges.size == 0:
        return np.zeros(edges.size, dtype=bool)
    mass = (np.searchsorted(finite, edges, side="right") - np.searchsorted(finite, edges, side="left")) / finite.size
    return mass >= 1.0 / n_bins


def _segment_groups(edges: np.ndarray, atoms: np.ndarray | None) -> np.ndarray:
    """Coarse bin of each *segment* of the line cut by the edges ``e_0 < ... < e_m``.

    Segments: ``0`` below ``e_0``, ``2j + 1`` the value ``e_j``, ``2j`` the open interval
    ``(e_{j-1}, e_j)``, ``2m + 2`` above ``e_m``. Bins are right-closed (``{e_j}`` joins the
    interval below it) and the first is closed at ``e_0`` (``{e_0}`` joins ``(e_0, e_1)``),
    except that an atom (`coarse_atoms`) is a bin of its own.
    """
    m = len(edges) - 1
    atoms = np.zeros(m + 1, dtype=bool) if atoms is None else np.asarray(atoms, dtype=bool)
    starts = np.ones(2 * m + 3, dtype=bool)  # segments that open a new coarse bin
    starts[3 : 2 * m + 2 : 2] = atoms[1:]  # {e_j} joins (e_{j-1}, e_j) unless an atom
    if m >= 1:  # (e_0, e_1) joins {e_0} unless e_0 is an atom (with m = 0, segment 2 is the upper tail)
        starts[2] = atoms[0]
    return np.cumsum(starts) - 1


def fine_to_coarse(points: np.ndarray, edges: np.ndarray, atoms: np.ndarray | None = None) -> np.ndarray:
    """Map every fine bin to its coarse bin; the NaN bin maps to -1.

    Coarse bin 0 is the lower tail, then the right-closed quantile bins (the first one
    closed on both sides, every atom a bin of its own), then the upper tail. A constant
    reference (one edge) has a single middle bin. The edges must be among the points.
    """
    n_points = len(points)
    mapping = np.empty(2 * n_points + 2, dtype=np.int64)
    mapping[2 * n_points + 1] = -1
    if len(edges) == 0:  # no finite reference value: one middle bin between the tails
        mapping[: 2 * n_points + 1] = 1
        mapping[0], mapping[2 * n_points] = 0, 2
        return mapping
    groups = _segment_groups(edges, atoms)
    # Grid points (``grid_range``) can lie outside the reference range, so both tails can
    # hold fine bins. The open interval below point k lies in the segment of the interval
    # that ends at or after point k, whether or not point k is an edge.
    k = np.searchsorted(edges, points, side="left")
    is_edge = (k < len(edges)) & (edges[np.minimum(k, len(edges) - 1)] == points)
    mapping[1 : 2 * n_points : 2] = groups[2 * k + is_edge]  # point bins
    mapping[2 : 2 * n_points : 2] = groups[2 * k[1:]]  # open interval below point k
    mapping[0] = 0
    mapping[2 * n_points] = groups[-1]
    return mapping


def n_coarse_bins(edges: np.ndarray, atoms: np.ndarray | None = None) -> int:
    """Quantile bins (atoms apart) plus the two tail bins."""
    if len(edges) == 0:
        return 3
    return int(_segment_groups(edges, atoms)[-1]) + 1
