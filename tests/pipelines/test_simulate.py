"""The synthetic world: deterministic, and with the properties an evaluation relies on."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import shapely

from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.simulate import World, WorldConfig, last_full_week, simulate_world


def _pivot(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    return frame.pivot_table(index="period", columns=["region_id", "category"], values=value)


def test_same_seed_same_world() -> None:
    a, b = (
        simulate_world(seed=11, regions=30, periods=20),
        simulate_world(seed=11, regions=30, periods=20),
    )
    pd.testing.assert_frame_equal(a.incidents(), b.incidents())
    pd.testing.assert_frame_equal(a.truth(), b.truth())
    pd.testing.assert_frame_equal(a.regions, b.regions)
    assert a.resources == b.resources


def test_other_seed_other_world() -> None:
    a, b = (
        simulate_world(seed=11, regions=30, periods=20),
        simulate_world(seed=12, regions=30, periods=20),
    )
    assert not a.truth()["activity_rate"].equals(b.truth()["activity_rate"])


def test_default_world_shape(default_world: World) -> None:
    regions = default_world.regions
    assert regions["country"].nunique() == 6
    assert 50 <= len(regions) <= 70
    assert default_world.n_periods == 156
    assert set(regions["kind"]) == {"land_border", "sea_border", "airport", "inland"}
    # every country is one connected piece: its regions are linked by shared boundaries
    adj = default_world.adjacency
    for country, members in regions.groupby("country"):
        ids = set(members["region_id"])
        seen, todo = set(), [next(iter(ids))]
        while todo:
            r = todo.pop()
            if r in seen:
                continue
            seen.add(r)
            todo += [n for n in adj.loc[adj["region_id"] == r, "neighbour_id"] if n in ids]
        assert seen == ids, country


def test_regions_are_irregular_polygons_in_wgs84(default_world: World) -> None:
    geoms = np.asarray(default_world.geometries, dtype=object)
    assert all(g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid for g in geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    assert -180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90
    vertices = [len(shapely.get_coordinates(g)) for g in geoms]
    assert len(set(vertices)) > 3, "regions of a square grid would all have 5 vertices"
    areas = shapely.area(geoms)
    assert areas.max() / areas.min() > 2


def test_seasonality_is_visible(default_world: World) -> None:
    activity = np.log(_pivot(default_world.truth(), "activity_rate").to_numpy())
    lag = {k: np.median([np.corrcoef(s[:-k], s[k:])[0, 1] for s in activity.T]) for k in (26, 52)}
    # a year apart looks alike; half a year apart looks opposite
    assert lag[52] > 0.3
    assert lag[26] < 0


def test_pressure_leads_activity_by_two_to_six_weeks(default_world: World) -> None:
    truth = _pivot(default_world.truth(), "activity_rate")
    pressure = _pivot(default_world.incidents(), "cov_origin_pressure").reindex(
        columns=truth.columns
    )
    a, p = truth.to_numpy(), pressure.to_numpy()

    def corr(lead: int) -> float:
        n = len(a) - abs(lead)
        x, y = (p[:n], a[lead:]) if lead >= 0 else (p[-lead:], a[:n])
        ok = ~np.isnan(x) & ~np.isnan(y)
        return float(
            np.nanmedian(
                [np.corrcoef(x[ok[:, j], j], y[ok[:, j], j])[0, 1] for j in range(a.shape[1])]
            )
        )

    ahead = max(corr(k) for k in range(2, 7))
    assert ahead > 0.3
    assert ahead > corr(0) + 0.2
    assert ahead > corr(-4) + 0.2


def test_reporting_rates_differ_by_country_and_are_recovered(default_world: World) -> None:
    cells = default_world.incidents().merge(
        default_world.truth(), on=["region_id", "period", "category"]
    )
    country = cells["region_id"].map(default_world.regions.set_index("region_id")["country"])
    sums = cells.groupby(country)[["reported", "incidents"]].sum()
    share = sums["reported"] / sums["incidents"]
    assert share.max() - share.min() > 0.1
    for c, rate in default_world.reporting_rate.items():
        assert share[c] == pytest.approx(rate, abs=0.03)


def test_detections_rise_with_effort(default_world: World) -> None:
    cells = default_world.incidents().merge(
        default_world.truth(), on=["region_id", "period", "category"]
    )
    cells["undiscovered"] = cells["incidents"] - cells["reported"]
    bins = pd.cut(cells["effort"], [0, 1, 3, 6, 10, np.inf])
    by_bin = cells.groupby(["category", bins], observed=True)[["detected", "undiscovered"]].sum()
    rate = (by_bin["detected"] / by_bin["undiscovered"]).unstack("category")
    assert (rate.diff().dropna() > 0).all().all()
    # and follows 1 - exp(-κ·effort) at the effort actually spent
    for category, kappa in default_world.kappa.items():
        sub = cells[(cells["category"] == category) & (cells["undiscovered"] > 0)]
        expected = ((1 - np.exp(-kappa * sub["effort"])) * sub["undiscovered"]).sum()
        assert sub["detected"].sum() == pytest.approx(expected, rel=0.05)


def test_history_effort_follows_recent_counts(default_world: World) -> None:
    # status quo: a country's patrols go where its counts were high in the last 4 weeks
    inc = default_world.incidents()
    inc["observed"] = inc["reported"] + inc["detected"]
    per_region = (
        inc.groupby(["region_id", "period"])[["observed", "effort"]].sum().unstack("region_id")
    )
    recent = per_region["observed"].rolling(4).sum().shift(1)
    effort = per_region["effort"]
    corr = recent.corrwith(effort, axis=1).dropna()
    assert corr.median() > 0.7


def test_enforcement_displaces_flow_to_alternative_routes(default_world: World) -> None:
    routes = default_world.routes()
    paths_per_family = routes.groupby("family")["path"].nunique()
    family = int(paths_per_family[paths_per_family == 2].index[0])
    fam = routes[routes["family"] == family]
    primary = fam.loc[fam["base_weight"].idxmax(), "path"]
    on_primary = set(fam.loc[fam["path"] == primary, "region_id"])
    alternative_only = set(fam["region_id"]) - on_primary

    quiet, enforced = default_world.copy(), default_world.copy()
    for _ in range(6):
        quiet.step({})
        enforced.step(dict.fromkeys(on_primary, 40.0))
    w_quiet = quiet.routes().drop_duplicates("path").set_index("path")["weight"]
    w_enforced = enforced.routes().drop_duplicates("path").set_index("path")["weight"]
    assert w_enforced[primary] < w_quiet[primary] - 0.1
    alternatives = set(fam["path"]) - {primary}
    assert all(w_enforced[p] > w_quiet[p] for p in alternatives)
    # so more happens along the alternatives (other routes may cross them too: compare sums)
    a_quiet = quiet.next_activity().groupby("region_id")["activity_rate"].sum()
    a_enforced = enforced.next_activity().groupby("region_id")["activity_rate"].sum()
    assert a_enforced[list(alternative_only)].sum() > a_quiet[list(alternative_only)].sum()
    # the world itself is untouched by its copies
    assert default_world.n_periods == 156


def test_step_returns_next_period_in_contract_format(small_world: World) -> None:
    world = small_world.copy()
    period = world.next_period()
    effort = {world.regions["region_id"].iloc[0]: 12.5}
    obs = world.step(effort)
    assert list(obs.columns) == [
        "region_id",
        "period",
        "category",
        "reported",
        "detected",
        "effort",
        "cov_origin_pressure",
    ]
    assert (obs["period"] == period).all()
    assert len(obs) == len(world.regions) * len(world.categories)
    assert obs.groupby("region_id")["effort"].first().to_dict() == {
        r: effort.get(r, 0.0) for r in world.regions["region_id"]
    }
    assert obs.loc[obs["effort"] == 0, "detected"].sum() == 0
    assert world.truth()["period"].max() == period


def test_copies_share_random_numbers(small_world: World) -> None:
    a, b = small_world.copy(), small_world.copy()
    ids = a.regions["region_id"]
    a.step(dict.fromkeys(ids, 1.0))
    b.step(dict.fromkeys(ids, 9.0))
    ta, tb = a.truth().tail(len(ids) * 2), b.truth().tail(len(ids) * 2)
    # same activity and the same true incidents whatever the patrols did
    np.testing.assert_array_equal(ta["incidents"].to_numpy(), tb["incidents"].to_numpy())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"countries": 1}, "countries must be between"),  # one country has no borders to cross
        (
            {"countries": 6, "regions": 10},
            "regions must be at least 4 per country",
        ),  # fewer than 4 regions per country
        ({"periods": 3}, "periods must be between 8"),  # too short for any model
        ({"categories": ()}, "categories must be distinct"),  # nothing to simulate
        ({"categories": ("a b",)}, "categories must be names"),  # not a usable name
        ({"end": date(1066, 10, 14)}, "end must be a date from 1900"),  # outside pandas' dates
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        WorldConfig(**options).check()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "effort",
    [
        {"nowhere": 1.0},  # unknown region
        {"r001": -1.0},  # negative effort
        {"r001": float("nan")},  # not a number
    ],
)
def test_bad_effort_is_refused(small_world: World, effort: dict[str, float]) -> None:
    world = small_world.copy()
    with pytest.raises(ConfigurationError):
        world.step(effort)
    assert world.n_periods == small_world.n_periods


@pytest.mark.parametrize(
    ("today", "monday"),
    [
        (date(2026, 12, 3), date(2026, 11, 23)),  # a Thursday: the week before this one
        (date(2026, 11, 30), date(2026, 11, 23)),  # a Monday: the week that ended yesterday
        (date(2026, 11, 29), date(2026, 11, 16)),  # a Sunday: its own week is not over yet
        (date(2026, 1, 1), date(2025, 12, 22)),  # across the new year
    ],
)
def test_last_full_week(today: date, monday: date) -> None:
    assert last_full_week(today) == monday


def test_end_places_the_last_week() -> None:
    world = simulate_world(seed=11, regions=30, periods=20, end=date(2026, 11, 29))  # a Sunday
    periods = world.incidents()["period"]
    assert periods.max() == pd.Timestamp("2026-11-23")  # the Monday of that week
    assert periods.min() == pd.Timestamp("2026-11-23") - pd.Timedelta(weeks=19)
    assert periods.nunique() == world.n_periods == 20
    assert world.next_period() == pd.Timestamp("2026-11-30")


def test_same_seed_and_end_same_world() -> None:
    # any day of the same week gives the same world
    a, b = (
        simulate_world(seed=11, regions=30, periods=20, end=date(2026, 11, 23)),
        simulate_world(seed=11, regions=30, periods=20, end=date(2026, 11, 27)),
    )
    pd.testing.assert_frame_equal(a.incidents(), b.incidents())
    pd.testing.assert_frame_equal(a.truth(), b.truth())
    assert a.resources == b.resources


def test_end_of_the_default_history_is_the_default_world() -> None:
    default = simulate_world(seed=11, regions=30, periods=20)
    ended = simulate_world(
        seed=11, regions=30, periods=20, end=date(2023, 1, 2) + timedelta(weeks=19)
    )
    pd.testing.assert_frame_equal(default.incidents(), ended.incidents())
    pd.testing.assert_frame_equal(default.truth(), ended.truth())


def test_another_end_moves_the_seasons_not_the_map() -> None:
    a = simulate_world(seed=11, regions=30, periods=20, end=date(2026, 11, 23))
    b = simulate_world(seed=11, regions=30, periods=20, end=date(2026, 5, 25))
    pd.testing.assert_frame_equal(a.regions, b.regions)
    assert a.resources == b.resources
    # the same draws, with half a year's difference in season
    assert not np.allclose(a.truth()["activity_rate"], b.truth()["activity_rate"])
