"""Closed-loop metrics against hand-computed values."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from crossplan.pipelines.evaluation import outcomes
from crossplan.pipelines.evaluation.outcomes import country_gap, gini


def test_docstring_examples_run() -> None:
    assert doctest.testmod(outcomes).failed == 0


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5.0, 5.0, 5.0, 5.0], 0.0),  # equal effort everywhere
        ([0.0, 0.0, 0.0, 0.0], 0.0),  # no effort at all is not concentrated
        ([0.0, 0.0, 0.0, 1.0], 0.75),  # all in one of four regions: (n - 1) / n
        ([1.0, 2.0, 3.0], 2 / 9),  # Σ|xi - xj| / (2 n² mean) = 8 / 36
    ],
)
def test_gini(values: list[float], expected: float) -> None:
    assert gini(np.array(values)) == pytest.approx(expected)


def test_gini_matches_pairwise_definition() -> None:
    x = np.random.default_rng(0).gamma(1.0, 2.0, 50)
    pairwise = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(pairwise)


def test_country_gap() -> None:
    frame = pd.DataFrame(
        {"country": ["AAA", "BBB"], "detected": [30.0, 10.0], "true_activity": [50.0, 50.0]}
    )
    gap = country_gap(frame).set_index("country")
    assert gap.loc["AAA", "gap"] == pytest.approx(0.25)
    assert gap.loc["BBB", "gap"] == pytest.approx(-0.25)
