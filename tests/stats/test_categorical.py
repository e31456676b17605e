"""Every value gets the bin its category promises (top-K, other, unseen,
missing), and finishing merged CategoryCounts of any partition of the rows
equals finishing the counts of all rows."""

from functools import reduce

import numpy as np
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

from seismo.data.categories import category_bins
from seismo.data.io import string_values
from seismo.stats.categorical import CategoryCounts
from seismo.stats.distances import chi2, hellinger, jensen_shannon, l_infinity, psi

CATEGORIES = [f"c{i}" for i in range(12)]


def draw(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """Object array of categories, unseen values and missing (None and NaN)."""
    pool = np.array([*CATEGORIES, "new1", "new2", None, np.nan], dtype=object)
    return pool[rng.choice(len(pool), size=n, p=weights / weights.sum())]


def category_codes(values: np.ndarray, categories: list[str], top_k: int) -> np.ndarray:
    """The calculators' encoding: Arrow strings (None and NaN are null) to bin positions."""
    strings = string_values(pa.array([None if v is None or v != v else v for v in values], type=pa.string()))
    return category_bins(strings, pa.array(categories), top_k)


def n_category_bins(categories: list[str], top_k: int) -> int:
    return min(top_k, len(categories)) + 3


def brute_code(value, top_k: int) -> int:
    k = min(top_k, len(CATEGORIES))
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return k + 2
    if value not in CATEGORIES:
        return k + 1
    return min(CATEGORIES.index(value), k)


@pytest.mark.parametrize("top_k", [0, 5, 12, 50])
def test_codes_match_definition(top_k: int) -> None:
    rng = np.random.default_rng(top_k)
    values = draw(rng, 500, np.ones(16))
    codes = category_codes(values, CATEGORIES, top_k)
    assert codes.tolist() == [brute_code(v, top_k) for v in values]
    assert codes.max() < n_category_bins(CATEGORIES, top_k)


@pytest.mark.parametrize("top_k", [0, 5, 50])
def test_dictionary_columns_give_the_same_codes(top_k: int) -> None:
    """Categoricals look up each dictionary entry once; the bins equal those of plain text."""
    rng = np.random.default_rng(top_k + 1)
    values = draw(rng, 3000, np.ones(16))
    plain = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]
    want = [brute_code(v, top_k) for v in values]
    chunks = [pa.array(plain[i : i + 700]).dictionary_encode() for i in range(0, 3000, 700)]  # own dictionaries
    with_null_entry = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 2, 1], pa.int8()), pa.array(["c0", None, "new1"])
    )
    cases = [
        (pa.chunked_array(chunks), want),
        (pa.chunked_array([pa.array(plain).dictionary_encode()]).cast(pa.dictionary(pa.int32(), pa.large_string())), want),
        (pa.chunked_array([with_null_entry]), [brute_code(v, top_k) for v in ["c0", None, None, "new1", None]]),
    ]
    for column, expected in cases:
        strings = string_values(column)
        assert strings.type == pa.string()
        assert strings.to_pylist() == pa.chunked_array([column.cast(column.type.value_type)]).to_pylist()
        assert category_bins(strings, pa.array(CATEGORIES), top_k).tolist() == expected
        assert category_bins(column, pa.array(CATEGORIES), top_k).tolist() == expected


def test_numeric_dictionary_is_text_like_plain_numbers() -> None:
    floats = pa.array([1.0, 2.5, float("nan"), None, 3.0, 1.0])
    for column in (floats, pa.array([True, False, None])):
        assert string_values(column.dictionary_encode()).to_pylist() == string_values(column).to_pylist()
    codes = category_bins(string_values(floats.dictionary_encode()), pa.array(["1", "3", "2.5"]), 1)
    assert codes.tolist() == [0, 1, 3, 3, 1, 0]


