"""The shared database: panel versions with provenance, plans, keys, alerts, webhooks and the
audit trail.

Every table is read and written here, and only here: the service calls these functions and
never SQL. :mod:`~pipelines.database.engine` connects and migrates (SQLite by default,
PostgreSQL when ``CROSSPLAN_DATABASE_URL`` says so); :mod:`~pipelines.database.panel` rebuilds
the panel as of any time; :mod:`~pipelines.database.submissions` stores what agencies send,
checked by :mod:`~pipelines.database.checks` against the panel's
:mod:`~pipelines.database.shape` and written by :mod:`~pipelines.database.versions`;
:mod:`~pipelines.database.receipts` gives a submission back to its sender (the list, a
receipt, the rows stored); :mod:`~pipelines.database.revert` puts a submission's cells back, and
:mod:`~pipelines.database.set_aside` sets aside one the model cannot forecast, with its event
and alerts;
:mod:`~pipelines.database.audit` keeps the audit trail; :mod:`~pipelines.database.plans`,
:mod:`~pipelines.database.keys`, :mod:`~pipelines.database.alerts` and
:mod:`~pipelines.database.webhooks` keep the plans, the API keys, the alerts and the webhooks;
:mod:`~pipelines.database.outbox` keeps the alerts each submission owes and the posts owed to
webhooks until they are done.
:mod:`~pipelines.database.operations` keeps joint operations, from proposal to confirmation
(its rules: :mod:`~pipelines.database.operation_rules`; its state, derived from its events:
:mod:`~pipelines.database.operation_state`; the resources' candidates seeded as proposals:
:mod:`~pipelines.database.operation_seeds`).
"""

from crossplan.pipelines.database.alerts import (
    AlertRecord,
    audience_label,
    list_alerts,
    store_alerts,
)
from crossplan.pipelines.database.audit import (
    ACTIONS,
    AuditRecord,
    append_event,
    audit_actions,
    audit_trail,
    latest_event_id,
    record_event,
)
from crossplan.pipelines.database.engine import (
    DATABASE_VARIABLE,
    Database,
    DatabaseUnavailableError,
    database_url,
)
from crossplan.pipelines.database.keys import (
    KeyRecord,
    delete_key,
    key_agencies,
    list_keys,
    store_key,
)
from crossplan.pipelines.database.operation_rules import Actor, Proposal, UnitPledge, next_period
from crossplan.pipelines.database.operation_seeds import Seeded, seed_operations
from crossplan.pipelines.database.operation_state import Need, OperationRecord, PledgedUnit, Step
from crossplan.pipelines.database.operations import (
    ConfirmedOperation,
    Outcome,
    cancel,
    confirmed_operations,
    decline,
    expire_due,
    get_operation,
    list_operations,
    pledge,
    propose,
    withdraw,
)
from crossplan.pipelines.database.outbox import (
    AlertJob,
    Delivery,
    Posts,
    claim_alert_job,
    claim_deliveries,
    finish_delivery,
    outbox_counts,
    owe_alerts,
    owe_deliveries,
    release_alert_job,
    retry_delivery,
    settle_alert_job,
)
from crossplan.pipelines.database.outbox_retention import prune_outbox
from crossplan.pipelines.database.panel import (
    NoPanelError,
    PanelVersion,
    export_panel,
    iso,
    last_good_panel,
    latest_submission,
    load_panel,
    utcnow,
)
from crossplan.pipelines.database.plans import PlanRecord, PlanStore, PlanSummary
from crossplan.pipelines.database.receipts import (
    Sender,
    SubmissionReceipt,
    get_receipt,
    submission_rows,
)
from crossplan.pipelines.database.revert import QUARANTINED, quarantine_reason
from crossplan.pipelines.database.set_aside import set_aside
from crossplan.pipelines.database.submissions import (
    RevertResult,
    SubmissionCheck,
    SubmissionRecord,
    SubmissionResult,
    Submitter,
    check_submission,
    import_directory,
    list_submissions,
    revert_submission,
    submit_incidents,
)
from crossplan.pipelines.database.webhooks import (
    WebhookRecord,
    read_webhooks,
    remove_webhook,
    stopped_because,
    store_webhook,
)

__all__ = [
    "ACTIONS",
    "DATABASE_VARIABLE",
    "QUARANTINED",
    "Actor",
    "AlertJob",
    "AlertRecord",
    "AuditRecord",
    "ConfirmedOperation",
    "Database",
    "DatabaseUnavailableError",
    "Delivery",
    "KeyRecord",
    "Need",
    "NoPanelError",
    "OperationRecord",
    "Outcome",
    "PanelVersion",
    "PlanRecord",
    "PlanStore",
    "PlanSummary",
    "PledgedUnit",
    "Posts",
    "Proposal",
    "RevertResult",
    "Seeded",
    "Sender",
    "Step",
    "SubmissionCheck",
    "SubmissionReceipt",
    "SubmissionRecord",
    "SubmissionResult",
    "Submitter",
    "UnitPledge",
    "WebhookRecord",
    "append_event",
    "audience_label",
    "audit_actions",
    "audit_trail",
    "cancel",
    "check_submission",
    "claim_alert_job",
    "claim_deliveries",
    "confirmed_operations",
    "database_url",
    "decline",
    "delete_key",
    "expire_due",
    "export_panel",
    "finish_delivery",
    "get_operation",
    "get_receipt",
    "import_directory",
    "iso",
    "key_agencies",
    "last_good_panel",
    "latest_event_id",
    "latest_submission",
    "list_alerts",
    "list_keys",
    "list_operations",
    "list_submissions",
    "load_panel",
    "next_period",
    "outbox_counts",
    "owe_alerts",
    "owe_deliveries",
    "pledge",
    "propose",
    "prune_outbox",
    "quarantine_reason",
    "read_webhooks",
    "record_event",
    "release_alert_job",
    "remove_webhook",
    "retry_delivery",
    "revert_submission",
    "seed_operations",
    "set_aside",
    "settle_alert_job",
    "stopped_because",
    "store_alerts",
    "store_key",
    "store_webhook",
    "submission_rows",
    "submit_incidents",
    "utcnow",
    "withdraw",
]
