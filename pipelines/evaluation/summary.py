"""Running every (seed, policy) pair in parallel and summarising them per policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from joblib import Parallel, delayed

from crossplan.pipelines.evaluation.loop import EvaluationConfig, PolicyRun, run_policy
from crossplan.pipelines.evaluation.outcomes import country_gap

__all__ = ["CENTRAL", "Evaluation", "evaluate", "summarize_runs"]

CENTRAL = "crossplan"  # the central plan: one planner, every unit, the whole panel


@dataclass
class Evaluation:
    """All runs of an evaluation and their summaries.

    Attributes
    ----------
    config
        The options it ran with.
    rounds, regions, countries
        Concatenated :class:`PolicyRun` tables of every seed and policy.
    per_seed
        One row per (policy, seed): ``intercepted``, ``share_of_oracle``,
        ``share_of_central`` (of the central plan's, ``crossplan``), ``gini``,
        ``gini_gap_to_oracle``, ``blind_spot_activity``, ``max_country_gap``,
        ``forecast_deviance``, ``joint_operations`` (launched, summed over rounds).
    per_policy
        Mean and standard deviation over seeds of each ``per_seed`` column.
    """

    config: EvaluationConfig
    rounds: pd.DataFrame
    regions: pd.DataFrame
    countries: pd.DataFrame
    per_seed: pd.DataFrame
    per_policy: pd.DataFrame

    def to_json(self) -> dict[str, Any]:
        """Results keyed as the design notes say: ``{"policies": {...}, "seeds": [...]}``."""
        policies: dict[str, dict[str, Any]] = {}
        for policy, row in self.per_policy.iterrows():
            policies[str(policy)] = {
                metric: _num(row[(metric, "mean")])
                for metric in (
                    "intercepted",
                    "share_of_oracle",
                    "share_of_central",
                    "joint_operations",
                    "gini",
                    "blind_spot_activity",
                    "max_country_gap",
                    "forecast_deviance",
                )
            }
            policies[str(policy)]["spread"] = {
                metric: _num(row[(metric, "std")])
                for metric in ("intercepted", "share_of_oracle", "gini", "blind_spot_activity")
            }
        seeds = [
            {k: (_num(v) if isinstance(v, float) else v) for k, v in rec.items()}
            for rec in self.per_seed.to_dict("records")
        ]
        return {
            "policies": policies,
            "seeds": seeds,
            "config": {
                "seeds": list(self.config.seeds),
                "rounds": self.config.rounds,
                "retrain_every": self.config.retrain_every,
                "countries": self.config.countries,
                "regions": self.config.regions,
                "periods": self.config.periods,
                "solver": self.config.solver,
                "effort_aware": self.config.effort_aware,
            },
        }


def evaluate(
    config: EvaluationConfig,
    n_jobs: int = 2,
    on_done: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Run every policy on every seed's world, ``n_jobs`` processes at a time.

    ``on_done(done, total)`` is called as runs finish (for progress bars).
    """
    tasks = [(seed, policy) for seed in config.seeds for policy in config.policies]
    runs: list[PolicyRun] = []
    jobs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(run_policy)(config, seed, policy) for seed, policy in tasks
    )
    for run in jobs:
        runs.append(run)
        if on_done is not None:
            on_done(len(runs), len(tasks))
    return summarize_runs(config, runs)


def summarize_runs(config: EvaluationConfig, runs: list[PolicyRun]) -> Evaluation:
    """Per-seed and per-policy figures from finished runs."""
    rounds = pd.concat([r.rounds for r in runs], ignore_index=True).sort_values(
        ["policy", "seed", "round"], ignore_index=True
    )
    regions = pd.concat([r.regions for r in runs], ignore_index=True)
    countries = pd.concat([r.countries for r in runs], ignore_index=True)
    per_seed = (
        rounds.groupby(["policy", "seed"])
        .agg(
            intercepted=("intercepted", "sum"),
            expected_interdictions=("expected_interdictions", "sum"),
            gini=("gini", "mean"),
            blind_spot_activity=("blind_spot_activity", "sum"),
            forecast_deviance=("forecast_deviance", "mean"),
            joint_operations=("joint_operations", "sum"),
        )
        .reset_index()
    )
    per_seed["joint_operations"] = per_seed["joint_operations"].astype(float)
    per_seed["share_of_central"] = _share_of(per_seed, CENTRAL)
    gaps = countries.groupby(["policy", "seed"])[["country", "detected", "true_activity"]].apply(
        lambda g: country_gap(g)["gap"].abs().max()
    )
    per_seed["max_country_gap"] = per_seed.set_index(["policy", "seed"]).index.map(gaps)
    if "oracle" in set(per_seed["policy"]):
        per_seed["share_of_oracle"] = _share_of(per_seed, "oracle")
        oracle_gini = rounds[rounds["policy"] == "oracle"].set_index(["seed", "round"])["gini"]
        diff = (
            rounds.set_index(["seed", "round"])["gini"]
            - oracle_gini.reindex(rounds.set_index(["seed", "round"]).index).to_numpy()
        ).abs()
        per_seed["gini_gap_to_oracle"] = per_seed.set_index(["policy", "seed"]).index.map(
            diff.groupby([rounds["policy"].to_numpy(), rounds["seed"].to_numpy()]).max()
        )
    else:
        per_seed["share_of_oracle"] = float("nan")
        per_seed["gini_gap_to_oracle"] = float("nan")
    metrics = [c for c in per_seed.columns if c not in ("policy", "seed")]
    per_policy = per_seed.groupby("policy")[metrics].agg(["mean", "std"])
    order = [p for p in config.policies if p in per_policy.index]
    return Evaluation(config, rounds, regions, countries, per_seed, per_policy.loc[order])


def _share_of(per_seed: pd.DataFrame, policy: str) -> pd.Series:
    """Each row's interceptions over those of ``policy`` on the same seed (NaN without it)."""
    ref = per_seed[per_seed["policy"] == policy].set_index("seed")["intercepted"]
    return per_seed["intercepted"] / per_seed["seed"].map(ref)


def _num(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)
