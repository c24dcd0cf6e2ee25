"""Which unit may work in which region: jurisdiction, agreements and distance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossplan.optimize.region_table import RegionTable
from crossplan.optimize.resources import Agreement, Unit

__all__ = ["EARTH_RADIUS_KM", "Eligibility", "compute_eligibility", "haversine_km"]

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, eq=False)
class Eligibility:
    """Eligible (unit, region) pairs.

    Parameters
    ----------
    matrix
        Boolean array (units, regions): True where the unit may work.
    """

    matrix: np.ndarray

    @property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit and region index of every eligible pair, sorted by unit then region."""
        u, r = np.nonzero(self.matrix)
        return u, r

    def regions_of(self, unit: int) -> np.ndarray:
        """Indices of the regions ``unit`` may work in."""
        return np.flatnonzero(self.matrix[unit])

    def units_of(self, region: int) -> np.ndarray:
        """Indices of the units that may work in ``region``."""
        return np.flatnonzero(self.matrix[:, region])


def haversine_km(lon1: float, lat1: float, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Great-circle distance in km from one point to many (degrees in, km out)."""
    p1, l1 = np.radians(lat1), np.radians(lon1)
    p2, l2 = np.radians(lat), np.radians(lon)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def compute_eligibility(
    units: Sequence[Unit], regions: RegionTable, agreements: Sequence[Agreement]
) -> Eligibility:
    """Where each unit may work (see :class:`~optimize.resources.Unit` for the rules)."""
    countries = np.asarray(regions.countries, dtype=object)
    index = regions.index
    opened: dict[str, np.ndarray] = {}
    for a in agreements:
        cols = [index[r] for r in a.regions]
        for c in a.countries:
            mask = opened.setdefault(c, np.zeros(len(countries), dtype=bool))
            mask[cols] = True
    matrix = np.zeros((len(units), len(countries)), dtype=bool)
    none = np.zeros(len(countries), dtype=bool)
    # Per country once: its regions, and those agreements open to it elsewhere.
    own = {c: countries == c for c in {u.country for u in units}}
    reach = {c: own[c] | (opened.get(c, none) & ~own[c]) for c in own}
    lon, lat = np.asarray(regions.lon), np.asarray(regions.lat)
    for i, u in enumerate(units):
        allowed = reach[u.country].copy()
        if u.regions is not None:
            listed = np.zeros(len(countries), dtype=bool)
            listed[[index[r] for r in u.regions]] = True
            allowed &= listed | ~own[u.country]
        if u.max_distance_km is not None and u.home_region is not None:
            h = index[u.home_region]
            where = np.flatnonzero(allowed)  # distances only where it may work otherwise
            d = haversine_km(lon[h], lat[h], lon[where], lat[where])
            allowed[where[d > u.max_distance_km]] = False
        matrix[i] = allowed
    return Eligibility(matrix=matrix)
