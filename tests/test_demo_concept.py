"""The concept-shift story: `seismo.datasets.load_synthetic_house_market` plants a market change where
its docstring says (prices of large and far-away homes fall from 2024-10-01; no input moves), and the
demo's concept section (`seismo.cli.app._demo_concept`) finds it: no drift alerts, the label-free
estimate (DLE) near its reference level, ConceptShift's impact on MAE within its band of the realized
rise, and "mostly concept shift" for each chunk of the new market."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy import stats

import seismo
from seismo.cli.app import _demo_concept
from seismo.datasets import house_market, house_prices

DRIFT_START = pd.Timestamp("2024-10-01")


@pytest.fixture(scope="module")
def simulated():
    return house_market._simulate(0)


def test_loader_is_exported_deterministic_and_honours_sizes(simulated):
    frames = seismo.datasets.load_synthetic_house_market()
    for got, expected in zip(frames, simulated[:3], strict=True):
        pd.testing.assert_frame_equal(got, expected)
    reference, analysis, targets = seismo.datasets.load_synthetic_house_market(seed=1, n_reference=800, n_analysis=601)
    assert (len(reference), len(analysis), len(targets)) == (800, 601, 601)
    assert analysis["timestamp"].iloc[299] < DRIFT_START <= analysis["timestamp"].iloc[300]
    assert list(reference.columns) == list(simulated[0].columns)
    assert list(analysis.columns) == [c for c in reference.columns if c != "price"]


def test_inputs_keep_the_reference_distribution(simulated):
    reference, analysis, *_ = simulated
    second = analysis.iloc[len(analysis) // 2:]
    for column in ("area_m2", "distance_to_center_km", "n_photos", "energy_kwh_m2", "age_years"):
        assert stats.ks_2samp(reference[column], second[column]).pvalue > 0.01, column
    assert not analysis.isna().any().any()
    assert set(analysis["heating"]) == set(house_prices.HEATING)


def test_the_market_change_is_where_the_docstring_says(simulated):
    reference, analysis, targets, _ = simulated
    ref_error = (reference["y_pred"] - reference["price"]).to_numpy()
    ref_mae = np.abs(ref_error).mean()
    assert 26_000 < ref_mae < 27_500
    ref_hit = house_market.market_change(reference) != 0
    error = analysis["y_pred"].to_numpy() - targets["price"].to_numpy()
    price = targets["price"].to_numpy()
    hit = house_market.market_change(analysis) != 0
    assert 0.33 < hit.mean() < 0.37
    assert np.allclose(np.unique(house_market.market_change(analysis)), np.log([0.85 * 0.9, 0.85, 0.9, 1.0]))
    for k in range(10):
        s = slice(3_000 * k, 3_000 * (k + 1))
        mae = np.abs(error[s]).mean() / ref_mae
        hit_mae = np.abs(error[s][hit[s]]).mean() / np.abs(ref_error[ref_hit]).mean()
        rest_mae = np.abs(error[s][~hit[s]]).mean() / np.abs(ref_error[~ref_hit]).mean()
        assert abs(rest_mae - 1) < 0.03, (k, rest_mae)
        if k < 5:
            assert abs(mae - 1) < 0.05 and abs(error[s].mean()) < 0.005 * price[s].mean(), (k, mae)
        else:
            assert 1.22 < mae < 1.28 and 1.55 < hit_mae < 1.70, (k, mae, hit_mae)
    half = len(error) // 2
    assert abs(error[:half].mean()) < 0.001 * price[:half].mean()
    assert 0.06 < error[half:].mean() / price[half:].mean() < 0.07


def test_demo_names_concept_shift_for_the_new_market(tmp_path):
    console = Console(record=True, width=200)
    report = _demo_concept(console, 5_000, tmp_path / "demo.html")
    text = console.export_text()
    assert "Univariate drift: 0 of 270 analysis cells alert" in text
    assert "performance measured to drop beyond its threshold from 2024-10-01 on (mae)" in text
    assert "concept shift from 2024-10-01 on (mae, magnitude)" in text
    why = [line for line in text.splitlines() if line.startswith("- 2024-")]
    assert [line[2:12] for line in why] == ["2024-10-01", "2024-10-31", "2024-12-01"]
    assert all(line.endswith(": mostly concept shift") for line in why), why
    assert "shares of the change: covariate 2%, concept 94%, remainder 4%. The drop is mostly concept shift." in text
    assert (tmp_path / "demo_concept.html").stat().st_size > 1_000_000

    table = report.decomposition().set_index("chunk_index")
    assert list(table["main_cause"]) == ["none"] * 3 + ["concept"] * 3
    new = table.loc[3:]
    assert new["realized_change"].between(6_000, 7_200).all()  # about a quarter of the reference MAE
    # DLE learned the old market's errors and reads unchanged inputs: within 1% of the reference MAE
    assert (new["covariate"].abs() < 270).all() and (new["covariate"].abs() < new["covariate_se"]).all()
    # ConceptShift's impact lies within 1 SE of the realized rise and beyond 3 SE of 0
    assert ((new["concept"] - new["realized_change"]).abs() < new["concept_se"]).all()
    assert (new["concept"] > 3 * new["concept_se"]).all()
    np.testing.assert_allclose(new["concept"], [6_148, 6_258, 6_423], atol=1)
