"""Data contract v1: readers that validate regions, incidents, resources and truth.

Every reader collects *every* problem it finds and raises one
:class:`~pipelines.errors.DataValidationError` listing them with file, row and column.
"""

from crossplan.pipelines.contract.dataset import (
    RECENT_PERIODS,
    Dataset,
    find_incidents,
    input_fingerprint,
    load_dataset,
    load_files,
    read_truth,
    summarize,
)
from crossplan.pipelines.contract.incidents import Incidents, read_incidents
from crossplan.pipelines.contract.regions import Regions, read_regions
from crossplan.pipelines.contract.resources import read_resources, validate_resources

__all__ = [
    "RECENT_PERIODS",
    "Dataset",
    "Incidents",
    "Regions",
    "find_incidents",
    "input_fingerprint",
    "load_dataset",
    "load_files",
    "read_incidents",
    "read_regions",
    "read_resources",
    "read_truth",
    "summarize",
    "validate_resources",
]
