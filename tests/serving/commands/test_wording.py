"""What the commands print reads right: counts agree with their nouns, empty states say so,
and ``crossplan train``'s evidence is printed whole, with why a candidate may not be chosen."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from crossplan.serving.commands._output import (
    cell_counts,
    counted,
    not_eligible_lines,
    print_table,
)
from crossplan.serving.commands.train import candidates_table


@pytest.mark.parametrize(
    ("n", "noun", "plural", "said"),
    [
        (0, "alert", None, "no alerts"),  # the empty state
        (1, "alert", None, "1 alert"),  # one: singular
        (2, "alert", None, "2 alerts"),
        (1200, "cell", None, "1,200 cells"),  # thousands grouped
        (3, "tasking", None, "3 taskings"),
        (1, "key", None, "1 key"),
        (2, "policy", "policies", "2 policies"),  # an irregular plural
    ],
)
def test_counts_agree_with_their_nouns(n: int, noun: str, plural: str | None, said: str) -> None:
    assert counted(n, noun, plural) == said


@pytest.mark.parametrize(
    ("new", "corrected", "unchanged", "said"),
    [
        (1, 0, 0, "1 cell: 1 new"),  # no "1 cells", no "0 corrected"
        (2, 1, 0, "3 cells: 2 new, 1 corrected"),
        (0, 0, 5, "5 cells: 5 unchanged"),  # sent again
        (0, 0, 0, "no cells"),
    ],
)
def test_what_a_submission_did_to_the_cells(
    new: int, corrected: int, unchanged: int, said: str
) -> None:
    assert cell_counts(new, corrected, unchanged) == said


def _score(deviance: float, eligible: bool, why: str | None = None) -> dict[str, Any]:
    score: dict[str, Any] = {
        "poisson_deviance": deviance, "pit_coverage80": 0.712345, "coverage80": 0.8,
        "below_q10": 0.1, "above_q90": 0.09, "interval_score80": 123.456, "eligible": eligible,
        "vs_chosen": {"difference": deviance - 1.0, "interval90": [-0.012345, 0.034567]},
    }  # fmt: skip
    return score | ({"not_eligible": why} if why else {})


_OUTSIDE = "count-aware 80% coverage (pit_coverage80) 0.712 is outside [0.75, 0.85]"
SCORES = {
    "poisson_glm": _score(1.0, True),
    "lightgbm_naive": _score(0.98, False, "forecasts observed counts, not activity"),
    "lightgbm": _score(
        1.01, False, "count-aware 80% coverage (pit_coverage80) 0.712 is outside [0.75, 0.85]"
    ),
    "moving_average": {**_score(1.2, False), "eligible": False},  # a run without reasons
}


@pytest.mark.parametrize("width", [80, 120])
def test_train_prints_its_evidence_whole(width: int) -> None:
    out = Console(file=io.StringIO(), width=width, highlight=False)
    print_table(candidates_table(SCORES, "poisson_glm"), out)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in text  # nothing cut to fit
    for figure in ("poisson_glm (chosen)", "lightgbm_naive", "-0.012..+0.035", "123.456",
                   "0.712", "+0.0100"):  # fmt: skip
        assert figure in text, figure
    assert out.width == width  # the console is left as it was


def test_a_candidate_not_eligible_always_says_why() -> None:
    assert not_eligible_lines(SCORES) == [
        "lightgbm_naive is not eligible: forecasts observed counts, not activity",
        "lightgbm is not eligible: count-aware 80% coverage (pit_coverage80) 0.712 is outside "
        "[0.75, 0.85]",
        "moving_average is not eligible: reason not recorded",
    ]
