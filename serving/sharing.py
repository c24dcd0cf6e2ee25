"""What a key may read: the sharing rules of ``docs/design.md`` (Sharing rules), in one place.

Every answer derived from counts goes through one :class:`SharingPolicy`, built for the
reader (:class:`Audience`) on the current panel:

* **Region-level detail** only for the reader's own country's regions and for the regions an
  agreement with its country covers (``agreements`` of the current resources).
* **Small counts** (``1 .. suppress_below - 1``) that another agency sent are hidden, column by
  column: ``reported`` or ``detected`` where it is small, and ``count`` whenever it is small or
  one of its parts is hidden (the sum would give the part back). Zeros and effort stay visible.
* **Other countries** only as country totals, each column only over at least ``min_total``
  regions and ``min_total`` non-zero cells, so that no total equals one region.
* **Derived figures are computed from what the reader may read.** A forecast is a fixed
  function of the counts it is made from; published for a region, it could be inverted back to
  a hidden count. So the forecasts a key reads, and the plans its planners make, are computed
  on :meth:`SharingPolicy.dataset`: the panel restricted to the reader's region-level regions,
  with each hidden small count replaced by one fixed value (:func:`stand_in`). Changing a
  count the reader cannot read changes nothing it is sent.
* What an answer says of its data (as-of time, fingerprint) is that of the reader's view:
  the latest receipt time of a cell it reads exactly, and a hash of the view. A change it
  may not read moves neither.
* A key without a country is the operator's: it reads every region, unsuppressed.
* Submissions (the list, receipts, the rows stored) are their sender's: an agency reads its
  own, of its country (:attr:`Audience.sender`); another's is not found.
* Plans: :mod:`serving.plan_sharing`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from crossplan.optimize.resources import Resources
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import PanelVersion, PlanRecord, Sender, audience_label
from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.pipelines.freshness import Freshness, View, freshness
from crossplan.pipelines.views import region_level
from crossplan.serving.auth import Principal
from crossplan.serving.plan_sharing import plan_read_by, reads_plan
from crossplan.serving.settings import MIN_TOTAL, SUPPRESS_BELOW

__all__ = [
    "INCIDENT_COLUMNS",
    "OPERATOR",
    "Audience",
    "SharingPolicy",
    "stand_in",
]

_COUNTS = ("reported", "detected", "count")
_KEY = ["region_id", "period", "category"]
INCIDENT_COLUMNS = (
    "level", "region_id", "country", "period", "category",
    "reported", "detected", "effort", "count", "suppressed", "agency",
)  # fmt: skip
# Views kept per process: (panel fingerprint, audience, thresholds) -> view.
_VIEWS_KEPT = 16
_views: OrderedDict[tuple[Any, ...], View] = OrderedDict()
_views_lock = threading.Lock()


@dataclass(frozen=True)
class Audience:
    """Who reads: a key's country and agency; both ``None`` for the operator."""

    country: str | None = None
    agency: str | None = None

    @classmethod
    def of(cls, who: Principal) -> Audience:
        if who.country is None:
            return OPERATOR
        return cls(who.country, who.agency)

    @property
    def operator(self) -> bool:
        return self.country is None

    def reads_figures(self, plan: Any) -> bool:
        """Whether this reader reads the figures of a plan (anything with ``country`` and
        ``agency`` of its requester): the requester's agency and the operator do
        (:mod:`serving.plan_sharing`)."""
        return self.operator or (self.country, self.agency) == (plan.country, plan.agency)

    @property
    def sender(self) -> Sender | None:
        """Whose submissions this reader reads (receipts, the rows stored): its own
        agency's, of its country; ``None``: every one (the operator)."""
        return None if self.country is None else (self.country, self.agency)

    @property
    def label(self) -> str:
        """``*`` for the operator, else ``COUNTRY/agency``: how alerts are stored per reader."""
        return audience_label(self.country, self.agency)


OPERATOR = Audience()


