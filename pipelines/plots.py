"""Figures logged with each training and backtest run: backtest, calibration (at 80% and
per level), feature importance."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crossplan.models.intervals import pit_share_above, pit_share_below
from crossplan.pipelines.conventions import COVERAGE_WINDOW, CoverageWindow

__all__ = [
    "plot_backtest",
    "plot_calibration",
    "plot_calibration_levels",
    "plot_feature_importance",
]


def plot_backtest(predictions: pd.DataFrame, path: Path) -> Path:
    """Observed total per target period against each model's one-step forecast."""
    one = predictions[predictions["horizon"] == 1]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    first = one["model"].iloc[0]
    actual = one[one["model"] == first].groupby("period")["actual"].sum(min_count=1)
    ax.plot(actual.index, actual.to_numpy(), "k.-", label="observed")
    for name, g in one.groupby("model", sort=False):
        series = g.groupby("period")["prediction"].sum()
        ax.plot(series.index, series.to_numpy(), label=str(name), lw=1.5 if name == first else 1)
    ax.set_title("Backtest, horizon 1: observed incidents, all regions, against forecasts")
    ax.set_ylabel("incidents per period")
    ax.legend(fontsize=8, ncols=2)
    fig.autofmt_xdate()
    return _save(fig, path)


def plot_calibration(
    predictions: pd.DataFrame, path: Path, window: CoverageWindow = COVERAGE_WINDOW
) -> Path:
    """Count-aware 80% coverage per model and horizon against the accepted ``window``.

    The expected share of randomized PITs in [0.1, 0.9] (``pipelines.metrics.pit_coverage``);
    plain coverage where a forecast has no PIT bounds.
    """
    cover = (predictions["actual"] >= predictions["q10"]) & (
        predictions["actual"] <= predictions["q90"]
    )
    if "pit_lo" in predictions:
        tie = 1.0 - pit_share_below(predictions["pit_lo"], predictions["pit_hi"], 0.1)
        tie -= pit_share_above(predictions["pit_lo"], predictions["pit_hi"], 0.9)
        cover = pd.Series(np.where(predictions["pit_lo"].notna(), tie, cover), predictions.index)
    table = (
        predictions.assign(covered=cover)
        .dropna(subset=["actual"])
        .groupby(["model", "horizon"])["covered"]
        .mean()
        .unstack("horizon")
    )
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(len(table.columns), 1)
    x = np.arange(len(table.index))
    for i, h in enumerate(table.columns):
        ax.bar(x + i * width, table[h].to_numpy(), width, label=f"h={h}")
    ax.axhspan(window.lo, window.hi, color="green", alpha=0.1, label="accepted")
    ax.axhline(0.8, color="green", lw=1)
    ax.set_xticks(x + 0.4 - width / 2, [str(i) for i in table.index], rotation=20, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("count-aware share of observed counts inside the 80% interval")
    ax.set_title("Interval calibration on the backtest")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_calibration_levels(
    table: pd.DataFrame,
    path: Path,
    window: CoverageWindow = COVERAGE_WINDOW,
    chosen: str | None = None,
) -> Path:
    """Count-aware coverage against the nominal level, one panel per horizon, a line per model.

    ``table`` is :func:`pipelines.metrics.calibration_by_level`. A calibrated model follows
    the diagonal; below it, its intervals are too narrow. The hollow marks are the plain
    coverage of the 80% interval (above the diagonal for sparse counts even when right), the
    green bar the accepted ``window`` of the count-aware 80% coverage.
    """
    horizons = sorted(table["horizon"].unique()) or [1]
    fig, axes = plt.subplots(
        1, len(horizons), figsize=(3.6 * len(horizons) + 1, 4), sharey=True, squeeze=False
    )
    for ax, h in zip(axes[0], horizons, strict=True):
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="calibrated")
        ax.plot([0.8, 0.8], [window.lo, window.hi], color="green", lw=6, alpha=0.3,
                label=f"accepted at 80% {window}")  # fmt: skip
        for i, (name, g) in enumerate(table[table["horizon"] == h].groupby("model", sort=False)):
            color = f"C{i % 10}"
            bold = 2.5 if name == chosen else 1.2
            ax.plot(g["level"], g["pit_coverage"], "o-", ms=3, lw=bold, color=color, label=name)
            plain = g.dropna(subset=["coverage"])
            ax.plot(plain["level"], plain["coverage"], "o", mfc="none", color=color)
        ax.set_title(f"horizon {h}")
        ax.set_xlabel("nominal level of the central interval")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("count-aware coverage (hollow: plain, 80%)")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    fig.suptitle("Interval calibration per level on the backtest")
    return _save(fig, path)


def plot_feature_importance(names: list[str], gain: np.ndarray, path: Path, top: int = 20) -> Path:
    """The ``top`` features by total gain."""
    order = np.argsort(gain)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(order) + 1.2))
    ax.barh([names[i] for i in order], gain[order] / max(gain.sum(), 1e-12))
    ax.set_xlabel("share of total gain")
    ax.set_title("Feature importance (LightGBM gain)")
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
