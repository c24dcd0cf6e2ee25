"""Regions in a fixed order, with country and centroid: the table eligibility and the
planning inputs index regions by."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from crossplan.optimize.errors import InputError, InputProblem

__all__ = ["RegionTable"]


@dataclass(frozen=True, eq=False)
class RegionTable:
    """Regions in a fixed order, with country and centroid (WGS84 degrees)."""

    region_ids: tuple[str, ...]
    countries: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> RegionTable:
        """Read ``region_id``, ``country``, ``lon``, ``lat`` columns of a region table."""
        needed = ["region_id", "country", "lon", "lat"]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise InputError(
                [
                    InputProblem(
                        "regions",
                        f"missing column(s) {', '.join(missing)}",
                        "give region_id, country and the centroid's lon and lat",
                    )
                ]
            )
        ids = tuple(frame["region_id"].astype(str))
        if len(set(ids)) != len(ids):
            dup = sorted({r for r in ids if ids.count(r) > 1})
            raise InputError(
                [InputProblem("regions", f"duplicate region_id {dup[:5]}", "make ids unique")]
            )
        return cls(
            region_ids=ids,
            countries=tuple(frame["country"].astype(str)),
            lon=frame["lon"].to_numpy(dtype=float),
            lat=frame["lat"].to_numpy(dtype=float),
        )

    @cached_property
    def index(self) -> dict[str, int]:
        """Position of each region id."""
        return {r: i for i, r in enumerate(self.region_ids)}
