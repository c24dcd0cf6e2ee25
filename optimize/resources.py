"""The resources contract: units, cross-border agreements, joint operations and policy.

These models are the one definition of the resources JSON (data contract v1). They live in
:mod:`optimize`, their consumer, so the file reader (:mod:`pipelines.contract`), the HTTP
body (:mod:`serving.schemas`) and the optimizer all use the same types; the optimizer's
:class:`~optimize.inputs.Inputs` holds them as they are.

Field constraints are checked by pydantic on creation; :func:`reference_problems` checks
what the document refers to (regions and countries of a region table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crossplan.optimize.errors import InputError, InputProblem, pydantic_problems

__all__ = [
    "MAX_AGREEMENTS",
    "MAX_UNITS",
    "Agreement",
    "JointOperation",
    "Policy",
    "Resources",
    "Unit",
    "parse_resources",
    "reference_problems",
]

# A bound on every list of the document, far above any service's measured limit (the
# service refuses a plan larger than it can make: pipelines.plan_request.PlanLimits); the
# optimizer itself plans instances of 50,000 regions and 7,500 units block by block.
MAX_UNITS = 10_000
#: A bound on the agreements and joint operations of a document: a few per pair of countries
#: in practice; lower than the units' so that the largest document stays under the service's
#: body limit (16 MiB).
MAX_AGREEMENTS = 2_000

Country = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
RegionId = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Unit(_Strict):
    """A patrol unit of one agency of one country.

    The unit works in regions of its own country — only those in ``regions`` when listed,
    else those within ``max_distance_km`` of ``home_region`` when both are given, else all
    of them — and in regions an agreement opens to its country. The distance limit applies
    across a border too: an agreement lifts the border, not the distance.
    """

    unit_id: Name = Field(description="Unique identifier, e.g. 'GRC-BP-01'")
    agency: Name = Field(description="Agency the unit belongs to")
    country: Country = Field(description="Country the unit belongs to")
    shifts_per_period: int = Field(
        ge=0, le=100_000, description="Shifts the unit can work per period"
    )
    cost_per_shift: float = Field(
        default=1.0, ge=0, description="Cost of one shift, in budget units"
    )
    efficiency: float = Field(default=1.0, gt=0, le=10, description="Effective effort per shift")
    home_region: RegionId | None = Field(default=None, description="Region the unit is based in")
    max_distance_km: float | None = Field(
        default=None, gt=0, description="Reach from the home region's centroid; null: no limit"
    )
    regions: tuple[RegionId, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_UNITS,
        description="If given, the only own-country regions the unit may work",
    )

    @model_validator(mode="after")
    def _reach_needs_home(self) -> Unit:
        if self.max_distance_km is not None and self.home_region is None:
            raise ValueError("max_distance_km needs a home_region to measure from")
        return self


class Agreement(_Strict):
    """Countries that open ``regions`` to each other's units."""

    countries: tuple[Country, ...] = Field(
        min_length=2, max_length=50, description="Countries party to the agreement"
    )
    regions: tuple[RegionId, ...] = Field(
        min_length=1, max_length=MAX_UNITS, description="Regions opened to every party"
    )


class JointOperation(_Strict):
    """A candidate joint operation.

    It is launched in a period only if every one of ``countries`` commits at least
    ``min_shifts_per_country`` shifts inside ``regions``; effort there is then multiplied
    by ``effort_multiplier``. Overlapping launched operations add their extra effort
    (a region in two operations with multipliers 1.5 and 1.2 gets 1 + 0.5 + 0.2 = 1.7).
    """

    operation_id: Name = Field(description="Unique identifier, e.g. 'JO-1'")
    countries: tuple[Country, ...] = Field(
        min_length=2, max_length=50, description="Participating countries"
    )
    regions: tuple[RegionId, ...] = Field(
        min_length=1, max_length=MAX_UNITS, description="Regions where the operation works"
    )
    min_shifts_per_country: int = Field(
        default=1, ge=0, description="Shifts each country must commit inside the regions"
    )
    effort_multiplier: float = Field(
        default=1.0, ge=1, le=10, description="Effect of joint work on effective effort"
    )


class Policy(_Strict):
    """Planning policy: budget, equity floor, share cap, risk quantile and solver limits."""

    budget: float | None = Field(
        default=None, ge=0, description="Total shift cost per period; null: no budget"
    )
    min_shifts_per_region: int = Field(
        default=0, ge=0, description="Equity floor: shifts every region gets per period"
    )
    max_share_per_region: float | None = Field(
        default=None, gt=0, le=1, description="Cap on a region's share of all shifts in a period"
    )
    risk_quantile: float | None = Field(
        default=0.5,
        ge=0.1,
        le=0.9,
        description="Forecast quantile to plan on, from 0.1 to 0.9 (forecasts carry q10, q50, "
        "q90, and values between are interpolated); null plans on activity_mean",
    )
    max_joint_operations_per_period: int | None = Field(
        default=None, ge=0, description="Most joint operations launched per period; null: no limit"
    )
    time_limit_s: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="Time limit of a plan in seconds, building the model included",
    )
    mip_gap: float | None = Field(
        default=None, ge=0, lt=1, description="Relative optimality gap to stop at"
    )


