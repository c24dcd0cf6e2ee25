"""Risk alerts after a submission: counts above the forecast, and forecasts that jump.

After each submission the service compares, region by region and category by category:

* ``observed_above_q90`` — a newly observed count above the q90 of the forecast the last
  panel gave for that period (more happened than the model thought likely);
* ``forecast_jump`` — the new panel's forecast mean above the previous forecast's q90 for
  the same period (the risk jumped).

A jump is judged on the first period both forecasts cover, and only when the new forecast
expects at least :data:`MIN_JUMP` incidents: where a forecast's q90 is 0, any positive mean
would otherwise "jump", and partners would learn to ignore the alerts. Each alert keeps the
forecast row it exceeded.

Alerts are raised per reader (:class:`serving.sharing.Audience`): on the reader's view of the
panel, for its region-level regions, and never on a count it may not read, so an alert and its
figures are a function of what the reader may read (an alert on a hidden small count would say
how it compares with a threshold the reader knows). Each is stored (append-only) with its
audience (:mod:`pipelines.database.alerts`), listed at ``GET /alerts`` to the keys of that
audience, and posted to their webhooks (:mod:`serving.webhook_posts`). Raising them is owed from
the submission's commit on, and done by whichever replica takes the debt
(:mod:`serving.alert_jobs`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from crossplan.optimize.periods import period_offset
from crossplan.pipelines.database import AlertRecord, Database, iso, key_agencies, utcnow
from crossplan.serving.sharing import OPERATOR, Audience, SharingPolicy
from crossplan.serving.snapshot import Snapshot

__all__ = ["MIN_JUMP", "audiences", "detect_alerts", "submitted_cells"]

# A forecast jump is worth an alert only when the new forecast expects this many incidents.
MIN_JUMP = 1.0

_KEY = ["region_id", "category", "period"]
_FORECAST = ["activity_mean", "activity_q10", "activity_q50", "activity_q90"]


def audiences(db: Database) -> list[Audience]:
    """The operator and every agency that holds a key: whom alerts are raised for."""
    agencies = {Audience(country, agency) for country, agency in key_agencies(db)}
    return [OPERATOR, *sorted(agencies, key=str)]


def submitted_cells(snapshot: Snapshot, submission_id: int) -> pd.DataFrame:
    """``region_id, category, period, observed`` of the cells of ``snapshot``'s panel whose
    current version ``submission_id`` stored (what :func:`detect_alerts` takes as
    ``observed``); cells with nothing observed are left out."""
    mine = (snapshot.panel.provenance["submission_id"] == submission_id).to_numpy()
    cells = snapshot.dataset.incidents[mine]
    return cells[_KEY].assign(observed=snapshot.dataset.observed()[mine].astype("float64")).dropna()


def _table(snapshot: Snapshot, policy: SharingPolicy, until: pd.Timestamp) -> pd.DataFrame:
    """The forecast of ``policy``'s view up to the period ``until`` (as far as the model
    reaches), its region-level regions only."""
    model = snapshot.model
    if model is None:
        return pd.DataFrame(columns=[*_KEY, *_FORECAST])
    step = period_offset(snapshot.dataset.frequency)
    last = pd.Timestamp(snapshot.dataset.periods[-1])
    horizon, period = 0, last
    limit = model.card.get("horizon") or 4
    while period < until and horizon < limit:
        period, horizon = period + step, horizon + 1
    view = policy.dataset()
    if view.incidents.empty:  # a reader with no rows yet has nothing forecast for it
        return pd.DataFrame(columns=[*_KEY, *_FORECAST])
    return policy.forecast(model.table(view, max(horizon, 1), policy.audience))


def detect_alerts(
    old: Snapshot,
    new: Snapshot,
    observed: pd.DataFrame,
    submission_id: int,
    policies: tuple[SharingPolicy, SharingPolicy] | None = None,
) -> list[AlertRecord]:
    """Alerts raised by a submission, for one audience.

    Parameters
    ----------
    old, new
        The snapshots before and after the submission (same model).
    observed
        ``region_id, category, period, observed`` of the cells the submission added or
        corrected.
    policies
        The audience's sharing policy on ``old`` and on ``new``; ``None``: the operator's.
    """
    if old.model is None or new.model is None:
        return []
    was, now_policy = policies or (
        SharingPolicy(old.panel, OPERATOR),
        SharingPolicy(new.panel, OPERATOR),
    )
    audience = now_policy.audience.label
    country_of = new.dataset.regions.set_index("region_id")["country"]
    now = str(iso(utcnow()))
    alerts: list[AlertRecord] = []
    observed = observed[now_policy.reads_exactly(observed)]
    if not observed.empty:
        before = _table(old, was, observed["period"].max())
        seen = observed.merge(before, on=_KEY)
        for row in seen[seen["observed"] > seen["activity_q90"]].to_dict("records"):
            alerts.append(_alert(now, submission_id, "observed_above_q90", row,
                                 row["observed"], country_of, audience))  # fmt: skip
    after = _table(new, now_policy, pd.Timestamp(new.dataset.periods[-1]) + 4 * period_offset(
        new.dataset.frequency))  # fmt: skip
    if not after.empty:
        before = _table(old, was, after["period"].max())
        both = after.merge(before, on=_KEY, suffixes=("", "_before"))
        both = both[both["period"] == both["period"].min()]
        jumped = both[
            (both["activity_mean"] > both["activity_q90_before"])
            & (both["activity_mean"] >= MIN_JUMP)
        ]
        for row in jumped.to_dict("records"):
            previous = {c: row[f"{c}_before"] for c in _FORECAST} | {k: row[k] for k in _KEY}
            alerts.append(_alert(now, submission_id, "forecast_jump", previous,
                                 row["activity_mean"], country_of, audience))  # fmt: skip
    return alerts


def _alert(
    now: str,
    submission_id: int,
    kind: str,
    row: dict[str, Any],
    value: float,
    country_of: pd.Series,
    audience: str,
) -> AlertRecord:
    exceeded = {k: row[k] for k in (*_KEY, *_FORECAST)}
    exceeded["period"] = f"{pd.Timestamp(exceeded['period']):%Y-%m-%d}"
    exceeded = {k: v.item() if hasattr(v, "item") else v for k, v in exceeded.items()}
    return AlertRecord(
        None,
        now,
        submission_id,
        kind,
        str(row["region_id"]),
        str(country_of[row["region_id"]]),
        str(row["category"]),
        exceeded["period"],
        round(float(value), 6),
        round(float(row["activity_q90"]), 6),
        exceeded,
        audience,
    )
