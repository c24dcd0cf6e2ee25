"""``crossplan serve``: serve forecasts and plans over HTTP."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.commands._missing import missing

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve forecasts and plans over HTTP")
    p.add_argument("--data", type=Path, help="data directory (default: the demo world)")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(run=missing("The HTTP planning service"))
