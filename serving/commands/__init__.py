"""Sub-commands of the ``crossplan`` console script, one module each.

Each module exposes ``register(subparsers)``, which adds its parser and sets ``run`` (a
callable taking the parsed namespace and returning the exit status) as a default.
"""

from __future__ import annotations

from serving.commands import (
    backtest,
    evaluate,
    keys,
    plan,
    promote,
    serve,
    simulate,
    train,
    validate,
)

__all__ = ["COMMANDS"]

COMMANDS = (simulate, validate, train, backtest, promote, plan, evaluate, serve, keys)
