"""Row keys for bounded uniform samples that do not depend on how rows arrive.

Giving every row a pseudo-random key computed from its global position and keeping the
rows with the ``k`` smallest keys ("bottom-k" sampling, Cohen & Kaplan, "Summarizing data
using bottom-k sketches", PODC 2007) gives a uniform sample that is the same whatever the
batch size: the union of two such samples, cut back to the ``k`` smallest keys, is exactly
the sample of the union. `seismo.chunks.reference.BottomKRows` samples a streamed reference this way.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_keys(positions: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64 of (seed, position): a fixed pseudo-random 64-bit key per row position."""
    with np.errstate(over="ignore"):
        z = positions.astype(np.uint64) * _GOLDEN + np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