def stand_in(suppress_below: int) -> int:
    """The one value every hidden small count takes in a reader's view of the panel.

    About the middle of ``1 .. suppress_below - 1``, rounded down: small counts lean to 1.
    """
    return max(1, suppress_below // 2)


@dataclass(frozen=True)
class SharingPolicy:
    """The panel and everything derived from it, as one reader may read them.

    Parameters
    ----------
    panel
        The current panel with its provenance.
    audience
        The reader.
    suppress_below
        Counts ``1 .. suppress_below - 1`` from other agencies are hidden.
    min_total
        A country total is published only over at least this many regions and this many
        non-zero cells.
    """

    panel: PanelVersion
    audience: Audience
    suppress_below: int = SUPPRESS_BELOW
    min_total: int = MIN_TOTAL

    @cached_property
    def region_level(self) -> frozenset[str] | None:
        """Regions read region by region; ``None``: every region (the operator). Asked by
        every step of an answer, so found once per policy."""
        country, ds = self.audience.country, self.panel.dataset
        return None if country is None else region_level(ds.regions, ds.resources, country)

    # -- counts ------------------------------------------------------------------------

    def _cells(self) -> pd.DataFrame:
        """Every cell of the panel with its country, agency, receipt time and observed count."""
        ds = self.panel.dataset
        prov = self.panel.provenance[[*_KEY, "agency", "received_at"]]
        inc = ds.incidents.merge(prov, on=_KEY, how="left")
        inc["country"] = inc["region_id"].map(ds.regions.set_index("region_id")["country"])
        if ds.has_effort:
            inc["count"] = inc["reported"] + inc["detected"]
        else:
            inc["reported"] = inc["detected"] = pd.NA
            inc["effort"] = np.nan
        return inc

    def _hidden(self, cells: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per count column, the cells whose value this reader may not read."""
        n = len(cells)
        if self.audience.operator:
            return {c: np.zeros(n, dtype=bool) for c in _COUNTS}
        same = (cells["agency"] == self.audience.agency) & (
            cells["country"] == self.audience.country
        )
        foreign = ~same.fillna(False).to_numpy(dtype=bool)
        small = {}
        for column in _COUNTS:
            values = pd.to_numeric(cells[column], errors="coerce").to_numpy(dtype=float)
            small[column] = foreign & (values > 0) & (values < self.suppress_below)
        hidden = {"reported": small["reported"], "detected": small["detected"]}
        hidden["count"] = small["count"] | small["reported"] | small["detected"]
        return hidden

    def incidents(
        self,
        regions: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Rows of :data:`INCIDENT_COLUMNS`: ``region`` rows, then ``country`` totals."""
        inc = self._cells()
        if categories is not None:
            inc = inc[inc["category"].isin(categories)]
        if start is not None:
            inc = inc[inc["period"] >= start]
        if end is not None:
            inc = inc[inc["period"] <= end]
        shown = self.region_level
        inside = np.ones(len(inc), dtype=bool) if shown is None else inc["region_id"].isin(shown)
        detail = inc[inside].assign(level="region")
        if regions is not None:
            detail = detail[detail["region_id"].isin(regions)]
        detail = _masked(detail, self._hidden(detail))
        ds = self.panel.dataset
        totals = _country_totals(
            inc[~inside], ds.regions, shown or frozenset(), ds.has_effort, self.min_total
        )
        out = pd.concat([detail, totals], ignore_index=True)[list(INCIDENT_COLUMNS)]
        return out.sort_values(
            ["level", "country", "region_id", "category", "period"],
            ignore_index=True,
            na_position="first",
        )

    def observed(self, n_periods: int) -> dict[str, Any]:
        """The latest ``n_periods`` observed counts of the region-level regions (the map's
        sparkline): ``periods`` and ``rows`` of ``region_id, category, period, observed,
        suppressed`` (and ``reported, detected, effort`` with effort)."""
        ds = self.panel.dataset
        last = ds.periods[-n_periods:]
        frame = self.incidents(start=last[0] if len(last) else None)
        frame = frame[(frame["level"] == "region") & frame["period"].isin(last)]
        frame = frame.rename(columns={"count": "observed"})
        columns = ["region_id", "category", "period", "observed", "suppressed"]
        if ds.has_effort:
            columns += ["reported", "detected", "effort"]
        frame = frame[columns].sort_values(["region_id", "category", "period"])
        frame = frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d"))
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return {
            "periods": [p.strftime("%Y-%m-%d") for p in last],
            "rows": [{k: _plain(v) for k, v in row.items()} for row in rows],
        }

    # -- what forecasts and plans are made from ----------------------------------------

    def dataset(self) -> Dataset:
        """The panel as this reader may read it, for its forecasts and plans.

        The operator's is the panel itself. Anyone else's holds only its region-level
        regions' cells, with every hidden count replaced by :func:`stand_in`: a forecast
        made from it is a function of what the reader may read, and nothing else.
        """
        return self.view().dataset

    def view(self) -> View:
        """:meth:`dataset` with its as-of time (the latest receipt time of a cell the reader
        reads exactly) and fingerprint; the operator's are the panel's."""
        if self.audience.operator:
            panel = self.panel
            return View(panel.dataset, panel.as_of_iso, panel.fingerprint)
        key = (self.panel.fingerprint, self.audience, self.suppress_below)
        with _views_lock:
            if key in _views:
                _views.move_to_end(key)
                return _views[key]
        view = self._make_view()
        with _views_lock:
            _views[key] = view
            while len(_views) > _VIEWS_KEPT:
                _views.popitem(last=False)
        return view

    def _make_view(self) -> View:
        ds = self.panel.dataset
        cells = self._cells()
        keep = cells["region_id"].isin(self.region_level or ()).to_numpy()
        hidden = self._hidden(cells)
        value = stand_in(self.suppress_below)
        out = ds.incidents.copy()
        # With effort, a hidden count always has a hidden part (a small sum has small
        # parts), so replacing the parts hides the count too.
        for column in ("reported", "detected") if ds.has_effort else ("count",):
            out[column] = out[column].mask(hidden[column], value)
        # Only cells read exactly date the view: a hidden count's new version changes nothing
        # in it (the stand-in stays), so its receipt time must not show.
        exact = keep & ~(hidden["reported"] | hidden["detected"] | hidden["count"])
        view = replace(ds, incidents=out[keep].reset_index(drop=True))
        return View.of(view, cells.loc[exact, "received_at"])

    def require_rows(self) -> None:
        """400 when this reader's view holds no rows: nothing to forecast or plan from."""
        if self.dataset().incidents.empty:
            raise DataValidationError(
                [
                    Problem(
                        "request",
                        f"the regions of {self.audience.country} and of its agreements have no "
                        "rows in the shared panel yet: there is nothing to forecast from",
                        "submit your country's rows (POST /submissions), or ask the operator "
                        "whether the key names the right country",
                    )
                ]
            )

    def freshness(self) -> Freshness:
        """How fresh this reader's view is: the newest period of each country it reads region
        by region, the first period its forecasts and plans start at (its view may end before
        the panel does, when only countries it reads as totals sent a newer period), and the
        view's as-of time and fingerprint."""
        view = self.view()
        data = view.dataset
        shown = self.region_level
        if shown is not None:
            data = replace(data, regions=data.regions[data.regions["region_id"].isin(shown)])
        fresh = freshness(data, pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)))
        return replace(fresh, as_of=view.as_of, fingerprint=view.fingerprint)

    def forecast(self, table: pd.DataFrame) -> pd.DataFrame:
        """Rows of a forecast table this reader reads: its region-level regions only."""
        shown = self.region_level
        if shown is None:
            return table
        return table[table["region_id"].isin(shown)]

    # -- plans ----------------------------------------------------------------------------

    def reads_plan(self, record: PlanRecord) -> bool:
        """Whether this reader reads a stored plan: :func:`serving.plan_sharing.reads_plan`."""
        return reads_plan(self.audience.country, record, self.panel.dataset.resources)

    def plan(self, record: PlanRecord) -> dict[str, Any]:
        """A stored plan as this reader reads it (see :meth:`reads_plan` first):
        :func:`serving.plan_sharing.plan_read_by`."""
        return plan_read_by(
            record,
            country=self.audience.country,
            figures=self.audience.reads_figures(record),
            shown=self.region_level,
            dataset=self.panel.dataset,
        )

    # -- resources and alerts ------------------------------------------------------------

    def resources(self, resources: Resources) -> Resources:
        """The units of the reader's country, and the agreements and joint operations it is
        party to; the policy as it is."""
        country = self.audience.country
        if country is None:
            return resources
        return resources.model_copy(
            update={
                "units": tuple(u for u in resources.units if u.country == country),
                "agreements": tuple(a for a in resources.agreements if country in a.countries),
                "joint_operations": tuple(
                    j for j in resources.joint_operations if country in j.countries
                ),
            }
        )

    def card(self, card: dict[str, Any]) -> dict[str, Any]:
        """The model card as this reader reads it: per-country figures (reporting rates)
        only of countries with at least ``min_total`` regions, its own, and its partners'."""
        if self.audience.operator:
            return card
        regions = self.panel.dataset.regions
        size = regions.groupby("country").size()
        partners = set(regions.loc[regions["region_id"].isin(self.region_level or ()), "country"])
        return _card_of(card, lambda c: c in partners or size.get(c, 0) >= self.min_total)

    def reads_exactly(self, cells: pd.DataFrame) -> np.ndarray:
        """Which of ``cells`` (``region_id, category, period``) this reader reads as sent:
        region-level cells whose counts are not hidden from it."""
        if self.audience.operator:
            return np.ones(len(cells), dtype=bool)
        known = self._cells()
        hidden = known.loc[self._hidden(known)["count"], _KEY].assign(_hidden=True)
        found = cells[_KEY].merge(hidden, on=_KEY, how="left")["_hidden"]
        inside = cells["region_id"].isin(self.region_level or ()).to_numpy()
        return inside & ~found.fillna(False).to_numpy(dtype=bool)


