"""Sub-commands of the ``crossplan`` console script, one module each.

Each module exposes ``register(subparsers)`` (or, for a command that shares its module,
the function :data:`_REGISTERS` names), which adds its parser (with the one-line help
of :data:`COMMANDS`) and sets ``run`` (a callable taking the parsed namespace and returning
the exit status) as a default. A module is imported only when its command runs, so that
``crossplan --help`` and the light commands start without loading the heavy libraries
(MLflow, BentoML, LightGBM) that others need.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["COMMANDS", "HOME_COMMANDS", "registrar"]

COMMANDS = {
    "simulate": "simulate a cross-border world with known truth",
    "validate": "check data files against the contract, or a submission against the service's checks",
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
    "submissions": "submissions: list them, a receipt, the rows stored; revert one",
    "operations": "joint operations: propose, pledge, decline, withdraw, cancel, seed, list",
    "audit": "print the audit trail of the shared database",
}

# Commands that may keep state under $CROSSPLAN_HOME (the SQLite database, the MLflow store):
# they say which home they use, and take --init to start a new one (import starts one anyway).
HOME_COMMANDS = frozenset(
    {"import", "export", "train", "promote", "plan", "plans", "evaluate", "serve", "keys",
     "submissions", "operations", "audit"}
)  # fmt: skip

# A command whose module is not its name: its module and register function. (``import`` is
# a Python keyword; ``export`` shares the module of the data commands.)
_REGISTERS = {"import": ("import_", "register"), "export": ("data", "register_export")}


def registrar(name: str) -> Callable[[argparse._SubParsersAction[Any]], None]:
    """The function that adds command ``name``'s parser (importing its module only now)."""
    module, function = _REGISTERS.get(name, (name, "register"))
    found: Callable[[argparse._SubParsersAction[Any]], None] = getattr(
        importlib.import_module(f"crossplan.serving.commands.{module}"), function
    )
    return found
