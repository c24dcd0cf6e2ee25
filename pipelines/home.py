"""Where crossplan keeps its local state: ``$CROSSPLAN_HOME``, by default ``./.crossplan``.

The MLflow store, the shared database (panel versions, keys, plans) and the service's model
copies live under it unless their own settings point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["crossplan_home"]


def crossplan_home() -> Path:
    """``$CROSSPLAN_HOME``, by default ``./.crossplan`` (resolved against the working directory)."""
    return Path(os.environ.get("CROSSPLAN_HOME") or ".crossplan").resolve()
