"""A synthetic cross-border world with known truth, to generate data and to evaluate plans.

:func:`simulate_world` draws a geography, routes, reporting and detection parameters and runs
the history under a *status quo* patrol policy (each country spreads its shifts in
proportion to what it observed recently). The returned :class:`World` can then be stepped
one period at a time with any allocation of effort, which is how the closed-loop evaluation
plays policies against the same world.

Observation model, per region r, category c and period t::

    N[r,c,t]        ~ Poisson(λ[r,c,t])                         true incidents
    reported[r,c,t] ~ Binomial(N, ρ[country(r)])                  came to light without patrols
    detected[r,c,t] ~ Binomial(N - reported, 1 - exp(-κ[c]·effort[r,t]))

λ is background activity plus the flow of every route through r. When a path is heavily
enforced, its family's flow moves towards alternative paths in later periods
(displacement). Every period draws from its own random stream, keyed by (seed, period), so
two copies of a world stepped with different allocations share their random numbers as far
as the world allows (common random numbers).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from crossplan.models.observation import draw_rates, observe
from crossplan.pipelines.contract.dataset import RECENT_PERIODS
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.synth.geography import COUNTRY_CODES, build_geography
from crossplan.pipelines.synth.resources import build_resources
from crossplan.pipelines.synth.routes import RouteNetwork, build_routes

__all__ = ["DEFAULT_CATEGORIES", "World", "WorldConfig", "last_full_week", "simulate_world"]

DEFAULT_CATEGORIES = ("trafficking_in_persons", "smuggling_of_migrants")
_START = pd.Timestamp("2023-01-02")  # a Monday: the first week of a world with no end date
_PERIODS_PER_YEAR = 52.18
_FUTURE_PERIODS = 260  # how far past the history a world can be stepped
_DISPLACEMENT = 1.5  # how strongly enforcement pushes flow off a path
_RELAXATION = 0.1  # how fast flow returns to its usual paths


@dataclass(frozen=True)
class WorldConfig:
    """Options of :func:`simulate_world`; see there."""

    seed: int = 7
    countries: int = 6
    regions: int = 60
    periods: int = 156
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    missing_share: float = 0.005
    end: dt.date | None = None

    def start(self) -> pd.Timestamp:
        """The Monday of the first simulated week.

        A fixed date without ``end``; with it, ``periods`` weeks back from the week (Monday to
        Sunday) that contains ``end``, so that the history's last week is that one.
        """
        if self.end is None:
            return _START
        last = pd.Timestamp(self.end).normalize() - pd.Timedelta(days=self.end.weekday())
        return last - pd.Timedelta(weeks=self.periods - 1)

    def check(self) -> None:
        """Raise :class:`ConfigurationError` for options the world cannot honour."""
        problems = []
        if not 2 <= self.countries <= len(COUNTRY_CODES):
            problems.append(
                f"countries must be between 2 and {len(COUNTRY_CODES)}, got {self.countries}"
            )
        if not 4 * self.countries <= self.regions <= 20_000:
            problems.append(
                f"regions must be at least 4 per country and at most 20000, got {self.regions}"
            )
        if not 8 <= self.periods <= 1040:
            problems.append(f"periods must be between 8 and 1040 weeks, got {self.periods}")
        if not self.categories or len(set(self.categories)) != len(self.categories):
            problems.append("categories must be distinct and not empty")
        if any(not c or not c.replace("_", "").isalnum() for c in self.categories):
            problems.append("categories must be names made of letters, digits and '_'")
        if not 0 <= self.missing_share < 0.5:
            problems.append("missing_share must be in [0, 0.5)")
        if self.end is not None and not 1900 <= self.end.year <= 2200:
            problems.append(f"end must be a date from 1900 to 2200, got {self.end}")
        if problems:
            raise ConfigurationError("; ".join(problems))


@dataclass
class _History:
    activity: list[np.ndarray] = field(default_factory=list)  # (R, C) per period
    incidents: list[np.ndarray] = field(default_factory=list)
    reported: list[np.ndarray] = field(default_factory=list)
    detected: list[np.ndarray] = field(default_factory=list)
    effort: list[np.ndarray] = field(default_factory=list)  # (R,) per period


class World:
    """A simulated world: geography, routes, hidden parameters and everything that happened.

    Build one with :func:`simulate_world`. Attributes ``regions``, ``geometries``,
    ``adjacency`` and ``resources`` describe the world as the agencies see it; ``kappa``
    (per category), ``reporting_rate`` (per country) and the true activity are hidden from
    models and only used to generate data and to score.
    """

    def __init__(self, config: WorldConfig) -> None:
        config.check()
        self.config = config
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0]))
        geo = build_geography(rng, config.regions, config.countries)
        self.regions = geo.regions
        self.geometries = geo.geometries
        self.adjacency = geo.adjacency
        self.categories = tuple(config.categories)
        horizon = config.periods + _FUTURE_PERIODS
        start = config.start()
        self.periods = pd.date_range(start, periods=horizon, freq="W-MON")
        # Seasons follow the calendar: the same seed ending on another date draws the same
        # numbers, with its seasons where that date puts them.
        self._start_week = int(start.isocalendar().week) - 1
        self._routes: RouteNetwork = build_routes(
            rng, geo, len(self.categories), horizon, self._start_week, _PERIODS_PER_YEAR
        )
        self.resources = build_resources(rng, self.regions, self.adjacency)

        countries = sorted(self.regions["country"].unique())
        self.reporting_rate, self.kappa = draw_rates(rng, countries, self.categories)
        self._rho = self.regions["country"].map(self.reporting_rate).to_numpy()
        self._kappa = np.array([self.kappa[c] for c in self.categories])
        n = len(self.regions)
        airport = (self.regions["kind"] == "airport").to_numpy()
        self._background = (
            rng.lognormal(np.log(0.12), 0.6, (n, len(self.categories)))
            * np.where(airport, 3.0, 1.0)[:, None]
        )
        self._pressure = self._region_pressure(rng)
        self._weights = self._routes.base_weight.copy()
        self._capacity = self._country_capacity()
        self._missing_rng = np.random.default_rng(np.random.SeedSequence([config.seed, 1]))
        self._history = _History()
        self._dropped: list[np.ndarray] = []

    # -- what the agencies see -------------------------------------------------------------

    @property
    def n_periods(self) -> int:
        """Number of periods simulated so far."""
        return len(self._history.effort)

    def next_period(self) -> pd.Timestamp:
        """Start date of the period the next :meth:`step` simulates."""
        if self.n_periods >= len(self.periods):
            raise ConfigurationError("the world cannot be stepped further: its horizon is used up")
        return self.periods[self.n_periods]

    def step(self, effort: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
        """Simulate one more period with the given patrol effort per region.

        Parameters
        ----------
        effort
            Effective unit-shifts per ``region_id`` in the coming period; regions left out get
            none. ``None`` applies the status quo policy (what agencies do today).

        Returns
        -------
        DataFrame
            The period's observations in the incidents format of the data contract, one row
            per region and category (``reported``, ``detected``, ``effort``,
            ``cov_origin_pressure``).
        """
        t = self.n_periods
        self.next_period()
        e = self._status_quo() if effort is None else _effort_vector(effort, self.regions)
        lam = self._activity(t)
        rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, 2, t]))
        n_true = rng.poisson(lam)
        reported, detected = observe(rng, n_true, self._rho[:, None], self._kappa, e[:, None])
        h = self._history
        h.activity.append(lam)
        h.incidents.append(n_true)
        h.reported.append(reported)
        h.detected.append(detected)
        h.effort.append(e)
        self._displace(e)
        return self._frame(slice(t, t + 1))

    def next_activity(self) -> pd.DataFrame:
        """True expected activity of the coming period (what an oracle would plan on)."""
        t = self.n_periods
        self.next_period()
        lam = self._activity(t)
        return pd.DataFrame(
            {
                "region_id": np.repeat(self.regions["region_id"].to_numpy(), len(self.categories)),
                "category": np.tile(np.asarray(self.categories, dtype=object), len(self.regions)),
                "period": self.periods[t],
                "activity_rate": lam.ravel(),
            }
        )

    def lose_reports(self, share: float) -> None:
        """Lose ``share`` of the cells observed so far from the incidents panel (not the truth).

        Real panels lose some reports; which cells are lost is drawn from the world's own
        stream, so the same seed loses the same cells.
        """
        cells = len(self.regions) * len(self.categories) * self.n_periods
        n_drop = round(share * cells)
        self._dropped.append(np.sort(self._missing_rng.choice(cells, n_drop, replace=False)))

    def incidents(self) -> pd.DataFrame:
        """Every observation so far, minus cells lost in reporting, in the contract's format."""
        frame = self._frame(slice(0, self.n_periods))
        if self._dropped:
            dropped = np.concatenate(self._dropped)
            frame = frame.drop(index=dropped[dropped < len(frame)]).reset_index(drop=True)
        return frame

    def truth(self) -> pd.DataFrame:
        """``region_id, period, category, activity_rate, incidents`` of every simulated cell."""
        h = self._history
        keys = self._keys(slice(0, self.n_periods))
        keys["activity_rate"] = np.stack(h.activity).ravel()
        keys["incidents"] = np.stack(h.incidents).ravel().astype("int64")
        return keys

    def routes(self) -> pd.DataFrame:
        """The route network as it stands: one row per (path, region on it).

        Columns ``path``, ``family`` (alternatives of one route share it), ``region_id``,
        ``exposure`` (incidents per unit of the path's flow), ``base_weight`` (the path's
        usual share of its family's flow) and ``weight`` (its share now, after displacement).
        """
        r = self._routes
        coo = r.exposure.tocoo()
        return pd.DataFrame(
            {
                "path": coo.row,
                "family": r.family[coo.row],
                "region_id": self.regions["region_id"].to_numpy()[coo.col],
                "exposure": coo.data,
                "base_weight": r.base_weight[coo.row],
                "weight": self._weights[coo.row],
            }
        ).sort_values(["path", "region_id"], ignore_index=True)

    def copy(self) -> World:
        """An independent copy that can be stepped without touching this world."""
        return copy.deepcopy(self)

    def write(self, out_dir: Path) -> dict[str, Path]:
        """Write the data directory: regions, incidents, truth and resources files."""
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            "regions": out_dir / "regions.geojson",
            "incidents": out_dir / "incidents.parquet",
            "truth": out_dir / "truth.parquet",
            "resources": out_dir / "resources.json",
        }
        _atomic_write_text(paths["regions"], json.dumps(self.regions_geojson()))
        _atomic_write_parquet(paths["incidents"], self.incidents())
        _atomic_write_parquet(paths["truth"], self.truth())
        _atomic_write_text(paths["resources"], self.resources.model_dump_json(indent=2))
        return paths

    def regions_geojson(self) -> dict[str, Any]:
        """The regions as a GeoJSON FeatureCollection (WGS84, coordinates to 1e-5°)."""
        return _regions_geojson(self.regions, self.geometries)

    # -- the hidden machinery --------------------------------------------------------------

    def _activity(self, t: int) -> np.ndarray:
        r = self._routes
        path_flow = r.flow[r.family, :, t] * self._weights[:, None]  # (paths, C)
        routed = np.asarray(r.exposure.T @ path_flow)
        week = (t + self._start_week) % _PERIODS_PER_YEAR
        season = 1 + 0.15 * np.cos(2 * np.pi * (week - 30) / _PERIODS_PER_YEAR)
        return np.asarray(self._background * season + routed)

    def _displace(self, effort: np.ndarray) -> None:
        r = self._routes
        caught = 1.0 - np.exp(-self._kappa.mean() * effort)
        exposure_total = np.asarray(r.exposure.sum(axis=1)).ravel()
        enforcement = np.asarray(r.exposure @ caught).ravel() / np.maximum(exposure_total, 1e-9)
        w = self._weights * np.exp(-_DISPLACEMENT * enforcement)
        w = w / np.bincount(r.family, weights=w)[r.family]
        self._weights = (1 - _RELAXATION) * w + _RELAXATION * r.base_weight

    def _region_pressure(self, rng: np.random.Generator) -> np.ndarray:
        """(periods × regions) pressure index seen in each region: its routes' pressure."""
        r = self._routes
        by_family = np.zeros((r.n_families, len(self.regions)))
        coo = r.exposure.tocoo()
        np.add.at(by_family, (r.family[coo.row], coo.col), coo.data)
        share = by_family / np.maximum(by_family.sum(axis=0, keepdims=True), 1e-9)
        pressure = r.pressure.T @ share  # (periods, regions)
        noise = rng.normal(0.0, 0.1, pressure.shape)
        return np.round(pressure + noise, 4)

    def _country_capacity(self) -> dict[str, float]:
        cap: dict[str, float] = {}
        for u in self.resources.units:
            cap[u.country] = cap.get(u.country, 0.0) + u.shifts_per_period * u.efficiency
        return cap

    def _status_quo(self) -> np.ndarray:
        """Each country's shifts in proportion to its regions' recent counts (current practice)."""
        h = self._history
        recent = np.zeros(len(self.regions))
        for rep, det in zip(
            h.reported[-RECENT_PERIODS:], h.detected[-RECENT_PERIODS:], strict=True
        ):
            recent += (rep + det).sum(axis=1)
        weight = recent + 0.5
        country = self.regions["country"].to_numpy()
        effort = np.zeros(len(self.regions))
        for c, total in self._capacity.items():
            mask = country == c
            effort[mask] = total * weight[mask] / weight[mask].sum()
        return np.round(effort, 1)

    def _keys(self, periods: slice) -> pd.DataFrame:
        n_r, n_c = len(self.regions), len(self.categories)
        idx = self.periods[periods]
        return pd.DataFrame(
            {
                "region_id": np.tile(
                    np.repeat(self.regions["region_id"].to_numpy(), n_c), len(idx)
                ),
                "period": np.repeat(idx.to_numpy(), n_r * n_c),
                "category": np.tile(np.asarray(self.categories, dtype=object), n_r * len(idx)),
            }
        )

    def _frame(self, periods: slice) -> pd.DataFrame:
        h = self._history
        n_c = len(self.categories)
        frame = self._keys(periods)
        frame["reported"] = np.stack(h.reported[periods]).ravel().astype("int64")
        frame["detected"] = np.stack(h.detected[periods]).ravel().astype("int64")
        frame["effort"] = np.repeat(np.stack(h.effort[periods]).ravel(), n_c)
        frame["cov_origin_pressure"] = np.repeat(self._pressure[periods].ravel(), n_c)
        return frame


