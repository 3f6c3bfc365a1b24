"""Alembic environment: one metadata, the URL from the caller's config or DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from scheduler.db import DEFAULT_DATABASE_URL, make_engine, normalise_url
from scheduler.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or normalise_url(
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        # Batch mode lets ALTER-style migrations work on SQLite as well.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
