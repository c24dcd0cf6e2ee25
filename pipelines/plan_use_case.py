"""The planning use-case: a request, a dataset and a forecast in, a plan envelope out.

``crossplan plan`` and ``POST /plan`` are thin adapters over :func:`make_plan`, which owns
every decision they share: which resources apply (the request's, else the dataset's), which
forecast is planned on (the request's rows, an override table, else the model's, which the
door hands over ready: the use case calls nothing back), the one validation of both,
the time limit, the translation of the optimizer's errors into user errors, and the input
fingerprint. The same request therefore gives the same plan and the same fingerprint from
either door.

A plan assigns only the units its requester commands (``command``: an agency's units, a
country's, or — ``None`` — every unit, as the operator's central proposal that binds no one),
and counts as fixed the effort other agencies have already committed (``fixed_effort``, e.g.
their pledges to joint operations); both enter the input fingerprint when given. With the
shared database's confirmed joint operations (``operations``), a plan launches them and keeps
the pledges made to them, and a planner's plan launches no other (:mod:`pipelines.agreed`).

A service also passes :class:`PlanLimits`: the size of a plan is checked before any model is
built (one planner must not take the server's memory), the time limit (the request's or the
policy's) is capped, and a deadline bounds the whole request, the solver getting what is left
of it after the start heuristic and the build.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from pydantic import Field
from pydantic.dataclasses import dataclass

from crossplan.optimize import InputError, Inputs, Plan, SolverError, plan_allocation
from crossplan.optimize.command import Command, Confirmed, FixedEffort
from crossplan.optimize.forecast import forecast_problems
from crossplan.optimize.resources import Resources, reference_problems
from crossplan.pipelines.agreed import agreed
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.operations import ConfirmedOperation
from crossplan.pipelines.errors import DataValidationError, PlanningFailedError, Problem
from crossplan.pipelines.freshness import DataStatus, Freshness, freshness
from crossplan.pipelines.plan_request import (
    ModelForecast,
    ModelRef,
    PlanLimits,
    PlanRequest,
    canonical_forecast,
    located_problem,
    time_limit,
)

__all__ = [
    "PlanEnvelope",
    "check_request",
    "make_plan",
    "plan_fingerprint",
    "size_problems",
]


@dataclass(frozen=True, kw_only=True)
class PlanEnvelope(Plan):
    """A plan with what makes it auditable: when, from which model and which inputs."""

    plan_id: str | None = Field(
        description="Identifier under /plans/{plan_id}; null for plans the service did not store"
    )
    created_at: str = Field(description="When the plan was made (ISO 8601, UTC)")
    model: ModelRef | None = Field(description="Model whose forecast was planned on")
    input_fingerprint: str = Field(
        description="SHA-256 of the request (resources and override resolved), the model "
        "version and the panel (the key's view of it, for an agency's key)"
    )
    data: DataStatus | None = Field(
        default=None, description="The panel planned on: as-of time, fingerprint, freshness"
    )


def plan_fingerprint(request: dict[str, Any], model_version: str | None, data: str) -> str:
    """SHA-256 of what a plan depends on: the resolved request, the model version, the panel."""
    doc = {"request": request, "model_version": model_version, "data": data}
    return hashlib.sha256(
        json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def check_request(
    request: PlanRequest, dataset: Dataset, limits: PlanLimits | None = None
) -> Resources:
    """The request's resources (its own, else the dataset's, with its quantile), once every
    problem of them and of its forecast rows is found, and its size within ``limits``.

    Raises
    ------
    DataValidationError
        Every problem at once: unknown regions, no resources, bad forecast rows, too large.
    """
    rows = _row_problems(request, dataset)
    try:
        resources = _resources(request, dataset)
    except DataValidationError as err:
        raise DataValidationError([*rows, *err.problems]) from None
    if rows:
        raise DataValidationError(rows)
    if limits is not None:
        problems = size_problems(resources, len(dataset.regions), request.horizon, limits)
        if problems:
            raise DataValidationError(problems)
    return resources


def make_plan(
    request: PlanRequest,
    dataset: Dataset,
    model: ModelForecast | None,
    *,
    data_fingerprint: str,
    as_of: str | None = None,
    view: str | None = None,
    forecast: pd.DataFrame | None = None,
    forecast_source: str = "forecast",
    plan_id: str | None = None,
    limits: PlanLimits | None = None,
    resources: Resources | None = None,
    deadline: float | None = None,
    fresh: Freshness | None = None,
    command: Command | None = None,
    fixed_effort: Sequence[FixedEffort] = (),
    operations: Sequence[ConfirmedOperation] | None = None,
) -> PlanEnvelope:
    """Plan with the dataset's regions and recent counts.

    Parameters
    ----------
    request
        Horizon, resources (``None``: the dataset's), solver, quantile, time limit and
        optional forecast rows.
    dataset
        The panel planned on (a reader's view of it, for an agency's key).
    model
        The model's forecast of the dataset, made by the door (the service's served model,
        the command's champion) for at least the request's horizon; ``None`` when there is
        no model (then an override is needed).
    data_fingerprint, as_of
        Fingerprint of the panel (:func:`pipelines.contract.input_fingerprint`) and, for a
        panel of the shared database, its as-of time: the plan's ``data`` provenance.
    view
        The reader whose view of the panel ``dataset`` is (``None``: the whole panel); it
        enters the input fingerprint.
    forecast, forecast_source
        An override table (e.g. read from a file) and its name in error messages; the
        request's own ``forecast`` rows take precedence.
    plan_id
        Identifier of a plan that will be stored.
    limits
        Size and time limits (a service's); ``None``: none.
    resources
        The request's resources as :func:`check_request` gave them (it is not checked again);
        ``None``: check the request here.
    deadline
        ``time.monotonic()`` by which the plan must be made; the solver gets what is left of
        it once the model is built.
    fresh
        How fresh the panel is (default: ``dataset``'s, today); a service gives the reader's
        view's, whose as-of time and fingerprint (when it has them) stand for
        ``as_of`` and ``data_fingerprint`` in the plan's ``data`` and input fingerprint, so
        that a change the reader may not read moves neither.
    command
        Who plans, and so which units the plan may assign; ``None``: the operator, every
        unit, in a plan that binds no one.
    fixed_effort
        What other agencies have already committed (rows of periods not planned are left
        out): counted by the plan, never assigned or moved, and shown in it read-only.

    Raises
    ------
    DataValidationError
        The request does not fit the dataset (unknown regions, no resources, bad forecast),
        or is larger than ``limits`` allow.
    PlanningFailedError
        The solver gave no plan.
    """
    if resources is None:
        resources = check_request(request, dataset, limits)
    table, source, ref = _forecast(request, dataset, model, forecast, forecast_source)
    seconds = time_limit(request, resources, limits)
    confirmed: tuple[Confirmed, ...] = ()
    confirmed_only = False
    shadowed: tuple[str, ...] = ()
    if operations is not None:
        agreement = agreed(operations, resources, command or Command())
        resources, confirmed = agreement.resources, agreement.confirmed
        shadowed = agreement.warnings
        fixed_effort = (*fixed_effort, *agreement.fixed_effort)
        confirmed_only = agreement.confirmed_only
    try:
        inputs = Inputs.from_resources(
            resources,
            dataset.regions,
            table,
            dataset.recent_counts().to_dict(),
            horizon=request.horizon,
            forecast_source=source,
            command=command,
            fixed_effort=tuple(fixed_effort),
            confirmed=confirmed,
            confirmed_only=confirmed_only,
        )
        plan = plan_allocation(inputs, request.solver, time_limit=seconds, deadline=deadline)
    except InputError as err:
        raise DataValidationError([located_problem(p, source) for p in err.problems]) from None
    except SolverError as err:
        raise PlanningFailedError(
            f"{err} — fix: raise the time limit or try the other solver"
        ) from None
    # Names beside ids, for whoever reads the JSON; the fingerprint below is of the inputs.
    plan = plan.with_names(
        dataset.region_names,
        {j.operation_id: j.regions for j in resources.joint_operations},
    )
    resolved = {
        "horizon": request.horizon,
        "resources": resources.model_dump(mode="json"),
        "solver": request.solver,
        "time_limit_s": seconds,
        "forecast": None if ref is not None else canonical_forecast(table),
    }
    if view is not None:
        resolved["view"] = view
    # Only when given, so that the operator's plans keep their fingerprints.
    if command is not None and command.binding:
        resolved["command"] = command.model_dump(mode="json")
    if plan.fixed_effort:
        resolved["fixed_effort"] = [row.model_dump(mode="json") for row in plan.fixed_effort]
    if plan.confirmed:
        resolved["confirmed"] = [row.model_dump(mode="json") for row in plan.confirmed]
    if fresh is None:
        fresh = freshness(dataset, pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)))
    if fresh.fingerprint is not None:
        data_fingerprint, as_of = fresh.fingerprint, fresh.as_of
    version = None if ref is None else ref.version
    return PlanEnvelope(
        **{
            **{name: getattr(plan, name) for name in Plan.__dataclass_fields__},
            "warnings": (*shadowed, *plan.warnings, *fresh.warnings),
        },
        plan_id=plan_id,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        model=ref,
        input_fingerprint=plan_fingerprint(resolved, version, data_fingerprint),
        data=DataStatus(as_of=as_of, fingerprint=data_fingerprint, **fresh.to_dict()),
    )


def size_problems(
    resources: Resources, n_regions: int, horizon: int, limits: PlanLimits
) -> list[Problem]:
    """What makes a plan larger than ``limits`` allow, each with how to make it smaller."""
    problems = []
    units, operations = len(resources.units), len(resources.joint_operations)
    if units > limits.max_units:
        problems.append(
            Problem(
                "request",
                f"{units} units; a plan takes at most {limits.max_units}",
                f"plan with at most {limits.max_units} units, e.g. one plan per country",
                "resources.units",
            )
        )
    if operations > limits.max_joint_operations:
        problems.append(
            Problem(
                "request",
                f"{operations} joint operations; a plan takes at most "
                f"{limits.max_joint_operations}",
                f"send at most {limits.max_joint_operations} candidate joint operations",
                "resources.joint_operations",
            )
        )
    cells = units * n_regions * horizon
    if cells > limits.max_cells:
        fit = min(limits.max_units, max(1, limits.max_cells // max(1, n_regions * horizon)))
        periods = limits.max_cells // max(1, units * n_regions)
        shorter = f", or a 'horizon' of at most {periods}" if periods >= 1 else ""
        problems.append(
            Problem(
                "request",
                f"{units} units × {n_regions} regions × {horizon} periods = {cells:,} "
                f"unit-region-periods; a plan takes at most {limits.max_cells:,}",
                f"plan with at most {fit} units for this horizon{shorter}",
                "resources.units",
            )
        )
    return problems


def _row_problems(request: PlanRequest, dataset: Dataset) -> list[Problem]:
    """Every problem of the request's forecast rows, reported with the resources' own."""
    if request.forecast is None:
        return []
    regions = list(dataset.regions["region_id"])
    return [located_problem(p, "forecast") for p in forecast_problems(request.forecast, regions)]


def _resources(request: PlanRequest, dataset: Dataset) -> Resources:
    """The request's resources, else the data directory's, with the request's quantile."""
    resources = _given_resources(request, dataset)
    if request.risk_quantile is None:
        return resources
    policy = resources.policy.model_copy(update={"risk_quantile": request.risk_quantile})
    return resources.model_copy(update={"policy": policy})


def _given_resources(request: PlanRequest, dataset: Dataset) -> Resources:
    if request.resources is None:
        if dataset.resources is None:
            raise DataValidationError(
                [
                    Problem(
                        "request",
                        "no resources given and the data directory has no resources.json",
                        "send 'resources' in the body, or put resources.json in the data directory",
                        "resources",
                    )
                ]
            )
        return dataset.resources
    regions = dataset.regions
    country_of = dict(zip(regions["region_id"], regions["country"], strict=True))
    problems = reference_problems(request.resources, country_of)
    if problems:
        raise DataValidationError([located_problem(p, "resources") for p in problems])
    return request.resources


def _forecast(
    request: PlanRequest,
    dataset: Dataset,
    model: ModelForecast | None,
    override: pd.DataFrame | None,
    source: str,
) -> tuple[pd.DataFrame, str, ModelRef | None]:
    """The table to plan on, its name in messages, and the model that made it (if any)."""
    if request.forecast is not None:
        return request.forecast, "forecast", None
    if override is not None:
        return override, source, None
    if model is None:
        raise DataValidationError(
            [Problem("request", "there is no model to forecast with", "send 'forecast' rows")]
        )
    return model.table, "model forecast", model.ref
