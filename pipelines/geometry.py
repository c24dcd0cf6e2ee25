"""Geometry helpers: neighbours from shared boundaries, centroids, areas, distances."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["adjacency", "areas_km2", "centroids"]

_KM_PER_DEGREE = 111.32
# Boundaries that meet in a point (or a sliver shorter than ~10 m) are not neighbours.
_MIN_SHARED_DEG = 1e-4


def adjacency(
    region_ids: Sequence[str],
    geometries: Sequence[BaseGeometry],
    countries: Sequence[str],
) -> pd.DataFrame:
    """Neighbouring regions, found from boundaries they share.

    Parameters
    ----------
    region_ids, geometries, countries
        Aligned sequences, one entry per region.

    Returns
    -------
    DataFrame
        ``region_id``, ``neighbour_id``, ``cross_border`` (the two lie in different
        countries), ``shared_km`` (length of the shared boundary); both directions of every
        pair, sorted.
    """
    geoms = np.asarray(geometries, dtype=object)
    ids = np.asarray(region_ids, dtype=object)
    ctry = np.asarray(countries, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right]))
    )
    touching = shared > _MIN_SHARED_DEG
    left, right, shared = left[touching], right[touching], shared[touching]
    lat = shapely.get_y(shapely.centroid(geoms[left]))
    # A boundary runs in all directions; the mean of the two scale factors is close enough.
    shared_km = shared * _KM_PER_DEGREE * (1 + np.cos(np.radians(lat))) / 2
    a = np.concatenate([left, right])
    b = np.concatenate([right, left])
    out = pd.DataFrame(
        {
            "region_id": ids[a].astype(str),
            "neighbour_id": ids[b].astype(str),
            "cross_border": ctry[a] != ctry[b],
            "shared_km": np.concatenate([shared_km, shared_km]),
        }
    )
    return out.sort_values(["region_id", "neighbour_id"], ignore_index=True)


def centroids(geometries: Sequence[BaseGeometry]) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of each geometry's centroid."""
    c = shapely.centroid(np.asarray(geometries, dtype=object))
    return shapely.get_x(c), shapely.get_y(c)


def areas_km2(geometries: Sequence[BaseGeometry]) -> np.ndarray:
    """Approximate area in km² of WGS84 geometries (equirectangular at each centroid)."""
    geoms = np.asarray(geometries, dtype=object)
    lat = shapely.get_y(shapely.centroid(geoms))
    return np.asarray(shapely.area(geoms) * _KM_PER_DEGREE**2 * np.cos(np.radians(lat)))
