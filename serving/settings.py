"""Every environment variable crossplan reads, in one object: :class:`Settings`.

Everything lives under ``$CROSSPLAN_HOME`` (default ``./.crossplan``) unless a variable below
points elsewhere. The pipelines read the first three themselves (:mod:`pipelines.home`, which
this object calls), as they run without the service; everything else is read here only.

==========================  ==========================================================
``CROSSPLAN_HOME``          root of the local state (MLflow store, world, database)
``CROSSPLAN_DATABASE_URL``  the shared database: panel versions, plans, keys, alerts
                            (default: SQLite in ``$CROSSPLAN_HOME/crossplan.db``)
``CROSSPLAN_DATA``          data directory imported when the database holds no panel yet
                            (``$CROSSPLAN_HOME/world``)
``CROSSPLAN_FORECAST_FILE`` serve this forecast table instead of the MLflow champion
``CROSSPLAN_SUPPRESS_BELOW`` counts from 1 up to this, exclusive, are hidden from other
                            agencies (default :data:`SUPPRESS_BELOW`)
``CROSSPLAN_MIN_TOTAL``     a country total is published only over at least this many
                            regions and this many non-zero cells (default :data:`MIN_TOTAL`)
``CROSSPLAN_WEBHOOK_ALLOW`` hosts (comma-separated) a webhook may name with plain http or a
                            private address; by default webhooks are https to public hosts
``CROSSPLAN_OUTBOX_POLL``   seconds between a replica's looks for alerts owed and webhook
                            posts due (default :data:`OUTBOX_POLL`)
``CROSSPLAN_OUTBOX_LEASE``  seconds a replica holds the alerts or a webhook post it took;
                            when it dies, another takes them over after this (default
                            :data:`OUTBOX_LEASE`)
``CROSSPLAN_OUTBOX_KEEP_DAYS`` days the outbox keeps an alert job done or a webhook post
                            ended (default :data:`OUTBOX_KEEP_DAYS`; 0: forever)
``MLFLOW_TRACKING_URI``     tracking server of the champion (default: the local store)
``CROSSPLAN_METRICS``       ``admin`` (default: admins read ``/metrics`` on the service's
                            port) or a port, or HOST:PORT, to serve it on apart
``CROSSPLAN_PLAN_SLOTS``    plans made at once (default :data:`PLAN_SLOTS`)
``CROSSPLAN_PLAN_QUEUE``    plans that may wait for a slot (default :data:`PLAN_QUEUE`);
                            beyond, 429
``CROSSPLAN_PLAN_MEMORY_MB`` memory one plan may use, in MiB (default
                            :data:`PLAN_MEMORY_MB`)
``CROSSPLAN_PLAN_MAX_UNITS`` most units one plan may have (default :data:`PLAN_MAX_UNITS`);
                            beyond, 400 saying the most that fit
``CROSSPLAN_PLAN_MAX_CELLS`` most units × regions × periods one plan may have (default
                            :data:`PLAN_MAX_CELLS`); beyond, 400 saying the most units that fit
``CROSSPLAN_MODEL_WATCH``   seconds between a replica's looks for a promotion or reload
                            made elsewhere, which it then follows (default :data:`MODEL_WATCH`;
                            0: never)
``CROSSPLAN_TILE_URL``      a tile basemap's URL template for the map (default: none)
``CROSSPLAN_TILE_ATTRIBUTION`` its attribution, shown on the map
``CROSSPLAN_DASK_SCHEDULER`` the Dask scheduler ``crossplan train`` runs its fits on, when
                            ``--cluster`` is not given (default: none, this machine)
``CROSSPLAN_DASK_DISTRIBUTED_ROWS`` on a cluster, a LightGBM fit whose training matrix has
                            at least this many rows is spread over all workers with
                            ``lightgbm.dask`` (default :data:`DASK_DISTRIBUTED_ROWS`)
``CROSSPLAN_URL``           the service ``crossplan submit`` sends to
                            (default :data:`SERVICE_URL`)
``CROSSPLAN_API_KEY``       the key ``crossplan submit``, ``validate --file`` and
                            ``submissions --url`` send (or check) with, when ``--key`` is
                            not given
==========================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from crossplan.pipelines.cluster import DISTRIBUTED_ROWS
from crossplan.pipelines.errors import ConfigurationError
from crossplan.pipelines.home import crossplan_home, database_url
from crossplan.pipelines.plan_limits import SERVICE_LIMITS, PlanLimits

__all__ = [
    "DASK_DISTRIBUTED_ROWS",
    "MIN_TOTAL",
    "MODEL_WATCH",
    "OUTBOX_KEEP_DAYS",
    "OUTBOX_LEASE",
    "OUTBOX_POLL",
    "PLAN_MAX_CELLS",
    "PLAN_MAX_UNITS",
    "PLAN_MEMORY_MB",
    "PLAN_QUEUE",
    "PLAN_SLOTS",
    "SERVICE_PORT",
    "SERVICE_URL",
    "SUPPRESS_BELOW",
    "Settings",
]

# The defaults, each written once: the settings, the CLI's options, the functions that take
# them and the tables of docs/design.md and README.md (``python tests/test_docs.py`` writes
# each ``:data:`NAME``` of the table above as its value) all read these.
#: Counts from 1 up to this, exclusive, are hidden from other agencies.
SUPPRESS_BELOW = 3
#: Regions, and non-zero cells, a published country total needs at least.
MIN_TOTAL = 3
#: Seconds between a replica's looks for owed alerts and due webhook posts.
OUTBOX_POLL = 2
#: Seconds a replica holds what it took of them.
OUTBOX_LEASE = 60
#: Days the outbox keeps a done alert job or an ended webhook post (their alerts and audit
#: events stay); a month leaves time to look into a failure.
OUTBOX_KEEP_DAYS = 30
#: Plans made at once, plans that may wait, and the memory of one (MiB); the memory, and the
#: largest plan (units, units × regions × periods), are measured on the service's machine
#: (docs/design.md, "Service limits"; ``python -m benchmarks.bench_optimize --scale``).
PLAN_SLOTS = 2
PLAN_QUEUE = 8
PLAN_MEMORY_MB = SERVICE_LIMITS.memory_mb
PLAN_MAX_UNITS = SERVICE_LIMITS.max_units
PLAN_MAX_CELLS = SERVICE_LIMITS.max_cells
#: Seconds between looks for a champion promoted or reloaded elsewhere.
MODEL_WATCH = 5
#: Rows of a LightGBM training matrix from which a cluster spreads the fit over its workers.
DASK_DISTRIBUTED_ROWS = DISTRIBUTED_ROWS
#: Where ``crossplan serve`` listens and ``crossplan submit`` sends by default.
SERVICE_PORT = 3000
SERVICE_URL = f"http://127.0.0.1:{SERVICE_PORT}"


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Paths and switches of one service instance.

    Attributes
    ----------
    home
        ``$CROSSPLAN_HOME``.
    data_dir
        The data directory imported into the database when it holds no panel yet.
    database_url
        The shared database (SQLAlchemy URL).
    forecast_file
        A forecast table (CSV or Parquet) served instead of the champion, or ``None``.
    tracking_uri
        MLflow tracking URI, or ``None`` for the default local store.
    suppress_below, min_total, webhook_allow
        The sharing thresholds (:mod:`serving.sharing`) and the hosts webhooks may name
        over plain http or at private addresses.
    outbox_poll, outbox_lease, outbox_keep_days
        Seconds between looks for owed alerts and due webhook posts, seconds a replica
        holds what it took of them, and days the rows it no longer owes are kept (0:
        forever) (:mod:`serving.outbox`).
    metrics
        Where ``/metrics`` is served apart, ``(host, port)``, or ``None``: on the service's
        port, to admins.
    plan_slots, plan_queue, plan_memory_mb
        Plans made at once, plans waiting, and the memory of one (:mod:`serving.plan_process`).
    plan_max_units, plan_max_cells
        The largest plan the service makes (:attr:`plan_limits`).
    model_watch
        Seconds between looks for a champion promoted or reloaded by another process
        (``0``: never look).
    tile_url, tile_attribution
        The map's tile basemap, if any.
    service_url, api_key
        Where ``crossplan submit`` sends, and with which key by default.
    dask_scheduler, dask_distributed_rows
        The Dask scheduler ``crossplan train`` runs on, and the rows of a LightGBM training
        matrix from which it spreads the fit over the workers.
    """

    home: Path
    data_dir: Path
    database_url: str
    forecast_file: Path | None
    tracking_uri: str | None
    suppress_below: int = SUPPRESS_BELOW
    min_total: int = MIN_TOTAL
    webhook_allow: tuple[str, ...] = ()
    outbox_poll: int = OUTBOX_POLL
    outbox_lease: int = OUTBOX_LEASE
    outbox_keep_days: int = OUTBOX_KEEP_DAYS
    metrics: tuple[str, int] | None = None
    plan_slots: int = PLAN_SLOTS
    plan_queue: int = PLAN_QUEUE
    plan_memory_mb: int = PLAN_MEMORY_MB
    plan_max_units: int = PLAN_MAX_UNITS
    plan_max_cells: int = PLAN_MAX_CELLS
    model_watch: int = MODEL_WATCH
    tile_url: str | None = None
    tile_attribution: str | None = None
    service_url: str = SERVICE_URL
    api_key: str | None = None
    dask_scheduler: str | None = None
    dask_distributed_rows: int = DASK_DISTRIBUTED_ROWS

    @classmethod
    def from_env(cls) -> Settings:
        home = crossplan_home()
        forecast = os.environ.get("CROSSPLAN_FORECAST_FILE")
        return cls(
            home=home,
            data_dir=_path("CROSSPLAN_DATA", home / "world"),
            database_url=database_url(),
            forecast_file=Path(forecast).resolve() if forecast else None,
            tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
            suppress_below=_threshold(
                "CROSSPLAN_SUPPRESS_BELOW", SUPPRESS_BELOW, "a whole number of incidents"
            ),
            min_total=_threshold(
                "CROSSPLAN_MIN_TOTAL", MIN_TOTAL, "a whole number of regions and cells"
            ),
            webhook_allow=_hosts(os.environ.get("CROSSPLAN_WEBHOOK_ALLOW", "")),
            outbox_poll=_whole("CROSSPLAN_OUTBOX_POLL", OUTBOX_POLL, 1),
            outbox_lease=_whole("CROSSPLAN_OUTBOX_LEASE", OUTBOX_LEASE, 1),
            outbox_keep_days=_whole("CROSSPLAN_OUTBOX_KEEP_DAYS", OUTBOX_KEEP_DAYS, 0),
            metrics=_listener(os.environ.get("CROSSPLAN_METRICS", "admin").strip()),
            plan_slots=_whole("CROSSPLAN_PLAN_SLOTS", PLAN_SLOTS, 1),
            plan_queue=_whole("CROSSPLAN_PLAN_QUEUE", PLAN_QUEUE, 0),
            plan_memory_mb=_whole("CROSSPLAN_PLAN_MEMORY_MB", PLAN_MEMORY_MB, 256),
            plan_max_units=_whole("CROSSPLAN_PLAN_MAX_UNITS", PLAN_MAX_UNITS, 1),
            plan_max_cells=_whole("CROSSPLAN_PLAN_MAX_CELLS", PLAN_MAX_CELLS, 1),
            model_watch=_whole("CROSSPLAN_MODEL_WATCH", MODEL_WATCH, 0),
            tile_url=os.environ.get("CROSSPLAN_TILE_URL") or None,
            tile_attribution=os.environ.get("CROSSPLAN_TILE_ATTRIBUTION") or None,
            service_url=os.environ.get("CROSSPLAN_URL") or SERVICE_URL,
            api_key=os.environ.get("CROSSPLAN_API_KEY") or None,
            dask_scheduler=os.environ.get("CROSSPLAN_DASK_SCHEDULER", "").strip() or None,
            dask_distributed_rows=_whole(
                "CROSSPLAN_DASK_DISTRIBUTED_ROWS", DASK_DISTRIBUTED_ROWS, 1
            ),
        )

    @property
    def plan_limits(self) -> PlanLimits:
        """The service's plan limits with this instance's sizes and memory."""
        return dataclasses.replace(
            SERVICE_LIMITS,
            max_units=self.plan_max_units,
            max_cells=self.plan_max_cells,
            memory_mb=self.plan_memory_mb,
        )


def _threshold(variable: str, default: int, what: str) -> int:
    value = os.environ.get(variable, str(default)).strip()
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(
            f"{variable}={value!r} — fix: {what} of at least 1, e.g. {default}"
        )
    return int(value)


def _hosts(value: str) -> tuple[str, ...]:
    """Lower-case host names (or addresses) of a comma-separated list."""
    return tuple(sorted({h.strip().lower() for h in value.split(",") if h.strip()}))


def _whole(variable: str, default: int, least: int) -> int:
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < least:
        raise ConfigurationError(f"{variable}={value!r} — fix: set it to a whole number ≥ {least}")
    return int(value)


def _listener(value: str) -> tuple[str, int] | None:
    """``CROSSPLAN_METRICS`` as ``(host, port)``, or ``None`` for ``admin``."""
    if value in ("", "admin"):
        return None
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(
            f"CROSSPLAN_METRICS={value!r} is neither 'admin' nor a port — fix: set it to "
            "'admin', a port such as 9100, or HOST:PORT"
        )
    return host or "127.0.0.1", int(port)
