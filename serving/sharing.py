"""What a key may read of the shared panel: the sharing rules of DESIGN.md, in one place.

* Region-level rows for the key's own country and for the regions an agreement with its
  country covers (``agreements`` of the current resources).
* Every other country only as country totals per period and category.
* A count from 1 up to the threshold (exclusive; default 3) is suppressed in what *other*
  agencies read: in a sparse area a count of one or two can point at individuals. A cell the
  reader's own agency sent is shown as sent.
* A key without a country is the operator's: it reads every region, unsuppressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.database import PanelVersion
from serving.auth import Principal

__all__ = ["INCIDENT_COLUMNS", "SharingView", "region_level_regions"]

_COUNTS = ("reported", "detected", "count")
INCIDENT_COLUMNS = (
    "level", "region_id", "country", "period", "category",
    "reported", "detected", "effort", "count", "suppressed", "agency",
)  # fmt: skip


def region_level_regions(panel: PanelVersion, who: Principal) -> set[str]:
    """The regions ``who`` reads region by region: its country's and its agreements'."""
    regions = panel.dataset.regions
    if who.country is None:
        return set(regions["region_id"])
    own = set(regions.loc[regions["country"] == who.country, "region_id"])
    resources = panel.dataset.resources
    for agreement in resources.agreements if resources is not None else ():
        if who.country in agreement.countries:
            own |= set(agreement.regions)
    return own


@dataclass(frozen=True)
class SharingView:
    """The panel as one key may read it.

    Parameters
    ----------
    panel
        The current panel with its provenance.
    who
        The reader.
    suppress_below
        Counts ``1 .. suppress_below - 1`` from other agencies are hidden.
    """

    panel: PanelVersion
    who: Principal
    suppress_below: int = 3

    def incidents(
        self,
        regions: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Rows of :data:`INCIDENT_COLUMNS`: ``region`` rows, then ``country`` totals."""
        ds = self.panel.dataset
        inc = ds.incidents.merge(self.panel.provenance[["region_id", "period", "category",
                                                         "agency"]],
                                 on=["region_id", "period", "category"], how="left")  # fmt: skip
        inc["country"] = inc["region_id"].map(ds.regions.set_index("region_id")["country"])
        if not ds.has_effort:
            inc["reported"] = inc["detected"] = pd.NA
            inc["effort"] = np.nan
        else:
            inc["count"] = inc["reported"] + inc["detected"]
        if categories is not None:
            inc = inc[inc["category"].isin(categories)]
        if start is not None:
            inc = inc[inc["period"] >= start]
        if end is not None:
            inc = inc[inc["period"] <= end]
        visible = region_level_regions(self.panel, self.who)
        inside = inc["region_id"].isin(visible)
        detail = inc[inside].assign(level="region")
        if regions is not None:
            detail = detail[detail["region_id"].isin(regions)]
        detail = self._suppress(detail, foreign=self._foreign(detail))
        outside = inc[~inside]
        totals = (
            outside.groupby(["country", "period", "category"], as_index=False)[list(_COUNTS)]
            .sum(min_count=1)
            .assign(level="country", region_id=None, effort=np.nan, agency=None)
        )
        if not ds.has_effort:
            totals["reported"] = totals["detected"] = pd.NA
        totals = self._suppress(totals, foreign=np.ones(len(totals), dtype=bool))
        out = pd.concat([detail, totals], ignore_index=True)[list(INCIDENT_COLUMNS)]
        return out.sort_values(["level", "country", "region_id", "category", "period"],
                               ignore_index=True, na_position="first", key=None)  # fmt: skip

    def _foreign(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows another agency sent (the operator's key reads everything as sent)."""
        if self.who.country is None:
            return np.zeros(len(frame), dtype=bool)
        same = (frame["agency"] == self.who.agency) & (frame["country"] == self.who.country)
        return ~same.fillna(False).to_numpy(dtype=bool)

    def _suppress(self, frame: pd.DataFrame, foreign: np.ndarray) -> pd.DataFrame:
        frame = frame.copy()
        small = np.zeros(len(frame), dtype=bool)
        for column in _COUNTS:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            small |= (values > 0) & (values < self.suppress_below)
        hide = small & foreign
        for column in _COUNTS:
            frame[column] = frame[column].astype(object).where(~hide, None)
        frame["suppressed"] = hide
        return frame
