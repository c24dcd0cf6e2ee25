"""Closed-loop evaluation: planning policies played against simulated worlds with known truth.

Each policy plans the next period, the world is stepped with that plan, the new observations
are appended to what the policy knows, and models are retrained on schedule. Because worlds
draw each period's randomness from a stream keyed by (seed, period), every policy faces the
same random draws wherever the world allows it.
"""

from crossplan.pipelines.evaluation.loop import EvaluationConfig, PolicyRun, run_policy
from crossplan.pipelines.evaluation.policies import POLICIES
from crossplan.pipelines.evaluation.summary import evaluate, summarize_runs

__all__ = ["POLICIES", "EvaluationConfig", "PolicyRun", "evaluate", "run_policy", "summarize_runs"]
