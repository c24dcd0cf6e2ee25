"""Synthetic geography: a coastline, irregular countries made of Voronoi regions, region kinds.

Regions are Voronoi cells of random points clipped to a landmass whose southern edge is a
wavy coastline; countries are grown over the region graph from spread-out seeds along
randomly weighted shortest paths, so they are contiguous and their borders irregular.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from crossplan.pipelines.geometry import adjacency, areas_km2, centroids

__all__ = ["COUNTRY_CODES", "Geography", "build_geography"]

# Real ISO 3166-1 alpha-3 codes of a neighbourhood with shared land and sea routes.
COUNTRY_CODES = (
    "GRC", "MKD", "ALB", "BGR", "SRB", "MNE", "BIH", "HRV", "ROU", "TUR",
    "SVN", "HUN", "MDA", "CYP", "ITA", "AUT", "SVK", "UKR", "POL", "CZE",
)  # fmt: skip

_SYLLABLES = (
    "ka", "ro", "mi", "ve", "lo", "sta", "dri", "na", "po", "te", "vo", "li", "sen",
    "mar", "da", "ki", "zo", "ra", "bel", "tu", "ge", "no", "pri", "sa", "ol", "ven",
)  # fmt: skip


@dataclass(frozen=True)
class Geography:
    """Regions of a synthetic world.

    Attributes
    ----------
    regions
        ``region_id, country, name, kind, lon, lat, area_km2, cov_population,
        cov_road_density`` per region.
    geometries
        Polygons (WGS84), aligned with ``regions``.
    adjacency
        Neighbour pairs as returned by :func:`pipelines.geometry.adjacency`.
    outer_edge
        Boolean per region: touches the edge of the modelled area on land (a border with a
        country outside the world) — an entry point for routes from outside.
    coastal
        Boolean per region: touches the sea.
    """

    regions: pd.DataFrame
    geometries: list[BaseGeometry]
    adjacency: pd.DataFrame
    outer_edge: np.ndarray
    coastal: np.ndarray


def build_geography(rng: np.random.Generator, n_regions: int, n_countries: int) -> Geography:
    """Draw a geography of about ``n_regions`` regions in ``n_countries`` countries."""
    scale = np.sqrt(max(n_regions, 4) / 60)
    width, height = min(8.0 * scale, 100.0), min(5.0 * scale, 45.0)
    lon0, lat0 = 19.0, max(60.0 - height, 10.0) - 20.0
    coast = _coastline(rng, lon0, lat0, width, height)
    land = Polygon([*coast.coords, (lon0 + width, lat0 + height), (lon0, lat0 + height)])
    points = _points_in(rng, land, n_regions, lon0, lat0, width, height)
    cells = shapely.voronoi_polygons(
        shapely.MultiPoint(points), extend_to=shapely.box(lon0, lat0, lon0 + width, lat0 + height),
        ordered=True,
    )  # fmt: skip
    geoms = list(shapely.make_valid(shapely.intersection(shapely.get_parts(cells), land)))
    geoms = [_largest_polygonal(g) for g in geoms]
    n = len(geoms)
    width_id = max(3, len(str(n)))
    ids = [f"r{i + 1:0{width_id}d}" for i in range(n)]

    pairs = adjacency(ids, geoms, ["x"] * n)
    index = {rid: i for i, rid in enumerate(ids)}
    a = pairs["region_id"].map(index).to_numpy()
    b = pairs["neighbour_id"].map(index).to_numpy()
    lon, lat = centroids(geoms)
    country_idx = _grow_countries(rng, n, a, b, lon, lat, n_countries)
    countries = np.asarray(COUNTRY_CODES)[country_idx]

    geom_arr = np.asarray(geoms, dtype=object)
    coastal = shapely.length(shapely.intersection(shapely.boundary(geom_arr), coast)) > 1e-4
    frame = shapely.box(lon0, lat0, lon0 + width, lat0 + height).exterior
    land_edge = shapely.difference(frame, shapely.buffer(coast, 1e-6))
    outer_edge = shapely.length(shapely.intersection(shapely.boundary(geom_arr), land_edge)) > 1e-4

    edges = adjacency(ids, geoms, list(countries))
    cross = np.zeros(n, dtype=bool)
    cross[edges.loc[edges["cross_border"], "region_id"].map(index).to_numpy()] = True
    kinds = np.where(coastal, "sea_border", np.where(cross | outer_edge, "land_border", "inland"))
    for c in np.unique(country_idx):
        members = np.flatnonzero(country_idx == c)
        cx, cy = lon[members].mean(), lat[members].mean()
        capital = members[np.argmin((lon[members] - cx) ** 2 + (lat[members] - cy) ** 2)]
        kinds[capital] = "airport"

    area = areas_km2(geoms)
    population = rng.lognormal(np.log(150_000), 0.8, n) * np.where(kinds == "airport", 6.0, 1.0)
    regions = pd.DataFrame(
        {
            "region_id": ids,
            "country": countries,
            "name": _names(rng, n),
            "kind": kinds,
            "lon": lon,
            "lat": lat,
            "area_km2": area,
            "cov_population": np.round(np.log(population), 4),
            "cov_road_density": np.round(rng.gamma(4.0, 0.25, n), 4),
        }
    )
    return Geography(regions, geoms, edges, outer_edge, coastal)


def _coastline(
    rng: np.random.Generator, lon0: float, lat0: float, width: float, height: float
) -> LineString:
    """A wavy west-to-east coastline in the southern third of the area."""
    xs = np.linspace(lon0, lon0 + width, 80)
    phase = rng.uniform(0, 2 * np.pi, 3)
    t = (xs - lon0) / width
    wave = sum(
        amp * np.sin(2 * np.pi * k * t + p)
        for k, amp, p in zip((1, 3, 7), (0.08, 0.05, 0.02), phase, strict=True)
    )
    ys = lat0 + height * (0.2 + wave)
    return LineString(np.column_stack([xs, ys]))


def _points_in(
    rng: np.random.Generator, land: Polygon, n: int, lon0: float, lat0: float, w: float, h: float
) -> np.ndarray:
    """``n`` random points inside ``land``, spread out by one Lloyd-like thinning step."""
    shapely.prepare(land)
    out: list[np.ndarray] = []
    while sum(len(o) for o in out) < n:
        cand = np.column_stack(
            [rng.uniform(lon0, lon0 + w, 2 * n), rng.uniform(lat0, lat0 + h, 2 * n)]
        )
        out.append(cand[shapely.contains_xy(land, cand[:, 0], cand[:, 1])])
    pts = np.concatenate(out)[:n]
    return pts


def _largest_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygonal part of a clipped cell (clipping can leave stray lines)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    if len(parts) == 1:
        return parts[0]
    return shapely.MultiPolygon(parts)


def _grow_countries(
    rng: np.random.Generator,
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    k: int,
) -> np.ndarray:
    """Assign each region to one of ``k`` contiguous countries with irregular borders."""
    seeds = [int(rng.integers(n))]
    d2 = (lon - lon[seeds[0]]) ** 2 + (lat - lat[seeds[0]]) ** 2
    for _ in range(1, k):
        nxt = int(np.argmax(d2 * rng.uniform(0.7, 1.0, n)))
        seeds.append(nxt)
        d2 = np.minimum(d2, (lon - lon[nxt]) ** 2 + (lat - lat[nxt]) ** 2)
    weights = rng.lognormal(0.0, 0.7, len(a))
    graph = coo_matrix((weights, (a, b)), shape=(n, n)).tocsr()
    _, _, sources = dijkstra(
        graph, directed=False, indices=seeds, min_only=True, return_predecessors=True
    )
    lookup = {s: i for i, s in enumerate(seeds)}
    # Islands cut off by the coastline join the nearest country seed.
    out = np.empty(n, dtype=int)
    for i, s in enumerate(sources):
        if s < 0:
            s = seeds[int(np.argmin((lon[seeds] - lon[i]) ** 2 + (lat[seeds] - lat[i]) ** 2))]
        out[i] = lookup[int(s)]
    return out


def _names(rng: np.random.Generator, n: int) -> list[str]:
    names: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        k = int(rng.integers(2, 4))
        name = "".join(rng.choice(_SYLLABLES, k)).capitalize()
        if name not in names:
            names.add(name)
            out.append(name)
    return out
