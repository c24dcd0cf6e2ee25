"""Playing one policy against one simulated world, round by round."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossplan.optimize import SOLVERS
from crossplan.optimize.curve import exact_value
from crossplan.pipelines.evaluation.knowledge import Knowledge
from crossplan.pipelines.evaluation.outcomes import gini
from crossplan.pipelines.evaluation.policies import POLICIES, make_policy
from crossplan.pipelines.simulate import World, WorldConfig, simulate_world

__all__ = ["BLIND_SPOT_PERIODS", "EvaluationConfig", "PolicyRun", "run_policy"]

BLIND_SPOT_PERIODS = 8  # a region unpatrolled this long is a blind spot


@dataclass(frozen=True)
class EvaluationConfig:
    """Options of a closed-loop evaluation.

    Parameters
    ----------
    seeds
        One simulated world per seed.
    rounds
        Periods each policy plans, one after another.
    retrain_every
        Model policies refit every this many rounds (and predict every round).
    policies
        Names from :data:`~pipelines.evaluation.policies.POLICIES`.
    countries, regions, periods
        World options, as for ``crossplan simulate``.
    solver, mip_gap, time_limit
        Solver, relative optimality gap and time limit (seconds) of every planning call.
    effort_aware
        Whether the ``crossplan`` policy corrects for effort; ``False`` is the ablation in
        which it becomes the naive model.
    model_params
        Extra settings of the forecaster (e.g. fewer trees for quick checks).
    """

    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    rounds: int = 26
    retrain_every: int = 4
    policies: tuple[str, ...] = POLICIES
    countries: int = WorldConfig.countries
    regions: int = WorldConfig.regions
    periods: int = WorldConfig.periods
    solver: str = "cbc"
    mip_gap: float = 0.005
    time_limit: float = 30.0
    effort_aware: bool = True
    model_params: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> list[str]:
        """Problems with the options, as messages naming the option."""
        problems = []
        if not self.seeds:
            problems.append("seeds: give at least one seed")
        if self.rounds < 1:
            problems.append("rounds must be at least 1")
        if self.retrain_every < 1:
            problems.append("retrain_every must be at least 1")
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown or not self.policies:
            problems.append(
                f"policies: unknown {', '.join(unknown) or '(none given)'}; use {','.join(POLICIES)}"
            )
        if self.solver not in SOLVERS:
            problems.append(f"solver must be one of {', '.join(SOLVERS)}")
        return problems


@dataclass
class PolicyRun:
    """What happened to one world under one policy.

    Attributes
    ----------
    rounds
        One row per round: ``seed, policy, round, period, intercepted`` (true incidents
        patrols found), ``expected_interdictions`` (Σ λ·(1 − e^(−κ·effort)) on the true λ
        and κ), ``true_activity``, ``gini`` (of effort over regions), ``blind_spot_activity``
        (true activity in regions unpatrolled for 8+ periods), ``forecast_deviance``,
        ``joint_operations`` (launched in the round).
    regions
        Last round, per region: ``effort``, ``true_activity``.
    countries
        Per country over all rounds: ``detected``, ``true_activity``.
    """

    rounds: pd.DataFrame
    regions: pd.DataFrame
    countries: pd.DataFrame


def run_policy(config: EvaluationConfig, seed: int, policy_name: str) -> PolicyRun:
    """Simulate the world of ``seed`` and let ``policy_name`` plan ``config.rounds`` periods."""
    world = simulate_world(seed, config.countries, config.regions, config.periods)
    return play(world, config, seed, policy_name)


def play(world: World, config: EvaluationConfig, seed: int, policy_name: str) -> PolicyRun:
    """Let a policy plan ``config.rounds`` periods of ``world`` (which is stepped in place)."""
    policy = make_policy(
        policy_name,
        retrain_every=config.retrain_every,
        solver=config.solver,
        mip_gap=config.mip_gap,
        time_limit=config.time_limit,
        effort_aware=config.effort_aware,
        model_params=dict(config.model_params),
    )
    regions = world.regions
    ids = regions["region_id"].to_numpy()
    country = regions["country"].to_numpy()
    kappa = np.array([world.kappa[c] for c in world.categories])
    panel = world.incidents()
    streak = _unpatrolled_streak(panel, ids)
    rows: list[dict[str, Any]] = []
    detected_by_country = pd.Series(0.0, index=sorted(set(country)))
    activity_by_country = detected_by_country.copy()
    effort = np.zeros(len(ids))
    activity = np.zeros(len(ids))
    for k in range(config.rounds):
        truth = world.next_activity()
        knowledge = Knowledge(panel, regions, world.adjacency, world.resources, truth, world.kappa)
        plan = policy.plan(knowledge)
        effort = np.array([plan.get(r, 0.0) for r in ids])
        obs = world.step(dict(zip(ids, effort, strict=True)))
        panel = pd.concat([panel, obs], ignore_index=True)

        lam = truth["activity_rate"].to_numpy().reshape(len(ids), len(world.categories))
        activity = lam.sum(axis=1)
        detected = obs.groupby("region_id")["detected"].sum().reindex(ids).to_numpy(float)
        streak = np.where(effort > 0, 0, streak + 1)
        expected = float(exact_value(lam[:, :, None], kappa[None, :, None], effort[:, None]).sum())
        rows.append(
            {
                "seed": seed,
                "policy": policy_name,
                "round": k + 1,
                "period": obs["period"].iloc[0],
                "intercepted": float(detected.sum()),
                "expected_interdictions": expected,
                "true_activity": float(activity.sum()),
                "gini": gini(effort),
                "blind_spot_activity": float(activity[streak >= BLIND_SPOT_PERIODS].sum()),
                "forecast_deviance": policy.forecast_error,
                "joint_operations": policy.launched_operations,
            }
        )
        detected_by_country += pd.Series(detected).groupby(country).sum()
        activity_by_country += pd.Series(activity).groupby(country).sum()
    last = pd.DataFrame(
        {"region_id": ids, "country": country, "effort": effort, "true_activity": activity}
    )
    last.insert(0, "policy", policy_name)
    last.insert(0, "seed", seed)
    countries = (
        pd.DataFrame(
            {
                "seed": seed,
                "policy": policy_name,
                "detected": detected_by_country,
                "true_activity": activity_by_country,
            }
        )
        .rename_axis("country")
        .reset_index()
    )
    return PolicyRun(pd.DataFrame(rows), last, countries)


def _unpatrolled_streak(panel: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """Periods each region has gone without patrols up to the end of the panel."""
    effort = panel.pivot_table(
        index="period", columns="region_id", values="effort", aggfunc="first"
    )
    effort = effort.reindex(columns=ids).fillna(0.0).to_numpy()
    streak = np.zeros(len(ids))
    for row in effort:
        streak = np.where(row > 0, 0, streak + 1)
    return streak
