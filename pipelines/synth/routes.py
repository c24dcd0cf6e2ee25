"""Synthetic trafficking and smuggling routes: families of alternative paths with flows.

A *route family* carries activity from an entry point (a coast, the outer land edge or an
airport) to a destination in another country. Its members are alternative paths (different
crossings); the family's flow is split between them and shifts away from a path that is
heavily enforced (displacement). Each family has its own yearly seasonality, trend,
category mix and crisis *shocks*, which an observable pressure index announces 2–6 periods
ahead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from crossplan.pipelines.synth.geography import Geography

__all__ = ["RouteNetwork", "build_routes"]

# Where incidents happen along a path, relative to the flow: most at crossings and at the
# destination, some in transit.
_EXPOSURE_ENTRY = 1.0
_EXPOSURE_CROSSING = 1.0
_EXPOSURE_TRANSIT = 0.35
_EXPOSURE_DESTINATION = 0.7


@dataclass(frozen=True)
class RouteNetwork:
    """Route families over the regions of a geography.

    Attributes
    ----------
    exposure
        Sparse (paths × regions): incidents in a region per unit of the path's flow.
    family
        Family index of each path.
    base_weight
        Share of its family's flow each path carries when nothing is enforced.
    flow
        (families × categories × periods) flow per period before displacement: base level
        × seasonality × trend × shocks.
    pressure
        (families × periods) observable pressure index: the shocks' shape, 2–6 periods early,
        plus noise.
    """

    exposure: csr_matrix
    family: np.ndarray
    base_weight: np.ndarray
    flow: np.ndarray
    pressure: np.ndarray

    @property
    def n_families(self) -> int:
        return int(self.flow.shape[0])


def build_routes(
    rng: np.random.Generator,
    geo: Geography,
    n_categories: int,
    n_periods: int,
    start_week: int,
    periods_per_year: float = 52.18,
) -> RouteNetwork:
    """Draw route families and their flows for ``n_periods`` periods."""
    regions = geo.regions
    n = len(regions)
    index = {rid: i for i, rid in enumerate(regions["region_id"])}
    a = geo.adjacency["region_id"].map(index).to_numpy()
    b = geo.adjacency["neighbour_id"].map(index).to_numpy()
    country = regions["country"].to_numpy()
    kind = regions["kind"].to_numpy()

    entries = np.flatnonzero(geo.coastal | geo.outer_edge | (kind == "airport"))
    destinations = np.flatnonzero((kind == "airport") | (kind == "inland"))
    if len(destinations) == 0:
        destinations = np.arange(n)
    n_families = max(3, n // 6)

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    families: list[int] = []
    weights: list[float] = []
    for f in range(n_families):
        entry = int(rng.choice(entries))
        foreign = destinations[country[destinations] != country[entry]]
        dest = int(rng.choice(foreign if len(foreign) else destinations))
        edge_w = rng.lognormal(0.0, 0.5, len(a))
        n_alt = int(rng.integers(1, 3))
        path_weights = rng.dirichlet(np.full(n_alt + 1, 2.0))
        path_weights = np.sort(path_weights)[::-1]  # the primary path carries the most
        for k in range(n_alt + 1):
            path = _shortest_path(n, a, b, edge_w, entry, dest)
            if path is None:
                break
            p = len(families)
            families.append(f)
            weights.append(float(path_weights[k]))
            for pos, r in enumerate(path):
                rows.append(p)
                cols.append(r)
                vals.append(_exposure(pos, path, country))
            # Make the next alternative avoid this path's crossings and transit.
            on_path = np.isin(a, path[1:-1]) | np.isin(b, path[1:-1])
            edge_w = np.where(on_path, edge_w * 6.0, edge_w)
    n_paths = len(families)
    exposure = coo_matrix((vals, (rows, cols)), shape=(n_paths, n)).tocsr()
    family = np.asarray(families)
    base_weight = np.asarray(weights)
    # Renormalise within families that lost alternatives.
    totals = np.bincount(family, weights=base_weight, minlength=n_families)
    base_weight = base_weight / totals[family]

    flow, pressure = _flows(rng, n_families, n_categories, n_periods, start_week, periods_per_year)
    return RouteNetwork(exposure, family, base_weight, flow, pressure)


def _shortest_path(
    n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, src: int, dst: int
) -> list[int] | None:
    graph = coo_matrix((w, (a, b)), shape=(n, n)).tocsr()
    _, pred = dijkstra(graph, directed=True, indices=src, return_predecessors=True)
    if src != dst and pred[dst] < 0:
        return None
    path = [dst]
    while path[-1] != src:
        path.append(int(pred[path[-1]]))
    return path[::-1]


def _exposure(pos: int, path: list[int], country: np.ndarray) -> float:
    r = path[pos]
    if pos == 0:
        return _EXPOSURE_ENTRY
    if pos == len(path) - 1:
        return _EXPOSURE_DESTINATION
    crosses = country[path[pos - 1]] != country[r] or country[path[pos + 1]] != country[r]
    return _EXPOSURE_CROSSING if crosses else _EXPOSURE_TRANSIT


def _flows(
    rng: np.random.Generator,
    n_families: int,
    n_categories: int,
    n_periods: int,
    start_week: int,
    periods_per_year: float,
) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n_periods)
    week = (start_week + t) % periods_per_year
    level = rng.lognormal(np.log(5.0), 0.6, n_families)
    amplitude = rng.uniform(0.15, 0.5, n_families)
    peak = rng.uniform(0, periods_per_year, n_families)
    growth = rng.normal(0.03, 0.08, n_families)
    mix = rng.dirichlet(np.full(n_categories, 0.8), n_families)  # (families, categories)
    mix = 0.15 / n_categories + 0.85 * mix  # every family carries a little of everything

    season = 1 + amplitude[:, None] * np.cos(
        2 * np.pi * (week[None, :] - peak[:, None]) / periods_per_year
    )
    trend = np.exp(growth[:, None] * t[None, :] / periods_per_year)
    shock = np.ones((n_families, n_periods))
    pressure = rng.normal(0.0, 0.15, (n_families, n_periods))
    for f in range(n_families):
        n_shocks = rng.poisson(n_periods / 78)
        for _ in range(n_shocks):
            start = int(rng.integers(0, n_periods))
            length = int(rng.integers(3, 11))
            size = rng.uniform(0.8, 2.0)
            lead = int(rng.integers(2, 7))
            ramp = np.sin(np.linspace(0, np.pi, length + 2)[1:-1])
            end = min(start + length, n_periods)
            shock[f, start:end] += size * ramp[: end - start]
            p0 = max(start - lead, 0)
            p1 = min(start - lead + length, n_periods)
            if p1 > p0:
                pressure[f, p0:p1] += size * ramp[p0 - (start - lead) : p1 - (start - lead)]
    flow = level[:, None, None] * mix[:, :, None] * (season * trend * shock)[:, None, :]
    return flow, np.round(pressure, 4)