def _country_totals(
    outside: pd.DataFrame,
    regions: pd.DataFrame,
    shown: frozenset[str],
    has_effort: bool,
    min_total: int,
) -> pd.DataFrame:
    """Country totals of the cells read at country level (``outside``), per period and
    category. Each column's total is withheld where the regions it covers number fewer than
    ``min_total``, or where fewer than ``min_total`` cells make it up (as its non-zero
    parts): a ``detected`` total of one region's 1 would be that region's count. ``count``
    goes with its parts, as for cells."""
    covered = regions.loc[~regions["region_id"].isin(shown)].groupby("country").size()
    nonzero = {f"nz_{c}": pd.to_numeric(outside[c]).fillna(0) > 0 for c in _COUNTS}
    sums = {c: (c, lambda v: v.sum(min_count=1)) for c in _COUNTS}
    totals = (
        outside.assign(**nonzero)
        .groupby(["country", "period", "category"], as_index=False)
        .agg(**sums, **{k: (k, "sum") for k in nonzero})
    )
    few = totals["country"].map(covered).fillna(0).to_numpy() < min_total
    withheld = {}
    for c in _COUNTS:
        parts = totals[f"nz_{c}"].to_numpy()
        withheld[c] = few | ((parts > 0) & (parts < min_total))
    withheld["count"] = withheld["count"] | withheld["reported"] | withheld["detected"]
    if not has_effort:
        withheld["reported"] = withheld["detected"] = withheld["count"]
    totals = totals.drop(columns=list(nonzero)).assign(
        level="country", region_id=None, effort=np.nan, agency=None
    )
    if not has_effort:
        totals["reported"] = totals["detected"] = pd.NA
    return _masked(totals, withheld)


