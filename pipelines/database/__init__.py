"""The shared database: panel versions with provenance, plans, keys, alerts and the audit trail.

:mod:`~pipelines.database.engine` connects and migrates (SQLite by default, PostgreSQL when
``CROSSPLAN_DATABASE_URL`` says so); :mod:`~pipelines.database.panel` stores submissions and
rebuilds the panel as of any time; :mod:`~pipelines.database.submissions` stores what agencies send; :mod:`~pipelines.database.audit` keeps the audit trail.
"""

from pipelines.database.audit import AuditRecord, audit_trail, record_event
from pipelines.database.engine import (
    DATABASE_VARIABLE,
    Database,
    DatabaseUnavailableError,
    database_url,
)
from pipelines.database.panel import (
    PanelVersion,
    export_panel,
    iso,
    latest_submission,
    load_panel,
    utcnow,
)
from pipelines.database.submissions import (
    SubmissionResult,
    Submitter,
    import_directory,
    submit_incidents,
)

__all__ = [
    "DATABASE_VARIABLE",
    "AuditRecord",
    "Database",
    "DatabaseUnavailableError",
    "PanelVersion",
    "SubmissionResult",
    "Submitter",
    "audit_trail",
    "database_url",
    "export_panel",
    "import_directory",
    "iso",
    "latest_submission",
    "load_panel",
    "record_event",
    "submit_incidents",
    "utcnow",
]
