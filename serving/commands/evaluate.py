"""``crossplan evaluate``: closed-loop evaluation of planning policies on simulated worlds."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.commands._missing import missing

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="closed-loop evaluation of policies on simulated worlds")
    p.add_argument("--json", type=Path, help="write results as JSON to this path")
    p.set_defaults(run=missing("Closed-loop evaluation"))
