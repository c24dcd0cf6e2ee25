"""Reading the resources JSON (units, agreements, joint operations, policy) of a data directory.

The contract's types are :mod:`optimize.resources`, owned by the optimizer that consumes
them; this module reads a file, checks it against the regions it refers to and reports
every problem as a located :class:`~pipelines.errors.Problem`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossplan.optimize.errors import InputError, InputProblem
from crossplan.optimize.resources import Resources, parse_resources, reference_problems
from crossplan.pipelines.contract._json import load_json
from crossplan.pipelines.contract.regions import Regions
from crossplan.pipelines.errors import DataValidationError, Problem

__all__ = ["as_problems", "read_resources", "validate_resources"]


def read_resources(path: Path, regions: Regions | None) -> Resources:
    """Read and validate a resources JSON file against the regions it refers to.

    With ``regions=None`` only the document itself is checked, not what it refers to.

    Raises
    ------
    DataValidationError
        Listing every problem with its JSON path (e.g. ``units[2].home_region``).
    """
    doc = load_json(path, "resources JSON")
    return validate_resources(doc, regions, path.name)


def validate_resources(doc: Any, regions: Regions | None, file: str = "resources") -> Resources:
    """Validate resources given as parsed JSON (or typed); see :func:`read_resources`."""
    try:
        resources = parse_resources(doc)
    except InputError as err:
        raise DataValidationError(as_problems(err.problems, file)) from None
    if regions is not None:
        country_of = dict(zip(regions.table["region_id"], regions.table["country"], strict=True))
        problems = reference_problems(resources, country_of)
        if problems:
            raise DataValidationError(as_problems(problems, file))
    return resources


def as_problems(problems: list[InputProblem], file: str) -> list[Problem]:
    """The optimizer's located problems as data-contract problems of ``file``."""
    return [Problem(file, p.message, p.fix, p.where or None, p.field) for p in problems]
