"""A database that hangs or is locked: questions are still answered from content (state skipped),
reminder commands get their apology, skill events get 503, /healthz 503, all within Alexa's 8 s.

The tests assert outcomes only; SAFETY_BOUND_S just stops a test that would otherwise hang.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from scheduler.db import normalise_url
from skill.content import load_language
from tests.envelopes import Envelopes, said

SAFETY_BOUND_S = 30.0
WORDS = load_language("en")


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte: a database that hangs."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def all_at_once(app: Flask, requests: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """Send the requests concurrently (None is GET /healthz), as Alexa's traffic would arrive.

    Daemon threads, so that a request stuck past the safety bound fails the test instead of
    keeping it (and the lock it waits on) alive.
    """
    answers: dict[str, Any] = {}

    def send(name: str, body: dict[str, Any] | None) -> None:
        client = app.test_client()
        answers[name] = client.get("/healthz") if body is None else client.post("/alexa", json=body)

    threads = [threading.Thread(target=send, args=item, daemon=True) for item in requests.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SAFETY_BOUND_S)
    stuck = sorted(set(requests) - set(answers))
    assert not stuck, f"still waiting on the database at the safety bound: {stuck}"
    return answers


def check_outcomes(app: Flask, envelopes: Envelopes, *, reachable: bool = False) -> None:
    requests: dict[str, dict[str, Any] | None] = {
        "question": envelopes.intent("WhatIsCrampIntent"),
        "list": envelopes.intent("ListRemindersIntent"),
        "cancel": envelopes.intent("CancelAllRemindersIntent", confirmation="CONFIRMED"),
        "event": envelopes.skill_event("AlexaSkillEvent.SkillDisabled"),
        "healthz": None,
    }
    answers = all_at_once(app, requests)
    assert answers["question"].status_code == 200
    assert WORDS.text("topics.what_is.answer") in said(answers["question"].get_json()), (
        "answered from content"
    )
    for command in ("list", "cancel"):
        assert answers[command].status_code == 200
        assert said(answers[command].get_json()) == WORDS.text("reminders.storage_down")
    assert answers["event"].status_code == 503
    # A locked table does not make the server unreachable; a server that never answers does.
    assert answers["healthz"].status_code == (200 if reachable else 503)


def test_a_database_that_accepts_and_never_answers(
    make_app: Callable[..., Flask], silent_server: SilentServer, envelopes: Envelopes
) -> None:
    app = make_app(DATABASE_URL=f"postgresql://cramp@127.0.0.1:{silent_server.port}/cramp")
    check_outcomes(app, envelopes)


@pytest.fixture
def locked_postgres(postgres_url: str) -> Iterator[str]:
    """Another session holds ACCESS EXCLUSIVE locks on every table for as long as the test runs."""
    holder = create_engine(normalise_url(postgres_url))
    with holder.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            text("LOCK TABLE users, reminders, deliveries, skill_state IN ACCESS EXCLUSIVE MODE")
        )
        try:
            yield postgres_url
        finally:
            transaction.rollback()
    holder.dispose()


def test_a_postgresql_blocked_on_a_lock(
    make_app: Callable[..., Flask], locked_postgres: str, envelopes: Envelopes
) -> None:
    app = make_app(DATABASE_URL=locked_postgres, DATABASE_STATEMENT_TIMEOUT_SECONDS="0.5")
    check_outcomes(app, envelopes, reachable=True)


def test_a_sqlite_database_locked_by_another_writer(
    make_app: Callable[..., Flask], sqlite_url: str, envelopes: Envelopes
) -> None:
    import sqlite3

    app = make_app(DATABASE_URL=sqlite_url, DATABASE_STATEMENT_TIMEOUT_SECONDS="0.5")
    service = app.extensions["cramp_coach"]["services"].reminders
    service.add(Envelopes.USER_ID, "water", [time(10)], time_zone="UTC")
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        answers = all_at_once(
            app,
            {
                "cancel": envelopes.intent("CancelAllRemindersIntent", confirmation="CONFIRMED"),
                "event": envelopes.skill_event("AlexaSkillEvent.SkillDisabled"),
            },
        )
        assert said(answers["cancel"].get_json()) == WORDS.text("reminders.storage_down")
        assert answers["event"].status_code == 503
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_the_skill_sessions_carry_the_configured_timeouts(
    make_app: Callable[..., Flask], postgres_url: str
) -> None:
    app = make_app(
        DATABASE_URL=postgres_url, DATABASE_STATEMENT_TIMEOUT_SECONDS="1.5", DATABASE_POOL_TIMEOUT_SECONDS="1"
    )
    engine = app.extensions["cramp_coach"]["services"].engine
    with engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
        assert connection.execute(text("SHOW lock_timeout")).scalar() == "1500ms"
        # The URL's own options (the test schema) survive beside the timeouts.
        assert connection.execute(text("SHOW search_path")).scalar().startswith("t_")
        parameters = connection.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
    assert parameters["connect_timeout"] == "2"
    assert engine.pool.timeout() == 1


@pytest.mark.parametrize(
    "name, value",
    [
        ("DATABASE_CONNECT_TIMEOUT_SECONDS", "0"),
        ("DATABASE_STATEMENT_TIMEOUT_SECONDS", "abc"),
        ("DATABASE_POOL_TIMEOUT_SECONDS", "60"),
    ],
)
def test_timeout_settings_are_checked(make_app: Callable[..., Flask], name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        make_app(**{name: value})
