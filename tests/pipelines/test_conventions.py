"""The coverage window: one definition, held by selection, gate, plots and the cards."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crossplan.pipelines.conventions import COVERAGE_WINDOW, CoverageWindow


@pytest.mark.parametrize(
    ("coverage", "inside"),
    [
        (COVERAGE_WINDOW.lo, True),  # both ends are included
        (COVERAGE_WINDOW.hi, True),
        (0.8, True),  # the nominal coverage
        (COVERAGE_WINDOW.lo - 1e-9, False),  # just under-covers
        (COVERAGE_WINDOW.hi + 1e-9, False),  # just over-covers
    ],
)
def test_the_window_contains_its_ends(coverage: float, inside: bool) -> None:
    assert COVERAGE_WINDOW.contains(coverage) is inside


def test_the_window_is_numbers_in_its_dict_and_its_run_parameters() -> None:
    assert COVERAGE_WINDOW.to_dict() == {"lo": 0.75, "hi": 0.85}
    assert COVERAGE_WINDOW.middle == pytest.approx(0.8)
    # MLflow keeps parameters as strings: the window comes back as the same numbers.
    params = {k: str(v) for k, v in COVERAGE_WINDOW.to_params().items()}
    assert CoverageWindow.from_params(params) == COVERAGE_WINDOW
    assert CoverageWindow.from_params({}) is None  # a run from before the window was logged


def test_the_plots_do_not_load_mlflow() -> None:
    # The figures need the window only: importing them costs no MLflow (nor the registry).
    code = (
        "import sys, crossplan.pipelines.plots; "
        "sys.exit(any(m.startswith(('mlflow', 'crossplan.pipelines.registry')) "
        "for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
