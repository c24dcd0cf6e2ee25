"""Which regions a country reads region by region: the one rule behind every country's view.

The sharing rules (docs/design.md, "Sharing rules") give a country's keys its own regions and
the regions an agreement with it covers, cell by cell; every other region only as country
totals. The service's views of the panel (:mod:`serving.sharing`) and the closed-loop
evaluation's federated policy (:mod:`pipelines.evaluation.federated`) both take their regions
from :func:`region_level`, so the two cannot drift apart.
"""

from __future__ import annotations

import pandas as pd

from crossplan.optimize.resources import Resources

__all__ = ["region_level"]


def region_level(
    regions: pd.DataFrame, resources: Resources | None, country: str
) -> frozenset[str]:
    """The regions ``country`` reads region by region: its own and those its agreements cover.

    Parameters
    ----------
    regions
        Region table with ``region_id`` and ``country``.
    resources
        The resources whose agreements open regions; ``None``: no agreement.
    country
        The reader's country.
    """
    own = set(regions.loc[regions["country"] == country, "region_id"])
    for agreement in resources.agreements if resources is not None else ():
        if country in agreement.countries:
            own |= set(agreement.regions)
    return frozenset(own)
