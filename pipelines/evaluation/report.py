"""The evaluation report: a markdown table with the targets checked, plots, and an MLflow run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import pandas as pd

from crossplan.pipelines.evaluation.summary import CENTRAL, Evaluation

__all__ = ["log_to_mlflow", "targets", "write_report"]

_COLUMNS = (
    ("intercepted", "intercepted", "{:.0f}"),
    ("share_of_oracle", "share of oracle", "{:.3f}"),
    ("share_of_central", "share of central", "{:.3f}"),
    ("joint_operations", "joint operations launched", "{:.0f}"),
    ("gini", "effort Gini", "{:.3f}"),
    ("gini_gap_to_oracle", "max Gini gap to oracle", "{:.3f}"),
    ("blind_spot_activity", "blind-spot activity", "{:.0f}"),
    ("max_country_gap", "max country gap", "{:.3f}"),
    ("forecast_deviance", "forecast deviance vs truth", "{:.3f}"),
)


def targets(ev: Evaluation) -> list[tuple[str, str, bool | None]]:
    """The evaluation's targets: (statement, what was measured, met?)."""
    p = ev.per_policy
    have = set(p.index)

    def mean(policy: str, metric: str) -> float:
        return float(p.loc[policy, (metric, "mean")])

    out: list[tuple[str, str, bool | None]] = []
    if {"crossplan", "oracle"} <= have:
        share = mean("crossplan", "share_of_oracle")
        out.append(("crossplan intercepts ≥ 90% of oracle", f"{share:.1%}", share >= 0.9))
        gap = float(
            ev.per_seed.loc[ev.per_seed["policy"] == "crossplan", "gini_gap_to_oracle"].max()
        )
        out.append(
            (
                "crossplan's effort Gini within 0.1 of oracle's in every round",
                f"max gap {gap:.3f}",
                gap <= 0.1,
            )
        )
    if {"crossplan", "proportional"} <= have:
        gain = mean("crossplan", "intercepted") / mean("proportional", "intercepted") - 1
        out.append(
            ("crossplan intercepts ≥ 20% more than proportional", f"{gain:+.1%}", gain >= 0.2)
        )
    if {"crossplan", "naive"} <= have:
        c, n = mean("crossplan", "intercepted"), mean("naive", "intercepted")
        out.append(("crossplan intercepts more than naive", f"{c:.0f} vs {n:.0f}", c > n))
        cb, nb = mean("crossplan", "blind_spot_activity"), mean("naive", "blind_spot_activity")
        ratio = f"ratio {cb / nb:.2f}" if nb > 0 else "neither has blind spots"
        out.append(
            (
                "crossplan's blind-spot activity ≤ half of naive's",
                f"{cb:.0f} vs {nb:.0f} ({ratio})",
                cb <= 0.5 * nb,
            )
        )
    if {"federated", CENTRAL} <= have:
        share = mean("federated", "share_of_central")
        out.append(
            ("federated intercepts ≥ 95% of the central plan", f"{share:.1%}", share >= 0.95)
        )
    if {"federated", "federated_no_jo"} <= have:
        f, n = mean("federated", "intercepted"), mean("federated_no_jo", "intercepted")
        out.append(
            (
                "federated with agreed joint operations intercepts more than without",
                f"{f:.0f} vs {n:.0f}",
                f > n,
            )
        )
    return out


