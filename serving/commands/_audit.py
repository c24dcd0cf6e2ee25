"""Writing a command's event to the audit trail of the shared database."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from crossplan.pipelines.database import Database, DatabaseUnavailableError, record_event

__all__ = ["audit"]


def audit(action: str, **detail: Any) -> None:
    """Record ``action`` by this user; a database that is down is reported, not fatal.

    The command's own work (e.g. a promotion in MLflow) is done by then, so failing it now
    would only hide that it happened.
    """
    try:
        record_event(Database.connect(), f"cli:{getpass.getuser()}", action, **detail)
    except DatabaseUnavailableError as err:
        print(f"warning: not in the audit trail: {err}", file=sys.stderr)
