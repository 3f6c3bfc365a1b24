"""Fixtures: a fresh app on a freshly migrated database for every test, and request envelopes."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from scheduler.db import normalise_url
from scheduler.migrate import upgrade
from skill import create_app
from tests.envelopes import Envelopes

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per test session; each test gets a copy (migrations run once)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "cramp_coach.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema for one test (needs TEST_DATABASE_URL)."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in TEST_DATABASE_URL else "?"
    url = f"{normalise_url(TEST_DATABASE_URL)}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Both backends: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


class Clock:
    """A settable clock; tests move time instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def make_app(sqlite_url: str, clock: Clock) -> Callable[..., Flask]:
    def factory(**overrides: Any) -> Flask:
        config: dict[str, Any] = {
            "TESTING": True,
            "DATABASE_URL": sqlite_url,
            "ALEXA_VERIFY_REQUESTS": "false",
            "ALEXA_SKILL_ID": Envelopes.SKILL_ID,
            "CLOCK": clock,
        }
        config.update(overrides)
        return create_app(config)

    return factory


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def envelopes(clock: Clock) -> Envelopes:
    return Envelopes(clock)


@pytest.fixture
def alexa_stub() -> Iterator[Any]:
    """The local stub of the Alexa APIs (LWA, Proactive Events, Settings), on 127.0.0.1."""
    from tests.stubs.alexa_api import start_stub

    stub = start_stub()
    try:
        yield stub
    finally:
        stub.stop()
