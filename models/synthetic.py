"""A small seeded panel generator with the observation model of the synthetic world.

It feeds the tests and benchmarks of :mod:`models`, which may not depend on the data
pipelines. Regions sit on a grid; countries are vertical strips of it, so neighbours across a
strip edge are cross-border pairs. Incidents are observed as in the world
(:mod:`models.observation`, with its rates); effort follows a status-quo policy that patrols
where recent counts were high (or, with ``effort_follows_counts=False``, is spread at random).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossplan.models.observation import draw_rates, observe

__all__ = ["SyntheticPanel", "generate_panel"]

_START = {"weekly": "2022-01-03", "monthly": "2022-01-01", "yearly": "2000-01-01"}
_FREQ = {"weekly": "7D", "monthly": "MS", "yearly": "YS"}
_SEASON = {"weekly": 52, "monthly": 12, "yearly": 1}


@dataclass(frozen=True)
class SyntheticPanel:
    """A generated panel: long ``panel``, ``regions``, ``adjacency`` and hidden ``truth``."""

    panel: pd.DataFrame
    regions: pd.DataFrame
    adjacency: pd.DataFrame
    truth: pd.DataFrame
    kappa: dict[str, float]
    reporting_rate: dict[str, float]


def _grid(n_regions: int, countries: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = max(countries, int(np.ceil(np.sqrt(n_regions))))
    ids = [f"r{i:04d}" for i in range(n_regions)]
    x, y = np.arange(n_regions) % cols, np.arange(n_regions) // cols
    country = np.array([f"C{min(int(xi * countries / cols), countries - 1):02d}" for xi in x])
    regions = pd.DataFrame(
        {
            "region_id": ids,
            "country": country,
            "lon": 20.0 + 0.5 * x,
            "lat": 40.0 + 0.5 * y,
            "area_km2": 1000.0,
            "cov_border": (x == 0).astype(float),
        }
    )
    pos = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(x, y, strict=True))}
    pairs = []
    for (a, b), i in pos.items():
        for na, nb in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
            j = pos.get((na, nb))
            if j is not None:
                pairs.append((ids[i], ids[j], bool(country[i] != country[j])))
    adjacency = pd.DataFrame(pairs, columns=["region_id", "neighbour_id", "cross_border"])
    return regions, adjacency


def generate_panel(
    n_regions: int = 24,
    n_periods: int = 104,
    *,
    countries: int = 3,
    categories: tuple[str, ...] = ("trafficking_in_persons", "smuggling_of_migrants"),
    frequency: str = "weekly",
    with_effort: bool = True,
    shifts_per_region: float = 2.0,
    effort_follows_counts: bool = True,
    seed: int = 0,
) -> SyntheticPanel:
    """Generate a panel; ``with_effort=False`` returns ``count`` (observed totals) only.

    ``effort_follows_counts=False`` spreads each country's shifts at random (log-normal
    shares drawn afresh every period) instead of where recent counts were high.
    """
    rng = np.random.default_rng(seed)
    regions, adjacency = _grid(n_regions, countries)
    periods = pd.date_range(_START[frequency], periods=n_periods, freq=_FREQ[frequency])
    n_c, season = len(categories), _SEASON[frequency]
    country_codes = sorted(regions["country"].unique())
    rho, kappa = draw_rates(rng, country_codes, categories)
    country_idx = pd.Index(country_codes).get_indexer(regions["country"])
    rho_r = np.array([rho[c] for c in country_codes])[country_idx]

    base = rng.normal(0.5, 0.8, (n_c, n_regions)) + np.log(np.arange(1, n_c + 1))[::-1, None]
    phase = rng.uniform(0, 2 * np.pi, n_regions)
    # Origin pressure: a country-level AR(1) with shocks that reach activity `lead` periods later.
    lead = 3
    pressure = np.zeros((len(country_codes), n_periods + lead))
    for t in range(1, n_periods + lead):
        shock = rng.binomial(1, 0.04, len(country_codes)) * rng.uniform(
            1.0, 2.0, len(country_codes)
        )
        pressure[:, t] = 0.8 * pressure[:, t - 1] + shock + rng.normal(0, 0.05, len(country_codes))
    latent = np.zeros((n_c, n_regions))
    recent = np.zeros(n_regions)
    rows, truth_rows = [], []
    for t, period in enumerate(periods):
        latent = 0.8 * latent + rng.normal(0, 0.15, latent.shape)
        seasonal = 0.4 * np.sin(2 * np.pi * t / season + phase) if season > 1 else 0.0
        press = pressure[country_idx, t]  # drives activity now; observed `lead` periods earlier
        lam = np.exp(base + seasonal + latent + 0.5 * press)
        incidents = rng.poisson(lam)
        # Status quo: each country's shifts go where recent observed counts were high.
        weights = 0.2 + recent if effort_follows_counts else rng.lognormal(0.0, 0.7, n_regions)
        budget = shifts_per_region * np.bincount(country_idx, minlength=len(country_codes))
        share = weights / np.bincount(country_idx, weights)[country_idx]
        effort = budget[country_idx] * share
        kappa_c = np.array([kappa[c] for c in categories])[:, None]
        reported, detected = observe(rng, incidents, rho_r, kappa_c, effort)
        recent = 0.7 * recent + 0.3 * (reported + detected).sum(axis=0)
        cov_now = pressure[country_idx, t + lead] + rng.normal(0, 0.05, n_regions)
        for c, cat in enumerate(categories):
            rows.append(
                pd.DataFrame(
                    {
                        "region_id": regions["region_id"],
                        "period": period,
                        "category": cat,
                        "reported": reported[c],
                        "detected": detected[c],
                        "effort": effort,
                        "cov_origin_pressure": cov_now,
                    }
                )
            )
            truth_rows.append(
                pd.DataFrame(
                    {
                        "region_id": regions["region_id"],
                        "period": period,
                        "category": cat,
                        "activity_rate": lam[c],
                        "incidents": incidents[c],
                    }
                )
            )
    panel = pd.concat(rows, ignore_index=True).sort_values(["region_id", "period", "category"])
    panel = panel.reset_index(drop=True)
    if not with_effort:
        panel["count"] = panel["reported"] + panel["detected"]
        panel = panel.drop(columns=["reported", "detected", "effort"])
    truth = pd.concat(truth_rows, ignore_index=True)
    truth = truth.sort_values(["region_id", "period", "category"]).reset_index(drop=True)
    return SyntheticPanel(panel, regions, adjacency, truth, kappa, rho)
