"""Allocation of patrol shifts and joint operations across agencies and countries.

Takes a forecast table and the resources (docs/design.md, "Data contract v1"); imports
nothing else of crossplan.
Build and solve are separate (:func:`build_problem`, :func:`optimize.solve.solve`);
:func:`plan_allocation` does both after quick feasibility checks.

Names are loaded on first use, so that reading a contract type (``optimize.resources``)
does not load the solvers. (``solve`` is imported from :mod:`optimize.solve` itself: as a
package attribute the name is the submodule's.)
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossplan.optimize.allocate import plan_allocation
    from crossplan.optimize.build import AllocationProblem, build_problem
    from crossplan.optimize.command import Command, FixedEffort
    from crossplan.optimize.curve import DEFAULT_TOLERANCE
    from crossplan.optimize.diagnose import elastic_diagnosis, precheck
    from crossplan.optimize.errors import InputError, InputProblem, OptimizeError, SolverError
    from crossplan.optimize.forecast import FORECAST_COLUMNS, Forecast, ForecastRow
    from crossplan.optimize.inputs import Inputs
    from crossplan.optimize.plan import (
        Assignment,
        Finding,
        OperationOutcome,
        OperationPeriod,
        Plan,
        RegionOutcome,
        Status,
    )
    from crossplan.optimize.region_table import RegionTable
    from crossplan.optimize.resources import Agreement, JointOperation, Policy, Resources, Unit
    from crossplan.optimize.solver_runs import SOLVERS, Solver

_HOME = {
    "crossplan.optimize.build": ("AllocationProblem", "build_problem"),
    "crossplan.optimize.command": ("Command", "FixedEffort"),
    "crossplan.optimize.curve": ("DEFAULT_TOLERANCE",),
    "crossplan.optimize.diagnose": ("elastic_diagnosis", "precheck"),
    "crossplan.optimize.errors": ("InputError", "InputProblem", "OptimizeError", "SolverError"),
    "crossplan.optimize.forecast": ("FORECAST_COLUMNS", "Forecast", "ForecastRow"),
    "crossplan.optimize.inputs": ("Inputs",),
    "crossplan.optimize.region_table": ("RegionTable",),
    "crossplan.optimize.plan": (
        "Assignment",
        "Finding",
        "OperationOutcome",
        "OperationPeriod",
        "Plan",
        "RegionOutcome",
        "Status",
    ),
    "crossplan.optimize.allocate": ("plan_allocation",),
    "crossplan.optimize.resources": ("Agreement", "JointOperation", "Policy", "Resources", "Unit"),
    "crossplan.optimize.solver_runs": ("SOLVERS", "Solver"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}

__all__ = [
    "DEFAULT_TOLERANCE",
    "FORECAST_COLUMNS",
    "SOLVERS",
    "Agreement",
    "AllocationProblem",
    "Assignment",
    "Command",
    "Finding",
    "FixedEffort",
    "Forecast",
    "ForecastRow",
    "InputError",
    "InputProblem",
    "Inputs",
    "JointOperation",
    "OperationOutcome",
    "OperationPeriod",
    "OptimizeError",
    "Plan",
    "Policy",
    "RegionOutcome",
    "RegionTable",
    "Resources",
    "Solver",
    "SolverError",
    "Status",
    "Unit",
    "build_problem",
    "elastic_diagnosis",
    "plan_allocation",
    "precheck",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'crossplan.optimize' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


class _Package(types.ModuleType):
    """The package, keeping its public names when a submodule of the same name loads.

    Importing ``optimize.solve`` binds the package's ``solve`` to that module, which would
    hide the function :func:`solve` from ``from optimize import solve`` ever after.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _MODULE_OF and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
