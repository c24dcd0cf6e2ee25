"""``crossplan promote``: make a registered model version the champion."""

from __future__ import annotations

import argparse

from serving.commands._missing import missing

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("promote", help="promote a registered model version to champion")
    p.add_argument("--version", type=int, required=True, help="model version to promote")
    p.add_argument("--reason", help="why, recorded with the promotion")
    p.set_defaults(run=missing("Model promotion (MLflow registry)"))
