"""Move a test database to a revision of the migrations, as ``Database.connect`` does to
the head: the migration tests start from the revision before theirs."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import crossplan.pipelines.database.engine as engine_module
from crossplan.pipelines.database import Database


def migrate(db: Database, revision: str, downgrade: bool = False) -> None:
    """Upgrade (or downgrade) ``db`` to ``revision`` ("head" for the latest)."""
    config = Config()
    config.set_main_option(
        "script_location", str(Path(engine_module.__file__).with_name("migrations"))
    )
    with db.engine.begin() as con:
        config.attributes["connection"] = con
        (command.downgrade if downgrade else command.upgrade)(config, revision)
