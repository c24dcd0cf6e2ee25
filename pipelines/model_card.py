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


_KINDS = {
    "lightgbm": "LightGBM, Poisson objective, effort-aware where the panel records effort",
    "lightgbm_naive": "LightGBM, Poisson objective, on observed counts (no effort correction)",
    "poisson_glm": "a Poisson GLM on the same features, less those of recent change (the "
    "lags before the last, trend, growth), which a linear model would extrapolate",
    "seasonal_naive": "the value one seasonal cycle before (last value without seasons)",
    "moving_average": "the mean of the last few periods",
    "last_value": "the last observed value",
    "blend": "a weighted mean of the candidates, weights per horizon fitted on their "
    "backtest forecasts, with intervals calibrated on its own held-out forecasts",
}


def _scores(scores: dict[str, dict[str, Any]], chosen: str) -> list[str]:
    if not scores:
        return []
    lines = [
        "| candidate | poisson_deviance | vs chosen (90% interval) | count-aware coverage80 | "
        "coverage80 | below_q10 | above_q90 | interval_score80 | eligible |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in sorted(scores.items(), key=lambda kv: kv[1]["poisson_deviance"]):
        label = f"**{name}** (chosen)" if name == chosen else name
        vs = s.get("vs_chosen", {})
        lo, hi = vs.get("interval90", (float("nan"), float("nan")))
        lines.append(
            f"| {label} | {s['poisson_deviance']:.4f} | "
            f"{vs.get('difference', float('nan')):+.4f} ({lo:+.4f} .. {hi:+.4f}) | "
            f"{s.get('pit_coverage80', s['coverage80']):.3f} | {s['coverage80']:.3f} | {s.get('below_q10', float('nan')):.3f} | "
            f"{s.get('above_q90', float('nan')):.3f} | "
            f"{s.get('interval_score80', float('nan')):.3f} | {'yes' if s['eligible'] else 'no'} |"
        )
    return lines


def _window(selection: dict[str, Any]) -> list[str]:
    window = selection.get("coverage_window")
    if not window:
        return []
    return [
        "| eligible when | coverage_window.lo | coverage_window.hi |",
        "|---|---|---|",
        f"| count-aware 80% coverage against observed counts | {window['lo']} | {window['hi']} |",
        "",
    ]


def _rates(detection: dict[str, Any], kind: str, fmt: str) -> list[str]:
    bounds = detection.get("intervals90", {}).get(kind, {})
    lines = []
    for k, v in detection.get(kind, {}).items():
        line = f"{kind}[{k}] = {v:{fmt}}"
        if k in bounds:
            line += f"  (90%: {bounds[k][0]:{fmt}} .. {bounds[k][1]:{fmt}})"
        lines.append(line)
    return lines


def _correction(detection: dict[str, Any]) -> list[str]:
    correction = detection.get("correction")
    if not correction:
        return []
    return [f"**Effort correction**: {correction['reason']}.", ""]


def _feedback(detection: dict[str, Any]) -> list[str]:
    correction = detection.get("correction") or {}
    kept = correction.get("kept_between_cells", {})
    return [
        f"follows_counts[{c}] = {r2:.2f}  (kept between cells: {kept.get(c, 1.0):.2f})"
        for c, r2 in correction.get("follows_counts", {}).items()
    ]


def _weights(detection: dict[str, Any]) -> list[str]:
    weights = detection.get("blend_weights")
    if not weights:
        return []
    lines = [
        "",
        "Blend weights per horizon (those that minimised the backtest's deviance, pulled "
        "toward equal shares by how few origins they rest on):",
        "",
    ]
    lines += [f"- {name}: {', '.join(f'{w:.2f}' for w in ws)}" for name, ws in weights.items()]
    return lines


def model_card(info: dict[str, Any], metrics: dict[str, Any], detection: dict[str, Any]) -> str:
    """Markdown: what the model forecasts, from what data, how well, and its limits.

    Parameters
    ----------
    info
        ``trained_at``, ``training_window`` (start, end), ``fingerprint``, ``frequency``,
        ``horizon``, ``target``, ``regions``, ``categories``, ``backtest_origins``, ``params``,
        and ``selection`` (:meth:`pipelines.selection.Selection.to_dict`: the reason, every
        candidate's scores and the ``coverage_window`` that made them eligible).
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
    candidate = info.get("candidate", "lightgbm")
    selection = info.get("selection") or {}
    lines = [
        "# crossplan-risk model card",
        "",
        f"- **Forecasts**: {target}, per region, category and {info['frequency']} period, "
        f"horizons 1-{info['horizon']}, with 80% intervals (q10, q90) and the median.",
        f"- **Model**: `{candidate}` — {_KINDS.get(candidate, candidate)}",
        "- **What it learns**: the learned models (LightGBM, Poisson GLM) learn the *ratio* of "
        "the coming activity to each cell's own recent level (mean of its last few periods), "
        "from scale-free features (recent values over that level, its log, growth, share of "
        "zeros; the GLM leaves out the lags before the last, trend and growth) beside the raw "
        "ones; a forecast is the level times that ratio, so one model "
        "serves cells of a few incidents and of thousands, and follows a cell beyond the "
        "levels seen in training. One direct model covers every horizon. Intervals are "
        "negative binomial, calibrated on a held-out window at the end of the training data "
        "(a blend's on the blend of its members' held-out forecasts) so that their count-aware "
        "coverage (the share of randomized PITs between the levels, 0.80 for a right forecast "
        "however sparse the counts) is 80%; plain coverage of small counts is higher.",
        f"- **Trained**: {info['trained_at']} on {start} .. {end} "
        f"({info['regions']} regions, categories: {', '.join(info['categories'])}).",
        f"- **Input fingerprint**: `{info['fingerprint']}`",
        f"- **Backtest**: {info['backtest_origins']} rolling origins, every model on the same "
        "folds; the choice below rests on them.",
        "",
        "## How it was chosen",
        "",
        *(
            [
                f"The verdict rests on {selection['test']['origins']} forecast origins "
                f"({selection['test'].get('replicates', '?')} bootstrap replicates in blocks "
                f"of {selection['test'].get('block', '?')} origins); fewer origins resolve "
                "fewer differences.",
                "",
            ]
            if selection.get("test", {}).get("origins")
            else []
        ),
        selection.get("reason", ""),
        "",
        *(
            [f"**Compromise**: {selection['compromise']}.", ""]
            if selection.get("compromise")
            else []
        ),
        *_window(selection),
        *_scores(selection.get("scores", {}), candidate),
        "",
        "## Detection model",
        "",
        "Kappa per category (chance that one unit-shift of effort finds an incident is "
        "1 - exp(-kappa)) and reporting rate per country (share that comes to light without "
        "patrols), with 90% bootstrap intervals. Wide intervals mean the split of reported "
        "and detected counts hardly identifies them (effort low everywhere). The correction "
        "then steps back: the common level of the log correction and each cell's difference "
        "from it are each shrunk toward none by their uncertainty (standard errors of the "
        "rates); with a rate on a bound of the search the level is not applied. Where a "
        "country's patrols follow its past counts (follows_counts: R² of the log exposure on "
        "the counts of the two periods before), past counts are corrected between its cells "
        "only by sqrt(1 - R²) of the difference (kept_between_cells).",
        "",
        *_correction(detection),
        "```",
        *_rates(detection, "kappa", ".4f"),
        *_rates(detection, "reporting_rate", ".3f"),
        *_feedback(detection),
        "```",
        *_weights(detection),
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