def test_counts_properties() -> None:
    values = np.array(["c0", "c0", "c7", "zzz", None, np.nan, "c1"], dtype=object)
    counts = CategoryCounts.from_codes(
        category_codes(values, CATEGORIES, 3), n_category_bins(CATEGORIES, 3)
    )
    assert counts.counts.tolist() == [2.0, 1.0, 0.0, 1.0, 1.0, 2.0]
    assert counts.counts.dtype == np.float64
    assert (counts.n, counts.n_missing, counts.n_unseen) == (5.0, 2.0, 1.0)


def finish_all(ref: CategoryCounts, cur: CategoryCounts) -> np.ndarray:
    """All categorical statistics on the non-missing bins."""
    r, c = ref.counts[:-1], cur.counts[:-1]
    return np.array(
        [*chi2(r, c), jensen_shannon(r, c), hellinger(r, c), l_infinity(r, c), psi(r, c)]
    )


def random_parts(rng: np.random.Generator, n: int, n_parts: int) -> list[np.ndarray]:
    """Random partition of range(n) into parts of random sizes, one of them empty."""
    order = rng.permutation(n)
    parts = np.split(order, np.sort(rng.integers(0, n + 1, size=n_parts - 2)))
    parts.append(order[:0])
    rng.shuffle(parts)
    return parts


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_finishing_merged_partitions_equals_whole(seed: int) -> None:
    rng = np.random.default_rng(seed)
    top_k, n_bins = 8, n_category_bins(CATEGORIES, 8)
    ref = CategoryCounts.from_codes(
        category_codes(draw(rng, 20_000, rng.uniform(1, 5, 16)), CATEGORIES, top_k), n_bins
    )
    codes = category_codes(draw(rng, 10_000, rng.uniform(1, 5, 16)), CATEGORIES, top_k)
    parts = [
        CategoryCounts.from_codes(codes[idx], n_bins) for idx in random_parts(rng, len(codes), 6)
    ]
    merged = reduce(lambda a, b: a + b, [parts[i] for i in rng.permutation(len(parts))])
    whole = CategoryCounts.from_codes(codes, n_bins)
    assert np.array_equal(merged.counts, whole.counts)
    np.testing.assert_allclose(
        finish_all(ref, merged), finish_all(ref, whole), rtol=1e-9, atol=1e-12
    )
    a, b, c = parts[:3]
    assert np.array_equal(((a + b) + c).counts, a.merge(b.merge(c)).counts)


@pytest.mark.parametrize("seed", [0, 1])
def test_statistics_equal_scipy_on_category_counts(seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    n_bins = n_category_bins(CATEGORIES, 12)
    ref = CategoryCounts.from_codes(
        category_codes(draw(rng, 5_000, rng.uniform(0, 5, 16)), CATEGORIES, 12), n_bins
    )
    cur = CategoryCounts.from_codes(
        category_codes(draw(rng, 3_000, rng.uniform(0, 5, 16)), CATEGORIES, 12), n_bins
    )
    r, c = ref.counts[:-1], cur.counts[:-1]
    keep = (r > 0) | (c > 0)
    want = chi2_contingency(np.vstack([r[keep], c[keep]]))
    assert chi2(r, c) == pytest.approx((want.statistic, want.pvalue), rel=1e-9)
    assert jensen_shannon(r, c) == pytest.approx(
        jensenshannon(r / r.sum(), c / c.sum(), base=2), abs=1e-12
    )


def test_subtraction_gives_the_remaining_rows() -> None:
    rng = np.random.default_rng(7)
    n_bins = n_category_bins(CATEGORIES, 8)
    codes = category_codes(draw(rng, 5_000, np.ones(16)), CATEGORIES, 8)
    total = CategoryCounts.from_codes(codes, n_bins)
    rest = total - CategoryCounts.from_codes(codes[:1_200], n_bins)
    assert np.array_equal(rest.counts, CategoryCounts.from_codes(codes[1_200:], n_bins).counts)


def test_mismatched_bins_raise() -> None:
    with pytest.raises(ValueError, match="different categories"):
        CategoryCounts(np.zeros(4)) + CategoryCounts(np.zeros(5))