def _regions_geojson(regions: pd.DataFrame, geometries: Sequence[Any]) -> dict[str, Any]:
    """``regions`` as a GeoJSON FeatureCollection (WGS84, coordinates to 1e-5°)."""
    features = []
    props = regions.drop(columns=["lon", "lat", "area_km2"])
    geoms = shapely.set_precision(np.asarray(geometries, dtype=object), 1e-5)
    for record, geom in zip(props.to_dict("records"), geoms, strict=True):
        features.append(
            {
                "type": "Feature",
                "properties": record,
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _effort_vector(effort: Mapping[str, float] | pd.Series, regions: pd.DataFrame) -> np.ndarray:
    """Effort per region, in the order of ``regions`` (0 where none is given)."""
    series = pd.Series(effort, dtype="float64")
    unknown = series.index.difference(regions["region_id"])
    if len(unknown):
        raise ConfigurationError(
            f"effort given for unknown regions: {', '.join(map(str, unknown[:5]))}"
        )
    if (series < 0).any() or not np.isfinite(series.to_numpy()).all():
        raise ConfigurationError("effort must be finite and non-negative")
    return series.reindex(regions["region_id"], fill_value=0.0).to_numpy()


def simulate_world(
    seed: int = WorldConfig.seed,
    countries: int = WorldConfig.countries,
    regions: int = WorldConfig.regions,
    periods: int = WorldConfig.periods,
    categories: Sequence[str] = WorldConfig.categories,
    missing_share: float = WorldConfig.missing_share,
    on_period: Callable[[int], None] | None = None,
    end: dt.date | None = None,
) -> World:
    """Draw a world and run its history under the status quo policy.

    Parameters
    ----------
    seed
        The world is a deterministic function of its options and seed (``end`` included).
    countries, regions, periods
        Size: regions is approximate (cells cut by the coast merge), periods are weeks.
    categories
        Activity categories, e.g. ``trafficking_in_persons``, ``smuggling_of_migrants``.
    missing_share
        Share of (region, period, category) cells lost in reporting, as real panels lose
        some; they are missing from the incidents panel, not zero, and kept in the truth.
    on_period
        Called with the number of periods done after each one (for progress bars).
    end
        A day of the history's last week (weeks run from Monday), e.g.
        ``last_full_week(date.today())``; by default the history starts on 2023-01-02.
    """
    config = WorldConfig(seed, countries, regions, periods, tuple(categories), missing_share, end)
    world = World(config)
    for t in range(periods):
        world.step(None)
        if on_period is not None:
            on_period(t + 1)
    world.lose_reports(missing_share)
    return world


def last_full_week(today: dt.date) -> dt.date:
    """The Monday of the last week (Monday to Sunday) that ended before ``today``."""
    return today - dt.timedelta(days=today.weekday() + 7)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
