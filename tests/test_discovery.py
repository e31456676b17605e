"""Segment discovery (`seismo.monitor.discovery`): a planted culprit is named, label-free and with
labels; a stationary chunk gets none; contributions add up; a rule's shares are its pandas mask's."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import seismo
from seismo.errors import InvalidConfiguration
from seismo.monitor.discovery import (
    COLUMNS,
    candidate_rules,
    discover_segments,
    row_losses,
    segment_contributions,
)

REGIONS = np.array(["north", "south", "east", "west"])
FEATURES = ["region", "x", "z", "w"]


def draw(n: int, rng: np.random.Generator, planted: bool = False) -> pd.DataFrame:
    """Binary data; ``planted``: the rows with region == 'east' and x < 0 move to z ≈ 0, where the model is unsure."""
    region = REGIONS[rng.integers(0, 4, n)]
    x, z, w = rng.normal(size=n), rng.normal(size=n), rng.uniform(0, 10, n)
    if planted:
        hit = (region == "east") & (x < 0)
        z[hit] = rng.normal(0, 0.15, int(hit.sum()))
    p = 1 / (1 + np.exp(-(3 * z + 0.5 * x)))
    return pd.DataFrame({"region": region, "x": x, "z": z, "w": w, "y_true": (rng.uniform(size=n) < p).astype(int)})


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    train = draw(5000, rng)
    model = LogisticRegression().fit(train[["x", "z"]], train["y_true"])

    def scored(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df["proba"] = model.predict_proba(df[["x", "z"]])[:, 1]
        df["y_pred"] = (df["proba"] >= 0.5).astype(int)
        return df

    reference = scored(draw(10_000, rng))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        estimator = seismo.CBPE(problem_type="binary", y_pred_proba="proba", y_pred="y_pred", y_true="y_true",
                                chunk_size=2000, trust=False).fit(reference)
    return estimator, reference, scored


def test_a_planted_segment_is_the_top_rule_label_free_and_with_labels(binary):
    estimator, reference, scored = binary
    chunk = scored(draw(5000, np.random.default_rng(1), planted=True))
    label_free = discover_segments(estimator, reference, chunk.drop(columns="y_true"), features=FEATURES)
    realized = discover_segments(estimator, reference, chunk, features=FEATURES)
    for found in (label_free, realized):
        assert list(found.columns) == COLUMNS
        assert len(found) == 1  # nothing else: the rest of the rows did not change
        top = found.iloc[0]
        match = re.fullmatch(r"region == 'east' and x <= (\S+)", top["rule"])
        assert match and abs(float(match.group(1))) < 0.01  # the reference's median of x, rounded
        assert top["share_reference"] == pytest.approx(0.1263)
        assert top["share_chunk"] == pytest.approx(0.1168)
        assert top["share_of_change"] > 0.95
        assert top["performance_chunk"] < top["performance_reference"] - 0.2
    assert label_free.iloc[0]["z"] == pytest.approx(21.55, abs=0.01)
    assert label_free.iloc[0]["performance_reference"] == pytest.approx(0.8479, abs=1e-4)  # out-of-fold calibrated
    assert label_free.iloc[0]["performance_chunk"] == pytest.approx(0.6335, abs=1e-4)
    assert realized.iloc[0]["z"] == pytest.approx(10.41, abs=0.01)
    assert realized.iloc[0]["performance_reference"] == pytest.approx(0.8599, abs=1e-4)
    assert realized.iloc[0]["performance_chunk"] == pytest.approx(0.6062, abs=1e-4)


def test_stationary_chunks_get_no_culprit(binary):
    estimator, reference, scored = binary
    found = 0
    for seed in range(20):
        chunk = scored(draw(5000, np.random.default_rng(100 + seed)))
        found += len(discover_segments(estimator, reference, chunk.drop(columns="y_true"), features=FEATURES))
        found += len(discover_segments(estimator, reference, chunk, features=FEATURES))
    assert found == 0


def regression_data(n: int, rng: np.random.Generator, planted: bool = False) -> pd.DataFrame:
    """The model errs more in region 'north' (noise 1.0 against 0.2); ``planted``: north grows from a
    quarter to over half of the rows, and its errors grow to 1.5."""
    weights = [0.55, 0.15, 0.15, 0.15] if planted else [0.25] * 4
    region = rng.choice(REGIONS, size=n, p=weights)
    x = rng.normal(size=n)
    noise = np.where(region == "north", 1.5 if planted else 1.0, 0.2)
    y_pred = 2 * x
    return pd.DataFrame({"region": region, "x": x, "y_pred": y_pred, "y_true": y_pred + noise * rng.normal(size=n)})


def test_dle_names_the_segment_with_larger_errors():
    rng = np.random.default_rng(3)
    reference = regression_data(4000, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        estimator = seismo.DLE(y_pred="y_pred", y_true="y_true", features=["region", "x"], metrics=["mae"],
                               chunk_size=1000, trust=False).fit(reference)
    chunk = regression_data(2000, rng, planted=True)
    label_free = discover_segments(estimator, reference, chunk.drop(columns="y_true"))
    realized = discover_segments(estimator, reference, chunk)
    for found in (label_free, realized):
        assert found.iloc[0]["rule"] == "region == 'north'"
        assert found.iloc[0]["share_reference"] == pytest.approx((reference["region"] == "north").mean())
        assert found.iloc[0]["share_chunk"] == pytest.approx((chunk["region"] == "north").mean())
    # label-free, north grew while poor (DLE cannot see its errors grow); with labels both show
    assert label_free.iloc[0]["share_of_change"] == pytest.approx(0.7469, abs=1e-3)
    assert realized.iloc[0]["share_of_change"] == pytest.approx(0.8723, abs=1e-3)
    # performance is the mean absolute error within the rule: about 0.8 (1.0·√(2/π)) in the reference
    assert realized.iloc[0]["performance_reference"] == pytest.approx(0.7979, abs=0.05)
    assert realized.iloc[0]["performance_chunk"] == pytest.approx(1.1968, abs=0.06)  # 1.5·√(2/π)
    assert label_free.iloc[0]["performance_chunk"] == pytest.approx(realized.iloc[0]["performance_reference"],
                                                                     abs=0.06)  # DLE knows north's old errors


def test_contributions_add_up_to_the_whole_change():
    rng = np.random.default_rng(7)
    loss_r, loss_c = rng.uniform(size=3000), rng.exponential(size=2000)
    for share in (0.0, 0.1, 0.5, 0.93):
        s_r, s_c = rng.uniform(size=3000) < share, rng.uniform(size=2000) < share + 0.05
        stats = segment_contributions(np.array([s_r, ~s_r]), np.array([s_c, ~s_c]), loss_r, loss_c)
        assert abs(stats.contribution.sum() - (loss_c.mean() - loss_r.mean())) < 1e-12
        w_r, w_c = s_r.mean(), s_c.mean()
        by_formula = (w_c * (loss_c[s_c].mean() - loss_r.mean()) if w_c else 0.0) - (
            w_r * (loss_r[s_r].mean() - loss_r.mean()) if w_r else 0.0)
        assert stats.contribution[0] == pytest.approx(by_formula, abs=1e-12)
        # the excess over an even spread of the change adds up to zero
        assert abs(stats.excess.sum()) < 1e-12


def test_the_standard_error_is_calibrated_under_no_change():
    rng = np.random.default_rng(11)
    z = []
    for _ in range(400):
        xr, xc = rng.uniform(size=2000), rng.uniform(size=1000)
        lr = (rng.uniform(size=2000) < 0.1 + 0.3 * xr).astype(float)
        lc = (rng.uniform(size=1000) < 0.1 + 0.3 * xc).astype(float)
        z.append(segment_contributions(np.array([xr < 0.3]), np.array([xc < 0.3]), lr, lc).z[0])
    assert np.mean(z) == pytest.approx(0.0, abs=0.15)
    assert np.std(z) == pytest.approx(1.0, abs=0.1)


def _pandas_mask(df: pd.DataFrame, text: str) -> np.ndarray:
    if text.endswith(" is missing"):
        return df[text.removesuffix(" is missing")].isna().to_numpy()
    return df.eval(text).to_numpy(dtype=bool)


def test_rule_shares_match_pandas_masks(binary):
    rng = np.random.default_rng(5)
    reference, chunk = draw(3000, rng), draw(2000, rng)
    for df in (reference, chunk):
        df.loc[df.index[::7], "x"] = np.nan
        df.loc[df.index[::11], "region"] = None
    kinds = {"region": "categorical", "x": "continuous", "w": "continuous"}

    def values(df: pd.DataFrame) -> dict[str, np.ndarray]:
        return {"region": df["region"].to_numpy(dtype=object), "x": df["x"].to_numpy(),
                "w": df["w"].to_numpy()}

    rules = candidate_rules(values(reference), values(chunk), kinds)
    texts = [r.text for r in rules]
    assert "region == 'east'" in texts and "x is missing" in texts and "region is missing" in texts
    assert sum(t.startswith("x ") or " < x <= " in t for t in texts) == 1 + 9 * 2 + 36  # missing; 9 decile edges: <=, >, ranges
    for rule in rules:
        assert np.array_equal(rule.reference, _pandas_mask(reference, rule.text)), rule.text
        assert np.array_equal(rule.chunk, _pandas_mask(chunk, rule.text)), rule.text
    # and the shares reported for the planted culprit
    estimator, ref, scored = binary
    planted = scored(draw(5000, np.random.default_rng(1), planted=True))
    top = discover_segments(estimator, ref, planted, features=FEATURES).iloc[0]
    assert top["share_reference"] == pytest.approx(ref.eval(top["rule"]).mean(), abs=1e-15)
    assert top["share_chunk"] == pytest.approx(planted.eval(top["rule"]).mean(), abs=1e-15)


def test_reference_losses_follow_the_rows_given_whatever_their_time_order(binary):
    estimator, reference, _ = binary
    timed = reference.assign(ts=pd.date_range("2024-01-01", periods=len(reference), freq="min"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        est = seismo.CBPE(problem_type="binary", y_pred_proba="proba", y_pred="y_pred", y_true="y_true",
                          timestamp="ts", chunk_size=2000, trust=False).fit(timed.sample(frac=1.0, random_state=0))
    in_order = row_losses(est, timed, reference=True)
    shuffled = timed.sample(frac=1.0, random_state=0)
    assert np.array_equal(row_losses(est, shuffled, reference=True), in_order[shuffled.index.to_numpy()])
    realized = row_losses(est, timed, realized=True)
    assert np.array_equal(realized, (timed["y_pred"] != timed["y_true"]).to_numpy(dtype=float))
    assert 0.0 <= in_order.min() and in_order.max() <= 0.5  # 1 − P(predicted class), y_pred at 0.5
    with pytest.raises(InvalidConfiguration, match="holds out-of-fold values for 10000 reference rows, the "
                                                   "reference given has 100"):
        row_losses(est, timed.head(100), reference=True)


def test_clear_errors(binary):
    estimator, reference, scored = binary
    chunk = scored(draw(500, np.random.default_rng(9)))
    unfitted = seismo.CBPE(problem_type="binary", y_pred_proba="proba", y_pred="y_pred", y_true="y_true")
    with pytest.raises(InvalidConfiguration, match="this CBPE is not fitted: call .fit"):
        discover_segments(unfitted, reference, chunk, features=FEATURES)
    with pytest.raises(InvalidConfiguration, match=r"features \['nope'\] are not columns of the reference data"):
        discover_segments(estimator, reference, chunk, features=["region", "nope"])
    with pytest.raises(InvalidConfiguration, match=r"the chunk data lacks the model's columns \['proba'\]"):
        discover_segments(estimator, reference, chunk.drop(columns=["proba", "y_true"]), features=FEATURES)
    with pytest.raises(InvalidConfiguration, match=r"lacks the model's columns \['y_true'\].*labels=True"):
        discover_segments(estimator, reference, chunk.drop(columns="y_true"), features=FEATURES, labels=True)
    with pytest.raises(InvalidConfiguration, match="segment discovery reads a fitted seismo.CBPE, PAPE or DLE"):
        discover_segments(seismo.DataQuality(), reference, chunk)
