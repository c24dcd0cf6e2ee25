"""How fresh a panel is: each country's newest period, and warnings when data stop early.

A forecast starts the period after the panel's last one. When a country's data stop more
than two periods before that, the forecast for its regions rests on old data (a missing
period is missing, not zero); when the planned periods lie more than two periods before the
current one, the whole panel is old. Both are said in words on every forecast and plan.

A reader's view of the panel (the service's sharing rules) also has its own as-of time and
fingerprint (:func:`view_fingerprint`), which forecasts and plans made from it state instead
of the whole panel's: a change the reader may not read moves neither.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from crossplan.optimize.periods import period_offset, period_start
from crossplan.pipelines.contract import Dataset

__all__ = [
    "STALE_AFTER_PERIODS",
    "DataStatus",
    "Freshness",
    "View",
    "freshness",
    "view_fingerprint",
]

# More than this many periods between a country's newest data and the planned ones is stale.
STALE_AFTER_PERIODS = 2


@dataclass(frozen=True)
class Freshness:
    """The newest period per country, the first planned period, and warnings in words.

    Attributes
    ----------
    as_of, fingerprint
        Of a reader's view of the panel, when this is a view's freshness: what its forecasts
        and plans state instead of the panel's (``fingerprint`` ``None``: the panel's).
    """

    newest_period: dict[str, str]
    first_planned_period: str
    warnings: list[str] = field(default_factory=list)
    as_of: str | None = None
    fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "newest_period": self.newest_period,
            "first_planned_period": self.first_planned_period,
        }


class DataStatus(BaseModel):
    """The panel an answer was made from, and how fresh it is."""

    as_of: str | None = Field(
        description="Receipt time of the latest submission in the panel (UTC), or, for an "
        "agency's key, of the latest cell it reads exactly; null for a data directory, and in "
        "a plan another agency made"
    )
    fingerprint: str | None = Field(
        description="SHA-256 of the panel as of that time (of the key's view of it, for an "
        "agency's key); null in a plan another agency made"
    )
    newest_period: dict[str, str] = Field(description="Newest observed period per country")
    first_planned_period: str = Field(description="The first period forecast or planned")


@dataclass(frozen=True)
class View:
    """A reader's view of a panel, with its as-of time and fingerprint."""

    dataset: Dataset
    as_of: str | None
    fingerprint: str

    @classmethod
    def of(cls, dataset: Dataset, received: pd.Series) -> View:
        """The view ``dataset``, dated by ``received``: the receipt times (naive UTC) of the
        cells its reader reads exactly, whose latest is its as-of time (``None``: none)."""
        latest = received.dropna().max()
        as_of = None if pd.isna(latest) else latest.to_pydatetime().replace(tzinfo=UTC).isoformat()
        return cls(dataset, as_of, view_fingerprint(as_of, dataset))


def view_fingerprint(as_of: str | None, view: Dataset) -> str:
    """SHA-256 of a reader's view of the panel: its as-of time, regions and incidents (not
    their ``source``: who sent a cell is not what the view says)."""
    digest = hashlib.sha256(str(as_of).encode())
    for frame in (view.regions, view.incidents.drop(columns="source", errors="ignore")):
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _between(earlier: pd.Timestamp, later: pd.Timestamp, frequency: str) -> int:
    """Whole periods from ``earlier`` to ``later`` (both period starts)."""
    if frequency == "weekly":
        return int((later - earlier).days // 7)
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months if frequency == "monthly" else months // 12


def freshness(dataset: Dataset, today: pd.Timestamp) -> Freshness:
    """Each country's newest observed period against the planned periods and ``today``."""
    frequency = dataset.frequency
    inc = dataset.incidents
    seen = inc.loc[dataset.observed().notna(), ["region_id", "period"]]
    country_of = dataset.regions.set_index("region_id")["country"]
    newest = seen.groupby(seen["region_id"].map(country_of))["period"].max()
    first = pd.Timestamp(dataset.periods[-1]) + period_offset(frequency)
    warnings = []
    for country in sorted(country_of.unique()):
        if country not in newest.index:
            warnings.append(f"{country} has no data: its regions are forecast from neighbours only")
            continue
        gap = _between(pd.Timestamp(newest[country]), first, frequency)
        if gap > STALE_AFTER_PERIODS:
            warnings.append(
                f"{country}'s data stop at {newest[country]:%Y-%m-%d}, {gap} {frequency} periods "
                f"before the first planned period {first:%Y-%m-%d}: its forecasts rest on old data"
            )
    current = period_start(pd.Timestamp(today), frequency)
    behind = _between(first, current, frequency)
    if behind > STALE_AFTER_PERIODS:
        warnings.append(
            f"the planned periods start {first:%Y-%m-%d}, {behind} {frequency} periods before "
            f"the current one ({current:%Y-%m-%d}): the whole panel is old; submit recent data"
        )
    return Freshness(
        {str(c): f"{p:%Y-%m-%d}" for c, p in newest.items()}, f"{first:%Y-%m-%d}", warnings
    )
