"""The promotion gate and manual promotion in a real (temporary) MLflow registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossplan.models import RiskForecaster, generate_panel
from crossplan.models.pyfunc import log_pyfunc
from crossplan.pipelines import registry, tracking
from crossplan.pipelines.conventions import COVERAGE_WINDOW, CoverageWindow
from crossplan.pipelines.errors import ConfigurationError

GOOD = {"poisson_deviance": 1.0, "coverage80": 0.8}


@pytest.mark.parametrize(
    ("challenger", "champion", "promote"),
    [
        (GOOD, None, True),  # first model, coverage fine
        ({"poisson_deviance": 1.0, "coverage80": 0.95}, None, False),  # over-covers
        ({"poisson_deviance": 1.0, "coverage80": 0.6}, None, False),  # under-covers
        (GOOD, {"poisson_deviance": 1.1, "coverage80": 0.8}, True),  # beats the champion
        (GOOD, {"poisson_deviance": 1.0, "coverage80": 0.8}, False),  # a tie is not a win
        ({"poisson_deviance": 0.5, "coverage80": 0.95}, GOOD, False),  # better, badly calibrated
        ({"poisson_deviance": 1.0, "coverage80": COVERAGE_WINDOW.lo}, None, True),  # lower end
        ({"poisson_deviance": 1.0, "coverage80": COVERAGE_WINDOW.hi}, None, True),  # upper end
    ],
)
def test_gate(
    challenger: dict[str, float], champion: dict[str, float] | None, promote: bool
) -> None:
    decision = registry.gate(challenger, champion, None if champion is None else "1")
    assert decision.promote is promote
    assert decision.reason


@pytest.mark.parametrize(
    ("challenger", "champion", "said", "next_step"),
    [
        # a retrain that ties: said as a tie, and the way to replace the champion anyway
        (GOOD, GOOD, "ties the champion's", "keep the champion (version 1); version 2 stays"),
        # a worse one: the same next step
        (GOOD, {"poisson_deviance": 0.9, "coverage80": 0.8}, "does not beat", "keep the"),
        # the first model, badly calibrated: how to serve it anyway
        ({"poisson_deviance": 1.0, "coverage80": 0.6}, None, "outside", "no champion yet"),
        # promoted: nothing to do
        (GOOD, {"poisson_deviance": 1.1, "coverage80": 0.8}, "beats", "is the champion"),
    ],
)
def test_a_decision_says_the_next_step(
    challenger: dict[str, float], champion: dict[str, float] | None, said: str, next_step: str
) -> None:
    decision = registry.gate(challenger, champion, None if champion is None else "1")
    assert said in decision.reason
    step = decision.next_step("2")
    assert next_step in step
    if not decision.promote:
        assert "crossplan promote --version 2 --reason TEXT" in step


def test_gate_holds_the_challenger_to_the_window_it_is_given() -> None:
    narrow = CoverageWindow(0.79, 0.81)
    decision = registry.gate({"poisson_deviance": 1.0, "coverage80": 0.78}, None, window=narrow)
    assert not decision.promote and "outside [0.79, 0.81]" in decision.reason


def test_manual_promotion_records_the_reason(crossplan_home: Path) -> None:
    client = tracking.connect()
    world = generate_panel(n_regions=4, n_periods=30, seed=0)
    model = RiskForecaster(horizon=1, n_estimators=10).fit(world.panel)
    with tracking.tracked_run(client, "register"):
        log_pyfunc(model, world.panel, registered_model_name=registry.MODEL_NAME)
    assert registry.champion_version(client) is None
    version = registry.promote(client, 1, "reviewed by the analysts")
    champion = registry.champion_version(client)
    assert champion is not None and str(champion.version) == str(version.version) == "1"
    assert version.tags["promotion.reason"] == "reviewed by the analysts"
    assert version.tags["promotion.by"] == "manual"
    run = client.get_run(str(version.run_id))
    assert run.data.tags["promotion.reason"] == "reviewed by the analysts"
    assert type(registry.load_forecaster(1)) is RiskForecaster
    with pytest.raises(ConfigurationError, match="no version 7"):
        registry.promote(client, 7, "typo")
