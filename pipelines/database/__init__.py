"""The shared database: panel versions with provenance, plans, keys, alerts, webhooks and the
audit trail.

Every table is read and written here, and only here: the service calls these functions and
never SQL. :mod:`~pipelines.database.engine` connects and migrates (SQLite by default,
PostgreSQL when ``CROSSPLAN_DATABASE_URL`` says so); :mod:`~pipelines.database.panel` rebuilds
the panel as of any time; :mod:`~pipelines.database.submissions` stores what agencies send,
checked by :mod:`~pipelines.database.checks` against the panel's
:mod:`~pipelines.database.shape` and written by :mod:`~pipelines.database.versions`;
:mod:`~pipelines.database.revert` puts a submission's cells back;
:mod:`~pipelines.database.audit` keeps the audit trail; :mod:`~pipelines.database.plans`,
:mod:`~pipelines.database.keys`, :mod:`~pipelines.database.alerts` and
:mod:`~pipelines.database.webhooks` keep the plans, the API keys, the alerts and the webhooks.
"""

from pipelines.database.alerts import AlertRecord, audience_label, list_alerts, store_alerts
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
from pipelines.database.keys import KeyRecord, delete_key, key_agencies, list_keys, store_key
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
from pipelines.database.plans import PlanRecord, PlanStore, PlanSummary
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
from pipelines.database.webhooks import (
    WebhookRecord,
    read_webhooks,
    remove_webhook,
    stopped_because,
    store_webhook,
)

__all__ = [
    "ACTIONS",
    "DATABASE_VARIABLE",
    "AlertRecord",
    "AuditRecord",
    "Database",
    "DatabaseUnavailableError",
    "KeyRecord",
    "NoPanelError",
    "PanelVersion",
    "PlanRecord",
    "PlanStore",
    "PlanSummary",
    "RevertResult",
    "SubmissionRecord",
    "SubmissionResult",
    "Submitter",
    "WebhookRecord",
    "append_event",
    "audience_label",
    "audit_actions",
    "audit_trail",
    "database_url",
    "delete_key",
    "export_panel",
    "import_directory",
    "iso",
    "key_agencies",
    "last_good_panel",
    "latest_submission",
    "list_alerts",
    "list_keys",
    "list_submissions",
    "load_panel",
    "read_webhooks",
    "record_event",
    "remove_webhook",
    "revert_submission",
    "stopped_because",
    "store_alerts",
    "store_key",
    "store_webhook",
    "submit_incidents",
    "utcnow",
]
