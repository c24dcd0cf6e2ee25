"""``crossplan train``: fit forecasters, backtest, log and register them in MLflow."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.commands._missing import missing

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train forecasters, backtest them and register in MLflow")
    p.add_argument("--data", type=Path, required=True, help="data directory")
    p.add_argument("--json", type=Path, help="write results as JSON to this path")
    p.set_defaults(run=missing("Training and MLflow registration (forecasting models)"))
