"""``crossplan keys``: manage API keys of the HTTP service."""

from __future__ import annotations

import argparse

from serving.commands._missing import missing

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="manage API keys of the HTTP service")
    p.add_argument("action", choices=["add"])
    p.add_argument("name")
    p.add_argument("--role", choices=["planner", "analyst", "admin"], default="planner")
    p.set_defaults(run=missing("API keys (HTTP planning service)"))
