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


def test_0002_keeps_existing_users_and_reminders_and_they_have_not_granted_reminders(
    database_url: str,
) -> None:
    from sqlalchemy import text

    downgrade(database_url, "0001")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (alexa_user_id, locale, notifications_allowed, subscribed, created_at) "
                "VALUES ('amzn1.ask.account.OLD', 'en-GB', true, true, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(database_url)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT locale, notifications_allowed, reminders_allowed FROM users")
        ).one()
    assert (row.locale, bool(row.notifications_allowed), bool(row.reminders_allowed)) == (
        "en-GB",
        True,
        False,
    )
    columns = {c["name"] for c in inspect(engine).get_columns("deliveries")}
    assert "alert_token" in columns
    assert {"paused_until", "skip_on"} <= {c["name"] for c in inspect(engine).get_columns("reminders")}
