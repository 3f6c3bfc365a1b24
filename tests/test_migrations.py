"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from scheduler.db import make_engine
from scheduler.migrate import downgrade, upgrade
from scheduler.models import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_due_index_is_partial(database_url: str) -> None:
    indexes = {ix["name"]: ix for ix in inspect(make_engine(database_url)).get_indexes("reminders")}
    assert indexes["ix_reminders_due"]["column_names"] == ["visible_at"]
    dialect_options = indexes["ix_reminders_due"].get("dialect_options", {})
    where = dialect_options.get("postgresql_where") or dialect_options.get("sqlite_where")
    assert where is not None and "enabled" in str(where)


def test_downgrade_then_upgrade_round_trips(database_url: str) -> None:
    downgrade(database_url, "base")
    assert "reminders" not in inspect(make_engine(database_url)).get_table_names()
    upgrade(database_url)
    assert "reminders" in inspect(make_engine(database_url)).get_table_names()
