"""Planning inputs as types: units, agreements, joint operations, policy, regions, forecast.

:class:`Inputs` is validated when created and then never changes; which unit may work where
(:class:`~optimize.eligibility.Eligibility`) is computed from it once, on first use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from optimize.eligibility import Eligibility, compute_eligibility
from optimize.errors import InputError, InputProblem
from optimize.forecast import Forecast

__all__ = ["Agreement", "Inputs", "JointOperation", "Policy", "RegionTable", "Unit"]


@dataclass(frozen=True)
class Unit:
    """A patrol unit of one agency of one country.

    The unit works in regions of its own country — only those in ``regions`` when listed,
    else those within ``max_distance_km`` of ``home_region`` when both are given, else all
    of them — and in regions an agreement opens to its country. The distance limit applies
    across a border too: an agreement lifts the border, not the distance.
    """

    unit_id: str
    country: str
    shifts_per_period: int
    agency: str = ""
    cost_per_shift: float = 1.0
    efficiency: float = 1.0
    home_region: str | None = None
    max_distance_km: float | None = None
    regions: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Agreement:
    """Countries that open ``regions`` to each other's units."""

    countries: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True)
class JointOperation:
    """A candidate joint operation.

    It is launched in a period only if every one of ``countries`` commits at least
    ``min_shifts_per_country`` shifts inside ``regions``; effort there is then multiplied
    by ``effort_multiplier``. Overlapping launched operations add their extra effort
    (a region in two operations with multipliers 1.5 and 1.2 gets 1 + 0.5 + 0.2 = 1.7).
    """

    operation_id: str
    countries: tuple[str, ...]
    regions: tuple[str, ...]
    min_shifts_per_country: int
    effort_multiplier: float = 1.0


@dataclass(frozen=True)
class Policy:
    """Planning policy.

    Parameters
    ----------
    budget
        Largest total cost of the shifts of one period; ``None`` for no limit.
    min_shifts_per_region
        Floor: shifts every region gets in every period.
    max_share_per_region
        Cap on one region's share of a period's shifts; ``None`` for no cap.
    risk_quantile
        Plan on this quantile of the forecast (0.1 to 0.9); ``None`` plans on the mean.
    max_joint_operations_per_period
        Most joint operations launched in one period; ``None`` for no limit.
    time_limit_s, mip_gap
        Solver limits used when the call gives none.
    """

    budget: float | None = None
    min_shifts_per_region: int = 0
    max_share_per_region: float | None = None
    risk_quantile: float | None = 0.5
    max_joint_operations_per_period: int | None = None
    time_limit_s: float | None = None
    mip_gap: float | None = None


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


