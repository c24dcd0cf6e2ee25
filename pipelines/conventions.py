"""Names the MLflow conventions fix (DESIGN.md), importable without importing MLflow.

The service's worker and ``bentoml serve``'s main process both import the service module
before anything is served; a name must not cost them MLflow's and scikit-learn's import
(three seconds of a restart).
"""

from __future__ import annotations

__all__ = ["MODEL_NAME"]

# The registered model every champion is a version of.
MODEL_NAME = "crossplan-risk"
