"""Each setting's default is one constant: the settings, the functions and the CLI read it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from crossplan.pipelines.backtest import BACKTEST_ORIGINS, HORIZON, backtest
from crossplan.pipelines.cluster import connect
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.evaluation import EvaluationConfig
from crossplan.pipelines.simulate import WorldConfig, simulate_world
from crossplan.pipelines.train import TRAIN_ORIGINS, TRAIN_REFIT_EVERY, train
from crossplan.serving import settings
from crossplan.serving.cli import build_parser
from crossplan.serving.outbox import OutboxWorker
from crossplan.serving.plan_process import plan_on_snapshot
from crossplan.serving.sharing import SharingPolicy

_VARIABLES = {
    "CROSSPLAN_SUPPRESS_BELOW": ("suppress_below", settings.SUPPRESS_BELOW),
    "CROSSPLAN_MIN_TOTAL": ("min_total", settings.MIN_TOTAL),
    "CROSSPLAN_OUTBOX_POLL": ("outbox_poll", settings.OUTBOX_POLL),
    "CROSSPLAN_OUTBOX_LEASE": ("outbox_lease", settings.OUTBOX_LEASE),
    "CROSSPLAN_OUTBOX_KEEP_DAYS": ("outbox_keep_days", settings.OUTBOX_KEEP_DAYS),
    "CROSSPLAN_PLAN_SLOTS": ("plan_slots", settings.PLAN_SLOTS),
    "CROSSPLAN_PLAN_QUEUE": ("plan_queue", settings.PLAN_QUEUE),
    "CROSSPLAN_PLAN_MEMORY_MB": ("plan_memory_mb", settings.PLAN_MEMORY_MB),
    "CROSSPLAN_PLAN_MAX_UNITS": ("plan_max_units", settings.PLAN_MAX_UNITS),
    "CROSSPLAN_PLAN_MAX_CELLS": ("plan_max_cells", settings.PLAN_MAX_CELLS),
    "CROSSPLAN_MODEL_WATCH": ("model_watch", settings.MODEL_WATCH),
    "CROSSPLAN_URL": ("service_url", settings.SERVICE_URL),
    "CROSSPLAN_DASK_DISTRIBUTED_ROWS": ("dask_distributed_rows", settings.DASK_DISTRIBUTED_ROWS),
}


def _defaults(function: object) -> dict[str, object]:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()  # type: ignore[arg-type]
        if p.default is not inspect.Parameter.empty
    }


def test_unset_variables_give_the_constants(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CROSSPLAN_HOME", str(tmp_path))
    for variable in _VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    read = settings.Settings.from_env()
    for field, default in _VARIABLES.values():
        assert getattr(read, field) == default, field


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5),  # set: the variable wins
        (" 1 ", 1),  # the least threshold, spaces ignored
    ],
)
def test_a_set_threshold_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: int
) -> None:
    monkeypatch.setenv("CROSSPLAN_HOME", str(tmp_path))
    monkeypatch.setenv("CROSSPLAN_SUPPRESS_BELOW", value)
    assert settings.Settings.from_env().suppress_below == expected


def test_a_bad_threshold_says_what_would_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CROSSPLAN_HOME", str(tmp_path))
    monkeypatch.setenv("CROSSPLAN_MIN_TOTAL", "0")
    with pytest.raises(ConfigurationError, match=f"e.g. {settings.MIN_TOTAL}"):
        settings.Settings.from_env()


@pytest.mark.parametrize(("value", "kept"), [("0", 0), ("7", 7), ("-1", None), ("a month", None)])
def test_the_outbox_keeps_ended_rows_as_many_days_as_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, kept: int | None
) -> None:
    monkeypatch.setenv("CROSSPLAN_HOME", str(tmp_path))
    monkeypatch.setenv("CROSSPLAN_OUTBOX_KEEP_DAYS", value)
    if kept is None:
        with pytest.raises(ConfigurationError, match=r"CROSSPLAN_OUTBOX_KEEP_DAYS.*≥ 0"):
            settings.Settings.from_env()
    else:
        assert settings.Settings.from_env().outbox_keep_days == kept


def test_the_functions_that_take_a_setting_default_to_its_constant() -> None:
    policy = _defaults(SharingPolicy)
    assert policy["suppress_below"] == settings.SUPPRESS_BELOW
    assert policy["min_total"] == settings.MIN_TOTAL
    outbox = _defaults(OutboxWorker)
    assert (outbox["suppress_below"], outbox["min_total"]) == (
        settings.SUPPRESS_BELOW,
        settings.MIN_TOTAL,
    )
    assert (outbox["poll"], outbox["lease"]) == (settings.OUTBOX_POLL, settings.OUTBOX_LEASE)
    assert outbox["keep_days"] == settings.OUTBOX_KEEP_DAYS
    assert _defaults(plan_on_snapshot)["memory_mb"] == settings.PLAN_MEMORY_MB
    assert _defaults(connect.__wrapped__)["distributed_rows"] == settings.DASK_DISTRIBUTED_ROWS
    limits = _defaults(plan_on_snapshot)["limits"]
    assert limits == settings.Settings(Path(), Path(), "", None, None).plan_limits


def test_the_plan_limits_are_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSPLAN_HOME", str(tmp_path))
    monkeypatch.setenv("CROSSPLAN_PLAN_MAX_UNITS", "7")
    monkeypatch.setenv("CROSSPLAN_PLAN_MAX_CELLS", "900")
    monkeypatch.setenv("CROSSPLAN_PLAN_MEMORY_MB", "512")
    limits = settings.Settings.from_env().plan_limits
    assert (limits.max_units, limits.max_cells, limits.memory_mb) == (7, 900, 512)


# The options a command requires, so that its parser gives every other option's default.
_REQUIRED = {"simulate": ["--out", "w"], "backtest": ["--data", "w"], "train": ["--database"]}


def _options(command: str) -> dict[str, object]:
    argv = [command, *_REQUIRED.get(command, [])]
    return vars(build_parser(argv).parse_args(argv))


def test_the_cli_defaults_are_the_functions_defaults() -> None:
    assert _options("serve")["port"] == settings.SERVICE_PORT
    world = _options("simulate")
    simulated = _defaults(simulate_world)
    for option in ("seed", "countries", "regions", "periods"):
        assert world[option] == simulated[option] == getattr(WorldConfig, option), option
    evaluated = _options("evaluate")
    for option in ("seeds", "rounds", "retrain_every", "countries", "regions", "periods"):
        assert evaluated[option] == getattr(EvaluationConfig, option), option
    assert EvaluationConfig.periods == WorldConfig.periods  # a world evaluated as simulated
    backtested, backtest_defaults = _options("backtest"), _defaults(backtest)
    assert backtested["origins"] == backtest_defaults["origins"] == BACKTEST_ORIGINS
    assert backtested["horizon"] == backtest_defaults["horizon"] == HORIZON
    trained, train_defaults = _options("train"), _defaults(train)
    assert trained["horizon"] == train_defaults["horizon"] == HORIZON
    assert trained["origins"] == train_defaults["origins"] == TRAIN_ORIGINS
    assert trained["refit_every"] == train_defaults["refit_every"] == TRAIN_REFIT_EVERY
