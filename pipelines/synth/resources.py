"""Synthetic resources: units of several agencies per country, agreements, joint operations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossplan.optimize.resources import Agreement, JointOperation, Resources, Unit

__all__ = ["build_resources"]


def build_resources(
    rng: np.random.Generator, regions: pd.DataFrame, adjacency: pd.DataFrame
) -> Resources:
    """Resources (the data contract's) for a synthetic world.

    Each country has Border Police units based on its border regions, a Coast Guard when it
    has a coast (working only its sea-border regions), and a national anti-trafficking unit
    based at the capital with a long reach. Neighbouring countries mostly have agreements
    that open their shared border regions to each other, and some of those border areas are
    joint-operation candidates.
    """
    units: list[Unit] = []
    for country, members in regions.groupby("country", sort=True):
        ids = members["region_id"].to_numpy()
        kinds = members["kind"].to_numpy()
        border = ids[kinds == "land_border"]
        sea = ids[kinds == "sea_border"]
        capital = ids[kinds == "airport"][0] if (kinds == "airport").any() else ids[0]
        n_bp = max(1, int(np.ceil(len(border) / 5)))
        for k, home in enumerate(rng.choice(border if len(border) else ids, n_bp, replace=True)):
            units.append(_unit(rng, country, "Border Police", "BP", k, home, max_km=200))
        if len(sea):
            for k in range(max(1, int(np.ceil(len(sea) / 4)))):
                unit = _unit(rng, country, "Coast Guard", "CG", k, rng.choice(sea), max_km=None)
                units.append(unit.model_copy(update={"regions": tuple(sorted(sea.tolist()))}))
        units.append(_unit(rng, country, "National Police", "NP", 0, capital, max_km=400))

    cross = adjacency[adjacency["cross_border"]]
    country_of = regions.set_index("region_id")["country"]
    pairs: dict[tuple[str, str], set[str]] = {}
    for a, b in zip(cross["region_id"], cross["neighbour_id"], strict=True):
        key = (min(country_of[a], country_of[b]), max(country_of[a], country_of[b]))
        pairs.setdefault(key, set()).update((a, b))
    agreements = []
    joint_operations: list[JointOperation] = []
    for key in sorted(pairs):
        if rng.uniform() < 0.75:
            area = sorted(pairs[key])
            agreements.append(Agreement(countries=key, regions=tuple(area)))
            if rng.uniform() < 0.6:
                k = len(joint_operations) + 1
                per_side = [
                    [r for r in area if country_of[r] == c][: int(rng.integers(1, 3))] for c in key
                ]
                joint_operations.append(
                    JointOperation(
                        operation_id=f"JO-{k}",
                        countries=key,
                        regions=tuple(sorted(r for side in per_side for r in side)),
                        min_shifts_per_country=4,
                        effort_multiplier=1.5,
                    )
                )
    return Resources(
        units=tuple(units), agreements=tuple(agreements), joint_operations=tuple(joint_operations)
    )


def _unit(
    rng: np.random.Generator,
    country: str,
    agency: str,
    code: str,
    k: int,
    home: str,
    max_km: float | None,
) -> Unit:
    return Unit(
        unit_id=f"{country}-{code}-{k + 1:02d}",
        agency=agency,
        country=country,
        shifts_per_period=int(rng.integers(8, 17)),
        cost_per_shift=float(np.round(rng.uniform(1.0, 1.5), 2)),
        efficiency=float(np.round(rng.uniform(0.8, 1.2), 2)),
        home_region=str(home),
        max_distance_km=max_km,
    )