class Resources(_Strict):
    """Units, agreements, joint-operation candidates and policy (data contract v1)."""

    units: tuple[Unit, ...] = Field(min_length=1, max_length=MAX_UNITS, description="Patrol units")
    agreements: tuple[Agreement, ...] = Field(
        default=(),
        max_length=MAX_AGREEMENTS,
        description="Cross-border agreements: countries that may work in each other's regions",
    )
    joint_operations: tuple[JointOperation, ...] = Field(
        default=(),
        max_length=MAX_AGREEMENTS,
        description="Candidate joint operations, launched only when every country commits",
    )
    policy: Policy = Field(
        default_factory=Policy,
        description="Budget, floors, caps and the forecast quantile to plan on",
    )


def parse_resources(doc: Resources | Mapping[str, Any], where: str = "") -> Resources:
    """The resources contract from its JSON document (or as it is, when already typed).

    Raises
    ------
    InputError
        Listing every field that breaks the contract, with its path under ``where``.
    """
    if isinstance(doc, Resources):
        return doc
    try:
        return Resources.model_validate(doc)
    except ValidationError as err:
        raise InputError(pydantic_problems(err.errors(), where)) from None


def reference_problems(resources: Resources, country_of: Mapping[str, str]) -> list[InputProblem]:
    """Every reference of ``resources`` that a region table does not resolve.

    Unknown regions and countries, a unit based outside its country, an agreement opening a
    region of a country not party to it, and repeated unit or operation ids.

    Parameters
    ----------
    resources
        The document.
    country_of
        ``region_id → country`` of the region table.
    """
    countries = sorted(set(country_of.values()))
    problems = _repeats("units", "unit_id", [u.unit_id for u in resources.units])
    problems += _repeats(
        "joint_operations", "operation_id", [j.operation_id for j in resources.joint_operations]
    )

    def region(where: str, rid: str, field: str = "regions") -> bool:
        if rid not in country_of:
            kind = "region" if field == "regions" else field
            problems.append(
                InputProblem(
                    where, f"unknown {kind} '{rid}'", "use a region_id of the regions file", field
                )
            )
        return rid in country_of

    def country(where: str, code: str) -> None:
        if code not in countries:
            problems.append(
                InputProblem(
                    where,
                    f"country '{code}' has no region in the regions file",
                    f"use one of {', '.join(countries)}",
                    "country",
                )
            )

    for i, unit in enumerate(resources.units):
        where = f"units[{i}]"
        country(where, unit.country)
        if unit.home_region is not None and region(where, unit.home_region, "home_region"):
            home = country_of[unit.home_region]
            if home != unit.country:
                problems.append(
                    InputProblem(
                        where,
                        f"home_region '{unit.home_region}' is in {home}, not in the unit's "
                        f"country {unit.country}",
                        "base the unit in its own country",
                        "home_region",
                    )
                )
        for k, rid in enumerate(unit.regions or ()):
            region(f"{where}.regions[{k}]", rid)
    for i, agreement in enumerate(resources.agreements):
        where = f"agreements[{i}]"
        for k, code in enumerate(agreement.countries):
            country(f"{where}.countries[{k}]", code)
        for k, rid in enumerate(agreement.regions):
            if region(f"{where}.regions[{k}]", rid) and country_of[rid] not in agreement.countries:
                problems.append(
                    InputProblem(
                        f"{where}.regions[{k}]",
                        f"region '{rid}' is in {country_of[rid]}, which is not party to the "
                        "agreement",
                        "list only regions of the agreement's countries",
                        "regions",
                    )
                )
    for i, op in enumerate(resources.joint_operations):
        where = f"joint_operations[{i}]"
        for k, code in enumerate(op.countries):
            country(f"{where}.countries[{k}]", code)
        for k, rid in enumerate(op.regions):
            region(f"{where}.regions[{k}]", rid)
    return problems


def _repeats(section: str, field: str, values: list[str]) -> list[InputProblem]:
    """One problem for every repeat of an identifier, pointing at its first use."""
    first: dict[str, int] = {}
    problems = []
    for i, value in enumerate(values):
        if value in first:
            problems.append(
                InputProblem(
                    f"{section}[{i}]",
                    f"{field} '{value}' is also used by {section}[{first[value]}]",
                    f"make {field} unique",
                    field,
                )
            )
        first.setdefault(value, i)
    return problems
