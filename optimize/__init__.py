"""Allocation of patrol shifts and joint operations across agencies and countries.

Takes a forecast table and the resources of DESIGN.md; imports nothing else of crossplan.
Build and solve are separate (:func:`build_problem`, :func:`solve`); :func:`plan_allocation`
does both after quick feasibility checks.
"""

from optimize.build import Problem, build_problem
from optimize.curve import DEFAULT_TOLERANCE
from optimize.diagnose import elastic_diagnosis, precheck
from optimize.errors import InputError, InputProblem, OptimizeError, SolverError
from optimize.forecast import FORECAST_COLUMNS, Forecast, ForecastRow
from optimize.inputs import Inputs, RegionTable
from optimize.plan import Assignment, Finding, OperationOutcome, Plan, RegionOutcome, Status
from optimize.planner import plan_allocation
from optimize.resources import Agreement, JointOperation, Policy, Resources, Unit
from optimize.solve import solve
from optimize.solvers import SOLVERS, Solver

__all__ = [
    "DEFAULT_TOLERANCE",
    "FORECAST_COLUMNS",
    "SOLVERS",
    "Agreement",
    "Assignment",
    "Finding",
    "Forecast",
    "ForecastRow",
    "InputError",
    "InputProblem",
    "Inputs",
    "JointOperation",
    "OperationOutcome",
    "OptimizeError",
    "Plan",
    "Policy",
    "Problem",
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
    "solve",
]
