"""``crossplan plan``: allocate patrols and joint operations from a forecast."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.commands._missing import missing

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="plan patrols and joint operations from a forecast")
    p.add_argument("--data", type=Path, required=True, help="data directory")
    p.add_argument("--resources", type=Path, help="resources JSON")
    p.add_argument("--json", type=Path, help="write the plan as JSON to this path")
    p.set_defaults(run=missing("Planning (allocation optimizer)"))
