"""Apply Alembic migrations programmatically (used by ``cramp-coach db upgrade`` and the tests)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config

from scheduler.db import DEFAULT_DATABASE_URL, normalise_url

# Also the script_location in alembic.ini, for developers running `alembic revision` by hand.
MIGRATIONS_PACKAGE = "scheduler.migrations"


def migrations_dir() -> Path:
    """The installed migrations folder (Alembic needs a real directory, not a zip entry)."""
    folder = files(MIGRATIONS_PACKAGE)
    if not isinstance(folder, Path) or not (folder / "env.py").is_file():
        raise RuntimeError(f"the migrations in {MIGRATIONS_PACKAGE} are not a folder on disk ({folder})")
    return folder


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # Alembic's config is an INI file underneath, so a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", normalise_url(url or DEFAULT_DATABASE_URL).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
