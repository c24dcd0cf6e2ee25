"""The model card says what the model learns, how it was chosen, and how sure the rates are."""

from __future__ import annotations

from crossplan.pipelines.model_card import model_card


def _score(
    deviance: float, coverage: float, eligible: bool, gap: float, interval: tuple[float, float]
) -> dict[str, object]:
    return {
        "poisson_deviance": deviance, "coverage80": coverage, "below_q10": (1 - coverage) * 0.4,
        "above_q90": (1 - coverage) * 0.6, "interval_score80": 3.0, "eligible": eligible,
        "pit_coverage80": coverage - 0.1,
        "vs_chosen": {"difference": gap, "interval90": list(interval)},
    }  # fmt: skip


def test_card_shows_the_choice_and_the_detection_intervals() -> None:
    info = {
        "trained_at": "2026-01-01T00:00:00+00:00",
        "training_window": ("2020-01-06", "2022-12-26"),
        "fingerprint": "abc",
        "frequency": "weekly",
        "horizon": 2,
        "target": "activity",
        "candidate": "blend",
        "selection": {
            "reason": "blend has the lowest poisson_deviance",
            "coverage_window": {"lo": 0.7, "hi": 0.9},
            "scores": {
                "blend": _score(1.0, 0.8, True, 0.0, (0.0, 0.0)),
                "last_value": _score(1.5, 0.78, True, 0.5, (0.2, 0.8)),
                "lightgbm": _score(0.9, 0.95, False, -0.1, (-0.3, 0.1)),
            },
        },
        "regions": 4,
        "categories": ["all"],
        "backtest_origins": 8,
        "params": {"horizon": 2},
    }
    detection = {
        "kappa": {"all": 0.1},
        "reporting_rate": {"GRC": 0.3},
        "intervals90": {"kappa": {"all": [0.05, 0.2]}, "reporting_rate": {"GRC": [0.2, 0.4]}},
        "blend_weights": {"lightgbm": [0.6, 0.7], "lightgbm_naive": [0.4, 0.3]},
        "correction": {
            "applied": 0.2,
            "reason": "20% of the effort correction is applied: ...",
            "follows_counts": {"GRC": 0.91},
            "kept_between_cells": {"GRC": 0.3},
        },
    }
    metrics = {"blend": {"observed": {"poisson_deviance": 1.0, "coverage80": 0.8}}}
    card = model_card(info, metrics, detection)
    assert "ratio" in card and "recent level" in card  # what it learns
    # the window's numbers, from the selection's own fields, not from its reason
    assert "| count-aware 80% coverage against observed counts | 0.7 | 0.9 |" in card
    # the count-aware coverage first, then the plain one
    assert "| **blend** (chosen) | 1.0000 | +0.0000 (+0.0000 .. +0.0000) | 0.700 | 0.800 |" in card
    # better but badly calibrated, and not beyond noise: each end of the interval is shown
    row = "| lightgbm | 0.9000 | -0.1000 (-0.3000 .. +0.1000) | 0.850 | 0.950 | 0.020 | 0.030 |"
    assert row in card
    assert "**Effort correction**: 20% of the effort correction is applied" in card
    assert "kappa[all] = 0.1000  (90%: 0.0500 .. 0.2000)" in card
    # how far patrols follow past counts, and how much correction between cells that leaves
    assert "follows_counts[GRC] = 0.91  (kept between cells: 0.30)" in card
    assert "- lightgbm_naive: 0.40, 0.30" in card  # how much of the correction is applied
