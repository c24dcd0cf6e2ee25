"""The model card says what the model learns, how it was chosen, and how sure the rates are."""

from __future__ import annotations

from pipelines.model_card import model_card


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
            "scores": {
                "blend": {"poisson_deviance": 1.0, "coverage80": 0.8, "eligible": True},
                "last_value": {"poisson_deviance": 1.5, "coverage80": 0.78, "eligible": True},
                "lightgbm": {"poisson_deviance": 0.9, "coverage80": 0.95, "eligible": False},
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
    }
    metrics = {"blend": {"observed": {"poisson_deviance": 1.0, "coverage80": 0.8}}}
    card = model_card(info, metrics, detection)
    assert "ratio" in card and "recent level" in card  # what it learns
    assert "| **blend** (chosen) | 1.0000 | 0.800 | yes |" in card
    assert "| lightgbm | 0.9000 | 0.950 | no |" in card  # better but badly calibrated
    assert "kappa[all] = 0.1000  (90%: 0.0500 .. 0.2000)" in card
    assert "- lightgbm_naive: 0.40, 0.30" in card  # how much of the correction is applied
