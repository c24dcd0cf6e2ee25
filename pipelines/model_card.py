"""The model card logged with each training run (Markdown)."""

from __future__ import annotations

from typing import Any

__all__ = ["model_card"]


def _table(metrics: dict[str, dict[str, dict[str, float]]], scope: str) -> list[str]:
    names = [n for n in metrics if scope in metrics[n]]
    if not names:
        return []
    cols = list(metrics[names[0]][scope])
    lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for n in names:
        row = metrics[n][scope]
        lines.append(f"| {n} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    return lines


def model_card(info: dict[str, Any], metrics: dict[str, Any], detection: dict[str, Any]) -> str:
    """Markdown: what the model forecasts, from what data, how well, and its limits.

    Parameters
    ----------
    info
        ``trained_at``, ``training_window`` (start, end), ``fingerprint``, ``frequency``,
        ``horizon``, ``target``, ``regions``, ``categories``, ``backtest_origins``, ``params``.
    metrics
        ``{model: {"observed": {...}, "truth": {...}}}`` from the backtest.
    detection
        The detection model summary.
    """
    start, end = info["training_window"]
    target = (
        "underlying activity (incidents that happen, detected or not), correcting observed "
        "counts for patrol effort"
        if info["target"] == "activity"
        else "observed counts (the panel records no patrol effort, so no correction is made)"
    )
    lines = [
        "# crossplan-risk model card",
        "",
        f"- **Forecasts**: {target}, per region, category and {info['frequency']} period, "
        f"horizons 1-{info['horizon']}, with 80% intervals (q10, q90) and the median.",
        "- **Model**: LightGBM, Poisson objective, one direct model for all horizons; "
        "intervals are negative binomial, calibrated on a held-out window.",
        f"- **Trained**: {info['trained_at']} on {start} .. {end} "
        f"({info['regions']} regions, categories: {', '.join(info['categories'])}).",
        f"- **Input fingerprint**: `{info['fingerprint']}`",
        f"- **Backtest**: {info['backtest_origins']} rolling origins, every model on the same folds.",
        "",
        "## Detection model",
        "",
        "Kappa per category (chance that one unit-shift of effort finds an incident is "
        "1 - exp(-kappa)) and reporting rate per country (share that comes to light without "
        "patrols):",
        "",
        "```",
        *(f"kappa[{k}] = {v:.4f}" for k, v in detection.get("kappa", {}).items()),
        *(f"reporting_rate[{k}] = {v:.3f}" for k, v in detection.get("reporting_rate", {}).items()),
        "```",
        "",
        "## Backtest against observed counts",
        "",
        *_table(metrics, "observed"),
    ]
    truth = _table(metrics, "truth")
    if truth:
        lines += ["", "## Backtest against the true activity (synthetic world)", "", *truth]
    lines += [
        "",
        "## Use and limits",
        "",
        "- Inputs are aggregate counts per area and period; the model knows nothing of people.",
        "- Forecasts of activity rely on the detection model; if patrol effort is recorded "
        "badly, corrected activity is wrong in the same places.",
        "- Regions and categories outside the training data cannot be forecast.",
        "- Load with `mlflow.pyfunc.load_model('models:/crossplan-risk@champion')` in an "
        "environment where crossplan is installed; `predict(panel, params={'horizon': H})`.",
        "",
        "## Parameters",
        "",
        "```",
        *(f"{k} = {v}" for k, v in sorted(info["params"].items())),
        "```",
    ]
    return "\n".join(lines) + "\n"