def _card_of(card: dict[str, Any], shown: Callable[[str], bool]) -> dict[str, Any]:
    """``card`` with its per-country figures of ``shown`` countries only: every dict keyed by
    countries, at any depth of the detection model (rates, their intervals, the correction
    applied), and every rate named by country (``not_identified``)."""
    detection = dict(card.get("detection_model") or {})
    rates = detection.get("reporting_rate")
    if not isinstance(rates, dict):
        return card
    countries = set(rates)

    def keep(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: keep(v) for k, v in value.items() if k not in countries or shown(k)}
        if isinstance(value, list | tuple):
            named = [_named_country(v, countries) for v in value]
            return [keep(v) for v, c in zip(value, named, strict=True) if c is None or shown(c)]
        return value

    return {**card, "detection_model": keep(detection)}


def _named_country(value: Any, countries: set[str]) -> str | None:
    """The country a rate's name such as ``reporting_rate[GRC]`` names, if any."""
    if isinstance(value, str) and value.endswith("]") and "[" in value:
        inner = value[value.index("[") + 1 : -1]
        return inner if inner in countries else None
    return None


def _masked(frame: pd.DataFrame, hidden: dict[str, np.ndarray]) -> pd.DataFrame:
    """``frame`` without its hidden counts; a cell with any hidden count names no agency
    either (a hidden cell whose sender changes would say it was sent again)."""
    frame = frame.copy()
    for column in _COUNTS:
        frame[column] = frame[column].astype(object).where(~hidden[column], None)
    frame["suppressed"] = hidden["reported"] | hidden["detected"] | hidden["count"]
    frame["agency"] = frame["agency"].astype(object).where(~frame["suppressed"], None)
    return frame


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value
