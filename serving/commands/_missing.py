"""Shared helper for commands whose capability is not built yet."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pipelines.errors import CapabilityMissingError

__all__ = ["missing"]


def missing(capability: str) -> Callable[[argparse.Namespace], int]:
    """Return a ``run`` callable that reports ``capability`` as missing."""

    def run(args: argparse.Namespace) -> int:
        raise CapabilityMissingError(
            f"{capability} is not available in this version of crossplan; "
            "nothing was computed or written."
        )

    return run
