"""The shape of the current shared panel: what a submission is checked against.

A submission may add rows to the panel, never change what the panel is: its regions,
frequency, kind of counts (``count`` alone, or ``reported``/``detected``/``effort``),
categories and covariates. A model trained on the panel forecasts exactly those; a
submission that changed them would leave the service with a panel its model cannot forecast,
or none at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crossplan.optimize.periods import fits_frequency
from crossplan.pipelines.contract.regions import Regions
from crossplan.pipelines.database.panel import _cells_as_of, _document, _regions
from crossplan.pipelines.database.schema import Submission

__all__ = ["PanelShape", "panel_shape"]

# Covariates are stored as JSON objects written by pandas: their keys are column names.
_COVARIATE_KEY = re.compile(r'"(cov_(?:[^"\\]|\\.)*)"\s*:')


@dataclass(frozen=True)
class PanelShape:
    """The current panel's regions, frequency, kind of counts, categories and covariates.

    Attributes
    ----------
    has_effort
        Whether the panel records ``reported``, ``detected`` and ``effort`` (else ``count``).
    regions_in_use
        Regions that have cells in the panel.
    first_period
        The panel's earliest period: a submission goes no further back without an
        administrator's key (a backfill).
    last_submission
        Id of the latest submission when the shape was read.
    """

    regions: Regions
    frequency: str
    has_effort: bool
    categories: frozenset[str]
    covariates: frozenset[str]
    regions_in_use: frozenset[str]
    first_period: pd.Timestamp
    last_submission: int


def panel_shape(con: Connection) -> PanelShape | None:
    """The shape of the current panel, or ``None`` when there is no panel yet."""
    last = con.execute(sa.select(sa.func.max(Submission.id), sa.func.max(Submission.received_at)))
    last_id, last_at = last.one()
    if last_id is None:
        return None
    doc = _document(con, "regions", last_at)
    if doc is None:
        return None
    cells = _cells_as_of(con, last_at)
    if cells.empty:
        return None
    covariates = pd.Series(cells["covariates"].dropna().unique(), dtype=object)
    keys = _COVARIATE_KEY.findall("\n".join(covariates)) if len(covariates) else []
    periods = pd.Series(pd.to_datetime(cells["period"].unique()))
    return PanelShape(
        regions=_regions(doc.fingerprint, doc.content),
        frequency=frequency_of(periods),
        has_effort=bool(cells["count"].isna().all()),
        categories=frozenset(cells["category"].astype(str)),
        covariates=frozenset(keys),
        regions_in_use=frozenset(cells["region_id"].astype(str)),
        first_period=pd.Timestamp(periods.min()),
        last_submission=int(last_id),
    )


def frequency_of(periods: pd.Series) -> str:
    """The frequency of a panel's distinct periods (the smallest gap between them)."""
    periods = periods.sort_values().astype("datetime64[ns]")
    if len(periods) > 1:
        gap = periods.diff().dropna().min()
        if gap >= pd.Timedelta(days=365):
            return "yearly"
        if gap >= pd.Timedelta(days=28):
            return "monthly"
        return "weekly"
    for freq in ("yearly", "monthly"):
        if fits_frequency(periods, freq).all():
            return freq
    return "weekly"
