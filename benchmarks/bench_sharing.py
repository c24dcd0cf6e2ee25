"""What the sharing rules cost: a reader's view of the panel and the forecast made on it.

Run with ``python -m benchmarks.bench_sharing``. On the default world (6 countries, 60 regions,
156 weeks) with a champion trained on it (a short training: 2 origins), it times, for the
operator and for one agency's key: building the view (:meth:`SharingPolicy.dataset`), the
forecast on it (4 weeks), and ``GET /incidents``'s table (:meth:`SharingPolicy.incidents`).
Times are medians of several runs, each on a cold cache; the ratio column compares each step
with the operator's forecast on the whole panel, measured in the same run.
"""

from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path

from benchmarks._table import median_seconds, print_table
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import Database, Submitter, import_directory, load_panel
from crossplan.pipelines.simulate import simulate_world
from crossplan.serving import sharing
from crossplan.serving.sharing import OPERATOR, Audience, SharingPolicy

REPEATS = 7
HORIZON = 4


def _cold() -> None:
    """Forget the views kept between calls, so each run builds its own."""
    with sharing._views_lock:
        sharing._views.clear()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        world = home / "world"
        simulate_world(seed=7).write(world)
        os.environ["CROSSPLAN_HOME"] = str(home)  # the training's artifacts go under it
        from crossplan.pipelines.forecasting import load_champion
        from crossplan.pipelines.train import train

        uri = f"sqlite:///{home / 'mlflow.db'}"
        train(world, horizon=HORIZON, origins=2, refit_every=2, tracking_uri=uri)
        model = load_champion(uri)
        db = Database.connect(f"sqlite:///{home / 'crossplan.db'}")
        import_directory(db, world, Submitter("bench"))
        panel = load_panel(db)
        country = str(panel.dataset.regions["country"].iloc[0])
        readers = (("operator", OPERATOR), (f"{country} agency", Audience(country, "Police")))
        base, _ = median_seconds(partial(model.predict, panel.dataset, HORIZON), REPEATS)
        rows = []
        for label, audience in readers:
            policy = SharingPolicy(panel, audience)

            def view(policy: SharingPolicy = policy) -> Dataset:
                _cold()
                return policy.dataset()

            view_s, dataset = median_seconds(view, REPEATS)
            forecast_s, _ = median_seconds(partial(model.predict, dataset, HORIZON), REPEATS)
            incidents_s, _ = median_seconds(policy.incidents, REPEATS)
            cells = len(dataset.incidents)
            rows += [
                (label, "view of the panel", view_s, view_s / base, cells),
                (label, f"forecast, {HORIZON} weeks", forecast_s, forecast_s / base, cells),
                (label, "GET /incidents table", incidents_s, incidents_s / base, cells),
            ]
        db.dispose()
    print_table(
        "crossplan sharing: a reader's view and its forecast (default world, median seconds)",
        ("reader", "step", "median s", "× operator's forecast", "cells in view"),
        rows,
    )


if __name__ == "__main__":
    main()
