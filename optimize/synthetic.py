"""A seeded generator of planning instances, for tests, benchmarks and examples.

Countries are vertical strips of a rectangle; regions are random points in it, about
30 km apart whatever their number; units sit in a home region of their country and reach
``reach_km``; neighbouring countries open the regions within ``border_km`` of their
border to each other and run a joint operation there. Activity is lognormal per region
(a few hot spots), and the "recent counts" behind the proportional baseline are
detections under a past effort that favoured some regions over others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossplan.optimize.forecast import Forecast
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.region_table import RegionTable
from crossplan.optimize.resources import Agreement, JointOperation, Policy, Unit

__all__ = ["random_inputs"]

_KM_PER_DEG_LAT = 111.2
_SPACING_KM = 30.0


def random_inputs(
    n_regions: int = 60,
    n_units: int = 30,
    n_periods: int = 4,
    *,
    n_countries: int = 6,
    n_categories: int = 2,
    n_operations: int | None = None,
    reach_km: float = 120.0,
    border_km: float = 45.0,
    policy: Policy | None = None,
    seed: int = 0,
) -> Inputs:
    """A random, feasible planning instance.

    Parameters
    ----------
    n_regions, n_units, n_periods
        Size of the instance.
    n_countries, n_categories
        Countries (strips) and forecast categories.
    n_operations
        Joint operations, one per pair of neighbouring countries at most; default
        ``n_countries - 1``.
    reach_km, border_km
        How far units go from home; how deep agreements reach into each country.
    policy
        Planning policy (default: no budget, floor or caps).
    seed
        Seed of the random generator.
    """
    rng = np.random.default_rng(seed)
    side_km = _SPACING_KM * np.sqrt(n_regions)
    x = rng.uniform(0, side_km, n_regions)
    y = rng.uniform(0, side_km, n_regions)
    strip = side_km / n_countries
    country_idx = np.minimum((x // strip).astype(int), n_countries - 1)
    countries = [f"C{chr(65 + c // 26)}{chr(65 + c % 26)}" for c in range(n_countries)]  # ISO-like
    region_ids = tuple(f"r{i:04d}" for i in range(n_regions))
    lat0 = 45.0
    table = RegionTable(
        region_ids=region_ids,
        countries=tuple(countries[c] for c in country_idx),
        lon=20.0 + x / (_KM_PER_DEG_LAT * np.cos(np.radians(lat0))),
        lat=lat0 + y / _KM_PER_DEG_LAT,
    )
    units = []
    for i in range(n_units):
        c = i % n_countries
        members = np.flatnonzero(country_idx == c)
        if not len(members):
            members = np.arange(n_regions)
        units.append(
            Unit(
                unit_id=f"{countries[c]}-U{i:03d}",
                country=countries[c],
                agency="Border Police" if i % 2 == 0 else "Coast Guard",
                shifts_per_period=int(rng.integers(6, 15)),
                cost_per_shift=float(rng.choice([1.0, 1.5, 2.0])),
                efficiency=float(rng.choice([0.8, 1.0, 1.2])),
                home_region=region_ids[int(rng.choice(members))],
                max_distance_km=reach_km,
            )
        )
    agreements: list[Agreement] = []
    operations: list[JointOperation] = []
    n_ops = n_countries - 1 if n_operations is None else n_operations
    for c in range(n_countries - 1):
        border = (c + 1) * strip
        near = np.flatnonzero(np.abs(x - border) <= border_km)
        near = near[(country_idx[near] == c) | (country_idx[near] == c + 1)]
        if not len(near):
            continue
        pair = (countries[c], countries[c + 1])
        opened = tuple(region_ids[r] for r in near)
        agreements.append(Agreement(countries=pair, regions=opened))
        if len(operations) < n_ops:
            operations.append(
                JointOperation(
                    operation_id=f"JO-{c + 1}",
                    countries=pair,
                    regions=opened,
                    min_shifts_per_country=4,
                    effort_multiplier=1.5,
                )
            )
    forecast, recent = _forecast(rng, region_ids, n_categories, n_periods)
    return Inputs(
        units=tuple(units),
        regions=table,
        forecast=forecast,
        agreements=tuple(agreements),
        joint_operations=tuple(operations),
        policy=policy or Policy(),
        recent_counts=recent,
    )


def _forecast(
    rng: np.random.Generator, region_ids: tuple[str, ...], n_categories: int, n_periods: int
) -> tuple[Forecast, dict[str, float]]:
    n = len(region_ids)
    level = rng.lognormal(mean=0.5, sigma=1.0, size=(n, 1, 1))
    mix = rng.dirichlet(np.ones(n_categories), size=n)[:, :, None]
    season = 1.0 + 0.2 * np.sin(np.arange(n_periods) / 2.0)[None, None, :]
    mean = level * mix * n_categories * season
    kappa = np.broadcast_to(np.linspace(0.08, 0.16, n_categories)[None, :, None], mean.shape).copy()
    periods = tuple(pd.Timestamp("2026-03-02") + pd.Timedelta(weeks=k) for k in range(n_periods))
    forecast = Forecast(
        categories=tuple(f"cat{c}" for c in range(n_categories)),
        periods=periods,
        activity={"mean": mean, 0.1: 0.55 * mean, 0.5: 0.95 * mean, 0.9: 1.6 * mean},
        detection_rate=kappa,
    )
    past_effort = rng.gamma(shape=0.6, scale=8.0, size=n)
    detected = rng.poisson(level[:, 0, 0] * (0.3 + -np.expm1(-0.12 * past_effort)) * 4)
    return forecast, {r: float(c) for r, c in zip(region_ids, detected, strict=True)}
