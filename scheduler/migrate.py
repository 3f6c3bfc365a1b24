"""Apply Alembic migrations programmatically (used by ``cramp-coach db upgrade`` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from scheduler.db import DEFAULT_DATABASE_URL, normalise_url

# The migrations folder sits at the project root, beside the packages (installed editable).
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    if not MIGRATIONS_DIR.is_dir():
        raise RuntimeError(f"migrations folder not found at {MIGRATIONS_DIR}; install the project editable")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is an INI file underneath, so a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", normalise_url(url or DEFAULT_DATABASE_URL).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
