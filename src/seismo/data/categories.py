"""Turning a categorical column into bin positions fixed by the reference."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo.data.io import dictionary_form, string_values
from seismo.errors import SeismoWarning

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
    Arrow hash join, so no Python object is created per row. Text that
    `string_values` made from a dictionary column (pandas categoricals, parquet
    dictionary pages) looks up each dictionary entry once instead, and rows take
    their entry's bin.
    """
    if isinstance(strings, pa.Array):
        strings = pa.chunked_array([strings])
    if pa.types.is_dictionary(strings.type):
        strings = string_values(strings)
    k = min(top_k, len(categories))
    encoded = dictionary_form(strings)
    if encoded is not None:
        return _dictionary_category_bins(encoded, categories, k)
    bins = _bins_of(pc.index_in(strings, value_set=categories), len(categories), k)
    if strings.null_count:
        bins[pc.is_null(strings).to_numpy(zero_copy_only=False)] = k + 2
    return bins


def _bins_of(index: pa.ChunkedArray | pa.Array, n_categories: int, k: int) -> np.ndarray:
    """Bins of positions in the categories; null (not found) is unseen."""
    # position j -> bin min(j, k); slot -1 (filled for "not found") -> unseen
    by_position = np.append(np.minimum(np.arange(n_categories, dtype=np.int64), k), k + 1)
    found = pc.fill_null(index, -1).to_numpy(zero_copy_only=False)
    return by_position.take(found)


def _dictionary_category_bins(strings: pa.ChunkedArray, categories: pa.Array, k: int) -> np.ndarray:
    parts = []
    dictionary: pa.Array | None = None
    by_entry = np.empty(0, dtype=np.int64)  # set from the first chunk's dictionary
    for chunk in strings.chunks:
        if dictionary is None or not chunk.dictionary.equals(dictionary):  # chunks often share one
            dictionary = chunk.dictionary
            by_entry = _bins_of(pc.index_in(dictionary, value_set=categories), len(categories), k)
            by_entry[pc.is_null(dictionary).to_numpy(zero_copy_only=False)] = k + 2
            by_entry = np.append(by_entry, k + 2)  # slot for rows whose index is null
        indices = pc.fill_null(pc.cast(chunk.indices, pa.int64()), len(dictionary))
        parts.append(by_entry.take(indices.to_numpy(zero_copy_only=False)))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
