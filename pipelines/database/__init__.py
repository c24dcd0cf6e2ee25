"""The shared database: panel versions with provenance, plans, keys, alerts and the audit trail.

:mod:`~pipelines.database.engine` connects and migrates (SQLite by default, PostgreSQL when
``CROSSPLAN_DATABASE_URL`` says so); :mod:`~pipelines.database.panel` rebuilds the panel as of
any time; :mod:`~pipelines.database.submissions` stores what agencies send, checked by
:mod:`~pipelines.database.checks` against the panel's :mod:`~pipelines.database.shape` and
written by :mod:`~pipelines.database.versions`; :mod:`~pipelines.database.revert` puts a
submission's cells back; :mod:`~pipelines.database.audit` keeps the audit trail.
"""

from pipelines.database.audit import (
    ACTIONS,
    AuditRecord,
    append_event,
    audit_actions,
    audit_trail,
    record_event,
)
from pipelines.database.engine import (
    DATABASE_VARIABLE,
    Database,
    DatabaseUnavailableError,
    database_url,
)
from pipelines.database.panel import (
    NoPanelError,
    PanelVersion,
    export_panel,
    iso,
    last_good_panel,
    latest_submission,
    load_panel,
    utcnow,
)
from pipelines.database.submissions import (
    RevertResult,
    SubmissionRecord,
    SubmissionResult,
    Submitter,
    import_directory,
    list_submissions,
    revert_submission,
    submit_incidents,
)

__all__ = [
    "ACTIONS",
    "DATABASE_VARIABLE",
    "AuditRecord",
    "Database",
    "DatabaseUnavailableError",
    "NoPanelError",
    "PanelVersion",
    "RevertResult",
    "SubmissionRecord",
    "SubmissionResult",
    "Submitter",
    "append_event",
    "audit_actions",
    "audit_trail",
    "database_url",
    "export_panel",
    "import_directory",
    "iso",
    "last_good_panel",
    "latest_submission",
    "list_submissions",
    "load_panel",
    "record_event",
    "revert_submission",
    "submit_incidents",
    "utcnow",
]