def write_report(ev: Evaluation, path: Path, seconds: float | None = None) -> list[Path]:
    """Write the markdown report and its PNG plots next to it; returns every file written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plots = _plots(ev, path.parent, path.stem)
    cfg = ev.config
    lines = [
        "# crossplan closed-loop evaluation",
        "",
        f"Worlds: seeds {', '.join(map(str, cfg.seeds))}; {cfg.countries} countries, about {cfg.regions} regions, "
        f"{cfg.periods} weeks of history. Each policy plans {cfg.rounds} rounds with the same resources; "
        f"models retrain every {cfg.retrain_every} rounds; solver {cfg.solver} (relative gap {cfg.mip_gap}). "
        "Policies face the same random draws wherever the world allows (common random numbers).",
        "",
        "Mean over seeds (± standard deviation). *Intercepted*: true incidents found by patrols over all rounds. "
        "*Blind-spot activity*: true activity in regions left unpatrolled for 8+ periods, summed over rounds. "
        "*Max country gap*: largest difference between a country's share of detections and its share of true activity. "
        "*Share of central*: interceptions over the central plan's (`crossplan`: one planner, every unit, the whole panel); "
        "`federated`: each country plans its own units on its own view, joint operations launched where every party pledges; "
        "`federated_no_jo`: the same without joint operations. *Joint operations launched*: operation-periods, summed over rounds.",
        "",
        "| policy | " + " | ".join(label for _, label, _ in _COLUMNS) + " |",
        "|---|" + "---:|" * len(_COLUMNS),
    ]
    for policy, row in ev.per_policy.iterrows():
        cells = []
        for metric, _, fmt in _COLUMNS:
            m, s = row[(metric, "mean")], row[(metric, "std")]
            cells.append(
                "–" if pd.isna(m) else fmt.format(m) + ("" if pd.isna(s) else f" ± {fmt.format(s)}")
            )
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    lines += _per_seed(ev)
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for statement, measured, met in targets(ev):
        lines.append(f"| {statement} | {measured} | {'yes' if met else 'no'} |")
    if seconds is not None:
        lines += ["", f"Wall time: {seconds:.0f} s."]
    lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [path, *plots]


def _per_seed(ev: Evaluation) -> list[str]:
    """Interceptions per seed and policy (and the share of the central plan's)."""
    table = ev.per_seed.pivot(index="seed", columns="policy", values="intercepted")
    share = ev.per_seed.pivot(index="seed", columns="policy", values="share_of_central")
    policies = [p for p in ev.config.policies if p in table.columns]
    lines = [
        "",
        "## Per seed",
        "",
        "True incidents intercepted (share of the central plan's, where it ran).",
        "",
        "| seed | " + " | ".join(policies) + " |",
        "|---:|" + "---:|" * len(policies),
    ]
    for seed, row in table.iterrows():
        cells = [
            f"{row[p]:.0f}"
            + ("" if pd.isna(share.loc[seed, p]) else f" ({share.loc[seed, p]:.3f})")
            for p in policies
        ]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return lines


def log_to_mlflow(ev: Evaluation, files: list[Path], results: dict[str, Any]) -> str:
    """Log the evaluation as an MLflow run of its own; returns the run id."""
    import mlflow

    from crossplan.pipelines.conventions import RUN_KIND_TAG
    from crossplan.pipelines.tracking import connect, tracked_run

    client = connect()
    cfg = ev.config
    with tracked_run(client, "closed-loop evaluation", tags={RUN_KIND_TAG: "evaluation"}) as run:
        mlflow.log_params(
            {
                "seeds": ",".join(map(str, cfg.seeds)),
                "rounds": cfg.rounds,
                "retrain_every": cfg.retrain_every,
                "policies": ",".join(cfg.policies),
                "countries": cfg.countries,
                "regions": cfg.regions,
                "periods": cfg.periods,
                "solver": cfg.solver,
                "effort_aware": cfg.effort_aware,
            }
        )
        for policy, metrics in results["policies"].items():
            mlflow.log_metrics(
                {f"{policy}.{k}": v for k, v in metrics.items() if isinstance(v, float)}
            )
        for f in files:
            mlflow.log_artifact(str(f))
        mlflow.log_dict(results, "evaluation.json")
        return str(run.info.run_id)


def _plots(ev: Evaluation, folder: Path, stem: str) -> list[Path]:
    rounds = ev.rounds
    out = []
    for metric, ylabel, name in (
        ("intercepted", "true incidents intercepted", "interceptions"),
        ("gini", "effort Gini over regions", "concentration"),
    ):
        fig, ax = plt.subplots(figsize=(7, 4))
        for policy, group in rounds.groupby("policy", sort=False):
            series = group.groupby("round")[metric].mean()
            ax.plot(series.index, series.to_numpy(), label=str(policy), marker="o", markersize=3)
        ax.set_xlabel("round")
        ax.set_ylabel(ylabel + " (mean over seeds)")
        ax.legend()
        ax.grid(alpha=0.3)
        path = folder / f"{stem}_{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        out.append(path)

    seed = ev.config.seeds[0]
    last = ev.regions[ev.regions["seed"] == seed]
    policies = list(dict.fromkeys(last["policy"]))
    fig, axes = plt.subplots(
        1, len(policies), figsize=(3.2 * len(policies), 3.4), sharey=True, squeeze=False
    )
    for ax, policy in zip(axes[0], policies, strict=True):
        sub = last[last["policy"] == policy]
        ax.scatter(sub["true_activity"], sub["effort"], s=12, alpha=0.7)
        ax.set_title(policy)
        ax.set_xlabel("true activity")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("effort (last round)")
    fig.suptitle(f"effort vs true activity by region, last round, seed {seed}")
    fig.tight_layout()
    path = folder / f"{stem}_effort_vs_activity.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    out.append(path)
    return out
