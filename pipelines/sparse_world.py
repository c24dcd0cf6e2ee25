"""A small seeded world of sparse counts where patrols follow last periods' counts.

Independent of the default simulator (:mod:`pipelines.simulate`, :mod:`pipelines.synth`) so
that forecasters, intervals and selection are judged on data they were not tuned on. Its
geometry is a disc: regions are cells of a polar grid (rings by sectors) and countries are
runs of adjacent sectors. Activity is carried by a few routes that run from the outer ring
inward, each drifting sideways now and then and waxing and waning as a slow random walk;
off the routes activity is rare, so most cells are zero (about 0.3 observed incidents per
cell and week). Of the incidents, a country's reporting rate (8-45%) come to light on their
own; the others are found with chance ``1 - exp(-kappa * effort)``. Each country's patrols
are spread over its regions in proportion to the counts observed there in the last two
periods (plus a small floor): effort follows past counts, so where patrols looked last
week they find more this week.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SparseWorld", "sparse_world"]

_CENTRE = (20.0, 42.0)  # lon, lat of the disc's centre
_CODES = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH")


@dataclass(frozen=True)
class SparseWorld:
    """Regions (GeoJSON), the observed panel and the hidden truth."""

    regions: dict[str, object]
    incidents: pd.DataFrame
    truth: pd.DataFrame
    reporting_rate: dict[str, float]
    kappa: float

    def write(self, out_dir: Path) -> Path:
        """A data directory: ``regions.geojson``, ``incidents.parquet``, ``truth.parquet``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "regions.geojson").write_text(json.dumps(self.regions))
        self.incidents.to_parquet(out_dir / "incidents.parquet", index=False)
        self.truth.to_parquet(out_dir / "truth.parquet", index=False)
        return out_dir


def _cell(ring: int, sector: int, rings: int, sectors: int) -> list[list[float]]:
    """An annular sector as a polygon (three points per arc), radius in degrees."""
    r0, r1 = 0.2 + 0.3 * ring, 0.2 + 0.3 * (ring + 1)
    angles = np.linspace(2 * np.pi * sector / sectors, 2 * np.pi * (sector + 1) / sectors, 3)
    outer = [(r1 * np.cos(a), r1 * np.sin(a)) for a in angles]
    inner = [(r0 * np.cos(a), r0 * np.sin(a)) for a in angles[::-1]]
    ring_pts = [[round(_CENTRE[0] + x, 5), round(_CENTRE[1] + y, 5)] for x, y in outer + inner]
    return [*ring_pts, ring_pts[0]]


def sparse_world(
    rings: int = 10,
    sectors: int = 7,
    periods: int = 156,
    *,
    countries: int = 4,
    routes: int = 3,
    shifts_per_region: float = 1.0,
    kappa: float = 0.4,
    seed: int = 0,
) -> SparseWorld:
    """Draw a weekly world of ``rings * sectors`` regions (70 by default) over ``periods`` weeks."""
    rng = np.random.default_rng(seed)
    n = rings * sectors
    ring, sector = np.arange(n) // sectors, np.arange(n) % sectors
    country = np.minimum(sector * countries // sectors, countries - 1)
    codes = np.array(_CODES[:countries])
    rho = dict(zip(codes.tolist(), np.round(rng.uniform(0.08, 0.45, countries), 3), strict=True))
    ids = [f"s{i:03d}" for i in range(n)]
    features = [
        {
            "type": "Feature",
            "properties": {
                "region_id": ids[i],
                "country": str(codes[country[i]]),
                "kind": "land_border" if ring[i] == rings - 1 else "inland",
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [_cell(int(ring[i]), int(sector[i]), rings, sectors)],
            },
        }
        for i in range(n)
    ]
    # Routes: a sector per ring, from the outer ring inward, moving one sector at most per ring.
    paths = np.zeros((routes, rings), int)
    paths[:, -1] = rng.choice(sectors, routes, replace=False)
    for r in range(rings - 2, -1, -1):
        paths[:, r] = (paths[:, r + 1] + rng.integers(-1, 2, routes)) % sectors
    strength = rng.normal(0.0, 0.3, routes)
    base = np.full(n, -3.2) + rng.normal(0.0, 0.4, n)
    rho_r = np.array([rho[c] for c in codes[country]])
    recent = np.zeros((2, n))
    rows, truth_rows = [], []
    dates = pd.date_range("2023-01-02", periods=periods, freq="7D")
    for t, date in enumerate(dates):
        strength = 0.95 * strength + rng.normal(0.0, 0.15, routes)
        drift = rng.random(routes) < 0.02  # a route moves one sector sideways, now and then
        paths[drift] = (paths[drift] + rng.choice([-1, 1], (int(drift.sum()), 1))) % sectors
        log_rate = base.copy()
        for k in range(routes):
            cells = np.arange(rings) * sectors + paths[k]
            log_rate[cells] = np.logaddexp(log_rate[cells], -0.1 + strength[k])
        season = 0.25 * np.sin(2 * np.pi * t / 52)
        lam = np.exp(log_rate + season)
        incidents = rng.poisson(lam)
        weight = 0.1 + recent.sum(axis=0)  # patrols follow the last two periods' counts
        total = np.bincount(country, weight, countries)[country]
        budget = shifts_per_region * np.bincount(country, minlength=countries)[country]
        effort = np.round(budget * weight / total, 3)
        reported = rng.binomial(incidents, rho_r)
        detected = rng.binomial(incidents - reported, 1.0 - np.exp(-kappa * effort))
        recent = np.vstack([recent[1], reported + detected])
        rows.append(pd.DataFrame({"region_id": ids, "period": date, "category": "all",
                                  "reported": reported, "detected": detected, "effort": effort}))  # fmt: skip
        truth_rows.append(pd.DataFrame({"region_id": ids, "period": date, "category": "all",
                                        "activity_rate": lam, "incidents": incidents}))  # fmt: skip
    return SparseWorld(
        {"type": "FeatureCollection", "features": features},
        pd.concat(rows, ignore_index=True),
        pd.concat(truth_rows, ignore_index=True),
        {str(k): float(v) for k, v in rho.items()},
        kappa,
    )
