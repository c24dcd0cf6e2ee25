"""Sub-commands of the ``crossplan`` console script, one module each.

Each module exposes ``register(subparsers)``, which adds its parser (with the one-line help
of :data:`COMMANDS`) and sets ``run`` (a callable taking the parsed namespace and returning
the exit status) as a default. A module is imported only when its command runs, so that
``crossplan --help`` and the light commands start without loading the heavy libraries
(MLflow, BentoML, LightGBM) that others need.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["COMMANDS", "load"]

COMMANDS = {
    "simulate": "simulate a cross-border world with known truth",
    "validate": "check regions, incidents and resources files against the data contract",
    "import": "load a data directory into the shared database",
    "export": "write the shared panel as of a time as a data directory",
    "submit": "submit your agency's incident rows to a running service",
    "train": "train forecasters, backtest them and register in MLflow",
    "backtest": "rolling-origin backtest of every forecaster",
    "promote": "promote a registered model version to champion",
    "plan": "plan patrols and joint operations from a forecast",
    "plans": "stored plans: list them, a plan's per-unit taskings, what moved between two",
    "evaluate": "closed-loop evaluation of policies on simulated worlds",
    "serve": "serve forecasts and plans over HTTP",
    "keys": "manage API keys of the HTTP service",
    "submissions": "list the shared database's submissions, or revert one",
    "operations": "joint operations: propose, pledge, decline, withdraw, cancel, seed, list",
    "audit": "print the audit trail of the shared database",
}


# ``import`` is a Python keyword: its module is ``import_``.
_MODULES = {"import": "import_"}


def load(name: str) -> ModuleType:
    """The module of command ``name``."""
    return importlib.import_module(f"crossplan.serving.commands.{_MODULES.get(name, name)}")