@dataclass(frozen=True, eq=False)
class Inputs:
    """Everything one planning call needs; validated on creation.

    Parameters
    ----------
    units, regions, forecast
        Who can patrol, where, and what is expected to happen there.
    agreements, joint_operations, policy
        Cross-border rules, candidate operations and the planning policy.
    recent_counts
        Recent observed counts per region, for the *proportional* baseline (current
        practice); ``None`` leaves that baseline out.

    Raises
    ------
    InputError
        Listing every problem: unknown regions, non-positive capacities, bad policy...
    """

    units: tuple[Unit, ...]
    regions: RegionTable
    forecast: Forecast
    agreements: tuple[Agreement, ...] = ()
    joint_operations: tuple[JointOperation, ...] = ()
    policy: Policy = field(default_factory=Policy)
    recent_counts: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        problems = _check_inputs(self)
        if problems:
            raise InputError(problems)

    @cached_property
    def eligibility(self) -> Eligibility:
        """Which unit may work in which region (computed once)."""
        return compute_eligibility(self.units, self.regions, self.agreements)

    @cached_property
    def activity(self) -> np.ndarray:
        """Forecast activity at the policy's risk quantile, shape (regions, categories, periods)."""
        return self.forecast.at_quantile(self.policy.risk_quantile)

    @property
    def periods(self) -> tuple[str, ...]:
        """Planned periods as ISO dates."""
        return self.forecast.period_labels

    @classmethod
    def from_resources(
        cls,
        resources: Mapping[str, Any],
        regions: pd.DataFrame,
        forecast: pd.DataFrame,
        recent_counts: Mapping[str, float] | None = None,
        *,
        horizon: int | None = None,
        forecast_source: str = "forecast",
    ) -> Inputs:
        """Inputs from a resources JSON dict (DESIGN.md), a region table and a forecast.

        Parameters
        ----------
        resources
            ``units``, ``agreements``, ``joint_operations``, ``policy`` as in DESIGN.md.
        regions
            Table with ``region_id``, ``country``, ``lon``, ``lat``.
        forecast
            Forecast table with DESIGN.md's columns.
        recent_counts
            Recent observed counts per region (proportional baseline).
        horizon
            Plan only the first ``horizon`` periods of the forecast.
        forecast_source
            Name of the forecast in error messages.
        """
        table = RegionTable.from_frame(regions)
        fc = Forecast.from_frame(
            forecast, table.region_ids, horizon=horizon, source=forecast_source
        )
        units = tuple(
            Unit(
                unit_id=str(u["unit_id"]),
                country=str(u["country"]),
                shifts_per_period=int(u["shifts_per_period"]),
                agency=str(u.get("agency") or ""),
                cost_per_shift=float(u.get("cost_per_shift", 1.0)),
                efficiency=float(u.get("efficiency", 1.0)),
                home_region=u.get("home_region"),
                max_distance_km=_opt_float(u.get("max_distance_km")),
                regions=None if u.get("regions") is None else tuple(u["regions"]),
            )
            for u in resources.get("units", [])
        )
        agreements = tuple(
            Agreement(countries=tuple(a["countries"]), regions=tuple(a["regions"]))
            for a in resources.get("agreements") or []
        )
        operations = tuple(
            JointOperation(
                operation_id=str(j["operation_id"]),
                countries=tuple(j["countries"]),
                regions=tuple(j["regions"]),
                min_shifts_per_country=int(j["min_shifts_per_country"]),
                effort_multiplier=float(j.get("effort_multiplier", 1.0)),
            )
            for j in resources.get("joint_operations") or []
        )
        p = resources.get("policy") or {}
        policy = Policy(
            budget=_opt_float(p.get("budget")),
            min_shifts_per_region=int(p.get("min_shifts_per_region") or 0),
            max_share_per_region=_opt_float(p.get("max_share_per_region")),
            risk_quantile=_opt_float(p.get("risk_quantile", 0.5)),
            max_joint_operations_per_period=(
                None
                if p.get("max_joint_operations_per_period") is None
                else int(p["max_joint_operations_per_period"])
            ),
            time_limit_s=_opt_float(p.get("time_limit_s")),
            mip_gap=_opt_float(p.get("mip_gap")),
        )
        return cls(
            units=units,
            regions=table,
            forecast=fc,
            agreements=agreements,
            joint_operations=operations,
            policy=policy,
            recent_counts=(
                None
                if recent_counts is None
                else {str(k): float(v) for k, v in recent_counts.items()}
            ),
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _check_inputs(inputs: Inputs) -> list[InputProblem]:
    known = inputs.regions.index
    problems: list[InputProblem] = []

    def region_refs(where: str, ids: Sequence[str]) -> None:
        for r in ids:
            if r not in known:
                problems.append(
                    InputProblem(where, f"unknown region {r!r}", "use a region_id of the regions")
                )

    seen: set[str] = set()
    for i, u in enumerate(inputs.units):
        where = f"units[{i}]"
        if u.unit_id in seen:
            problems.append(InputProblem(where, f"duplicate unit_id {u.unit_id!r}", "rename"))
        seen.add(u.unit_id)
        if u.shifts_per_period < 0:
            problems.append(InputProblem(where, "shifts_per_period < 0", "give 0 or more"))
        if not (u.cost_per_shift >= 0 and np.isfinite(u.cost_per_shift)):
            problems.append(InputProblem(where, "cost_per_shift < 0", "give 0 or more"))
        if not (u.efficiency > 0 and np.isfinite(u.efficiency)):
            problems.append(InputProblem(where, "efficiency must be > 0", "give e.g. 1.0"))
        if u.max_distance_km is not None and u.max_distance_km < 0:
            problems.append(InputProblem(where, "max_distance_km < 0", "give 0 or more"))
        if u.home_region is not None:
            region_refs(f"{where}.home_region", [u.home_region])
        region_refs(f"{where}.regions", u.regions or ())
    for i, a in enumerate(inputs.agreements):
        region_refs(f"agreements[{i}].regions", a.regions)
    for i, j in enumerate(inputs.joint_operations):
        where = f"joint_operations[{i}]"
        region_refs(f"{where}.regions", j.regions)
        if j.effort_multiplier < 1:
            problems.append(
                InputProblem(where, "effort_multiplier < 1", "give 1 or more (1 = no boost)")
            )
        if j.min_shifts_per_country < 0:
            problems.append(InputProblem(where, "min_shifts_per_country < 0", "give 0 or more"))
        if not j.countries or not j.regions:
            problems.append(InputProblem(where, "no countries or no regions", "list both"))
    problems.extend(_check_policy(inputs.policy))
    return problems


def _check_policy(p: Policy) -> list[InputProblem]:
    problems = []
    if p.budget is not None and p.budget < 0:
        problems.append(InputProblem("policy.budget", "must be ≥ 0", "give 0 or more or null"))
    if p.min_shifts_per_region < 0:
        problems.append(InputProblem("policy.min_shifts_per_region", "< 0", "give 0 or more"))
    if p.max_share_per_region is not None and not 0 < p.max_share_per_region <= 1:
        problems.append(
            InputProblem("policy.max_share_per_region", "must be in (0, 1]", "e.g. 0.2 or null")
        )
    if p.risk_quantile is not None and not 0.1 <= p.risk_quantile <= 0.9:
        problems.append(
            InputProblem(
                "policy.risk_quantile",
                f"{p.risk_quantile} is outside [0.1, 0.9], the quantiles a forecast carries",
                "give 0.1, 0.5, 0.9 or a value between (or null for the mean)",
            )
        )
    if p.max_joint_operations_per_period is not None and p.max_joint_operations_per_period < 0:
        problems.append(
            InputProblem("policy.max_joint_operations_per_period", "< 0", "give 0 or more")
        )
    if p.time_limit_s is not None and p.time_limit_s <= 0:
        problems.append(InputProblem("policy.time_limit_s", "must be > 0", "e.g. 60"))
    if p.mip_gap is not None and not 0 <= p.mip_gap < 1:
        problems.append(InputProblem("policy.mip_gap", "must be in [0, 1)", "e.g. 0.01"))
    return problems
