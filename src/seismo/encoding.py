"""Turning a categorical column into bin positions fixed by the reference."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import SeismoWarning

#: Categories remembered per column for unseen-category detection (memory bound).
MAX_TRACKED_CATEGORIES = 10_000


def reference_categories(strings: pa.ChunkedArray, column: str = "") -> pa.Array:
    """Distinct reference values by descending frequency (ties keep first-seen order).

    Beyond `MAX_TRACKED_CATEGORIES` the rarest reference values are forgotten, so they
    count as unseen later; a warning says so.
    """
    counts = pc.value_counts(pc.drop_null(strings))
    return categories_by_count(counts.field("values"), counts.field("counts").to_numpy(), column)


def categories_by_count(values: pa.Array, counts: np.ndarray, column: str = "") -> pa.Array:
    """`reference_categories` from value counts already made (``values`` in first-seen order),
    e.g. merged over the batches of a streamed reference."""
    if len(values) > MAX_TRACKED_CATEGORIES:
        warnings.warn(
            f"column {column!r} has {len(values):,} distinct reference values; only the "
            f"{MAX_TRACKED_CATEGORIES:,} most frequent are remembered, the rest will count as unseen",
            SeismoWarning,
            stacklevel=4,
        )
    order = np.argsort(-np.asarray(counts), kind="stable")
    return values.take(pa.array(order[:MAX_TRACKED_CATEGORIES]))


def category_bins(strings: pa.ChunkedArray, categories: pa.Array, top_k: int) -> np.ndarray:
    """Bin of each value: its category (top ``top_k``), other, unseen, or missing.

    Layout: ``0..k-1`` the top categories, ``k`` other reference categories,
    ``k + 1`` unseen in the reference, ``k + 2`` missing. The lookup is an
    Arrow hash join, so no Python object is created per row.
    """
    index = pc.fill_null(pc.index_in(strings, value_set=categories), -1)
    index = index.to_numpy(zero_copy_only=False).astype(np.int64)
    missing = pc.is_null(strings).to_numpy(zero_copy_only=False)
    k = min(top_k, len(categories))
    bins = np.where(index < 0, k + 1, np.where(index < k, index, k))
    bins[missing] = k + 2
    return bins
