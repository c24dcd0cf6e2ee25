"""``crossplan backtest``: rolling-origin backtest of every forecaster."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.commands._missing import missing

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="rolling-origin backtest of every forecaster")
    p.add_argument("--data", type=Path, required=True, help="data directory")
    p.add_argument("--json", type=Path, help="write metrics as JSON to this path")
    p.set_defaults(run=missing("Backtesting (forecasting models)"))
