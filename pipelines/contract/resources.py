"""The resources JSON: units, cross-border agreements, joint operations and planning policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.contract._json import load_json
from pipelines.contract.regions import Regions
from pipelines.errors import DataValidationError, Problem

__all__ = [
    "Agreement",
    "JointOperation",
    "Policy",
    "Resources",
    "Unit",
    "read_resources",
    "validate_resources",
]

Country = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code")]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Unit(_Strict):
    """A patrol unit of one agency."""

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
    home_region: str | None = Field(default=None, description="Region the unit is based in")
    max_distance_km: float | None = Field(
        default=None, gt=0, description="Reach from the home region's centroid; null: no limit"
    )
    regions: list[str] | None = Field(
        default=None,
        min_length=1,
        description="If given, the only own-country regions the unit may work",
    )

    @model_validator(mode="after")
    def _reach_needs_home(self) -> Unit:
        if self.max_distance_km is not None and self.home_region is None:
            raise ValueError("max_distance_km needs a home_region to measure from")
        return self


class Agreement(_Strict):
    """Countries that may work in each other's listed regions."""

    countries: list[Country] = Field(min_length=2, description="Countries party to the agreement")
    regions: list[str] = Field(min_length=1, description="Regions opened to every party")


class JointOperation(_Strict):
    """A candidate joint operation: launched only if every country commits enough shifts."""

    operation_id: Name = Field(description="Unique identifier, e.g. 'JO-1'")
    countries: list[Country] = Field(min_length=2, description="Participating countries")
    regions: list[str] = Field(min_length=1, description="Regions where the operation works")
    min_shifts_per_country: int = Field(
        default=1, ge=0, description="Shifts each country must commit inside the regions"
    )
    effort_multiplier: float = Field(
        default=1.0, ge=1, le=10, description="Effect of joint work on effective effort"
    )


class Policy(_Strict):
    """Planning policy."""

    budget: float | None = Field(
        default=None, ge=0, description="Total shift cost per period; null: no budget"
    )
    min_shifts_per_region: int = Field(
        default=0, ge=0, description="Equity floor: shifts every region gets per period"
    )
    max_share_per_region: float | None = Field(
        default=None, gt=0, le=1, description="Cap on a region's share of all shifts in a period"
    )
    risk_quantile: float = Field(
        default=0.5,
        ge=0.1,
        le=0.9,
        description="Forecast quantile to plan on, from 0.1 to 0.9 (forecasts carry q10, q50, q90)",
    )
    max_joint_operations_per_period: int | None = Field(
        default=None, ge=0, description="null: no limit"
    )
    time_limit_s: float | None = Field(
        default=None, gt=0, le=3600, description="Solver time limit in seconds"
    )
    mip_gap: float | None = Field(
        default=None, ge=0, lt=1, description="Relative optimality gap to stop at"
    )


class Resources(_Strict):
    """Units, agreements, joint-operation candidates and policy (data contract v1)."""

    units: list[Unit] = Field(min_length=1, description="Patrol units")
    agreements: list[Agreement] = Field(default_factory=list)
    joint_operations: list[JointOperation] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)


def read_resources(path: Path, regions: Regions | None) -> dict[str, Any]:
    """Read and validate a resources JSON file against the regions it refers to.

    With ``regions=None`` only the document itself is checked, not what it refers to.

    Returns
    -------
    dict
        The resources with defaults filled in, as plain JSON data.

    Raises
    ------
    DataValidationError
        Listing every problem with its JSON path (e.g. ``units[2].home_region``).
    """
    doc = load_json(path, "resources JSON")
    return validate_resources(doc, regions, path.name).model_dump()


def validate_resources(doc: Any, regions: Regions | None, file: str = "resources") -> Resources:
    """Validate resources given as parsed JSON; see :func:`read_resources`."""
    try:
        resources = Resources.model_validate(doc)
    except ValidationError as err:
        raise DataValidationError([_problem(file, e) for e in err.errors()]) from None
    problems = _check_references(resources, regions, file) if regions is not None else []
    if problems:
        raise DataValidationError(problems)
    return resources


def _problem(file: str, error: Any) -> Problem:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
    field = next((str(p) for p in reversed(error["loc"]) if isinstance(p, str)), None)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message, fix = (
            f"unknown field '{field}'",
            "remove it (see the resources format in the README)",
        )
    elif error["type"] == "missing":
        fix = f"add '{field}'"
    else:
        fix = f"correct {path or 'the document'}"
    return Problem(file, message, fix, path or None, field)


def _check_references(res: Resources, regions: Regions, file: str) -> list[Problem]:
    known = set(regions.ids)
    country_of = dict(zip(regions.table["region_id"], regions.table["country"], strict=True))
    countries = set(regions.countries)
    problems = _duplicates(file, "units", "unit_id", [u.unit_id for u in res.units])
    problems += _duplicates(
        file, "joint_operations", "operation_id", [j.operation_id for j in res.joint_operations]
    )

    def region_ref(where: str, rid: str, field: str = "regions") -> bool:
        if rid not in known:
            problems.append(
                Problem(
                    file,
                    f"unknown {'region' if field == 'regions' else field} '{rid}'",
                    "use a region_id of the regions file",
                    where,
                    field,
                )
            )
        return rid in known

    def country_ref(where: str, code: str) -> None:
        if code not in countries:
            problems.append(
                Problem(
                    file,
                    f"country '{code}' has no region in the regions file",
                    f"use one of {', '.join(sorted(countries))}",
                    where,
                    "country",
                )
            )

    for i, unit in enumerate(res.units):
        where = f"units[{i}]"
        country_ref(where, unit.country)
        if unit.home_region is not None and region_ref(where, unit.home_region, "home_region"):
            home_country = country_of[unit.home_region]
            if home_country != unit.country:
                problems.append(
                    Problem(
                        file,
                        f"home_region '{unit.home_region}' is in {home_country}, not in the unit's country {unit.country}",
                        "base the unit in its own country",
                        where,
                        "home_region",
                    )
                )
        for k, rid in enumerate(unit.regions or []):
            region_ref(f"{where}.regions[{k}]", rid)
    for i, agreement in enumerate(res.agreements):
        where = f"agreements[{i}]"
        for k, code in enumerate(agreement.countries):
            country_ref(f"{where}.countries[{k}]", code)
        for k, rid in enumerate(agreement.regions):
            if (
                region_ref(f"{where}.regions[{k}]", rid)
                and country_of[rid] not in agreement.countries
            ):
                problems.append(
                    Problem(
                        file,
                        f"region '{rid}' is in {country_of[rid]}, which is not party to the agreement",
                        "list only regions of the agreement's countries",
                        f"{where}.regions[{k}]",
                        "regions",
                    )
                )
    for i, op in enumerate(res.joint_operations):
        where = f"joint_operations[{i}]"
        for k, code in enumerate(op.countries):
            country_ref(f"{where}.countries[{k}]", code)
        for k, rid in enumerate(op.regions):
            region_ref(f"{where}.regions[{k}]", rid)
    return problems


def _duplicates(file: str, section: str, field: str, values: list[str]) -> list[Problem]:
    """One problem for every repeat of an identifier, pointing at its first use."""
    first: dict[str, int] = {}
    problems = []
    for i, value in enumerate(values):
        if value in first:
            problems.append(
                Problem(
                    file,
                    f"{field} '{value}' is also used by {section}[{first[value]}]",
                    f"make {field} unique",
                    f"{section}[{i}]",
                    field,
                )
            )
        first.setdefault(value, i)
    return problems
