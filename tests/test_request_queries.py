"""What each request asks of the database: one read at most, and a write only when something changed.

Counted over HTTP with SQLAlchemy's cursor events on the app's own engine, on SQLite and (with
TEST_DATABASE_URL) PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from flask import Flask
from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.pool import NullPool

from scheduler.models import SkillState, User
from skill.content import load_language
from skill.endpoint import EXTENSION
from skill.persistence import SqlAlchemyPersistenceAdapter
from tests.envelopes import Envelopes, said
from tests.test_questions import Talk

WORDS = load_language("en")


@pytest.fixture
def app(make_app: Callable[..., Flask], database_url: str) -> Flask:
    return make_app(DATABASE_URL=database_url)


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block, first word upper-cased (SELECT, UPDATE...)."""
    engine = app.extensions[EXTENSION]["services"].engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def returning_user(app: Flask, envelopes: Envelopes) -> Talk:
    """A user who has been here before: heard the disclaimer, and has a users row (reminders)."""
    talk = Talk(app.test_client(), envelopes)
    talk.launch()
    with app.extensions[EXTENSION]["services"].sessions.begin() as session:
        session.add(User(alexa_user_id=talk.user_id))
    talk.new_session()
    return talk


def test_a_returning_users_launch_is_one_read(app: Flask, envelopes: Envelopes) -> None:
    talk = returning_user(app, envelopes)
    with statements(app) as seen:
        body = talk.launch()
    assert said(body) == WORDS.text("prompts.welcome_back")
    assert seen == ["SELECT"]


def test_a_question_is_one_read(app: Flask, envelopes: Envelopes) -> None:
    talk = returning_user(app, envelopes)
    with statements(app) as seen:
        body = talk.intent("CausesIntent", {"cause": "dehydration"}, resolved={"cause": "dehydration"})
    assert said(body).startswith(WORDS.text("topics.causes.dehydration.answer"))
    assert seen == ["SELECT"]


@pytest.mark.parametrize(
    "build",
    [
        lambda e: e.session_ended("USER_INITIATED"),
        lambda e: e.session_ended("EXCEEDED_MAX_REPROMPTS"),
        lambda e: e.can_fulfill("CausesIntent", {"cause": "dehydration"}),
        lambda e: e.exception_encountered(),
    ],
    ids=["session-ended", "session-timed-out", "can-fulfill", "exception-encountered"],
)
def test_requests_that_use_no_state_do_not_read_it(
    app: Flask, envelopes: Envelopes, build: Callable[[Envelopes], dict[str, Any]]
) -> None:
    talk = returning_user(app, envelopes)
    with statements(app) as seen:
        talk.post(build(envelopes))
    assert seen == []


def test_state_set_to_what_it_was_is_not_written(app: Flask, envelopes: Envelopes) -> None:
    # Help always marks the disclaimer as heard; for someone who heard it that changes nothing.
    talk = returning_user(app, envelopes)
    talk.launch()
    with statements(app) as seen:
        talk.intent("AMAZON.HelpIntent")
    assert seen == ["SELECT"]


def test_a_pending_greeting_is_read_with_the_state_and_cleared_once(app: Flask, envelopes: Envelopes) -> None:
    talk = returning_user(app, envelopes)
    with app.extensions[EXTENSION]["services"].sessions.begin() as session:
        user = session.scalar(select(User).where(User.alexa_user_id == talk.user_id))
        assert user is not None
        user.pending_greeting = "water"
    with statements(app) as seen:
        body = talk.launch()
    assert said(body).startswith(WORDS.text("prompts.greeting.water"))
    assert seen == ["SELECT", "UPDATE"], "one read for state and greeting; the write marks it said"

    talk.new_session()
    with statements(app) as seen:
        body = talk.launch()
    assert said(body) == WORDS.text("prompts.welcome_back")
    assert seen == ["SELECT"]


def test_a_first_visit_reads_once_and_writes_its_state(app: Flask, envelopes: Envelopes) -> None:
    talk = Talk(app.test_client(), envelopes)
    with statements(app) as seen:
        talk.launch()
    # The read; then the save: an UPDATE that finds no row, and the INSERT.
    assert seen == ["SELECT", "UPDATE", "INSERT"]
    with statements(app) as seen:
        talk.intent("StartRoutineIntent")
        talk.intent("AMAZON.NextIntent")
    # Each routine step is saved: the row exists now, so a save is one UPDATE.
    assert seen.count("INSERT") == 0
    assert seen.count("UPDATE") >= 1


def test_a_save_racing_a_first_insert_updates_instead(
    app: Flask, envelopes: Envelopes, database_url: str
) -> None:
    """Two first requests of one user at once: the second INSERT fails and becomes an UPDATE."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: the UPDATE holds the write lock, so no insert can race")
    engine = app.extensions[EXTENSION]["services"].engine
    adapter = SqlAlchemyPersistenceAdapter(engine)
    body = envelopes.launch(user_id="amzn1.ask.account.RACE")
    envelope = DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)
    raced = threading.Event()

    def insert_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Just before our INSERT, another connection inserts the same user's row and commits.
        if statement.startswith("INSERT INTO skill_state") and not raced.is_set():
            raced.set()
            with engine.connect() as other:
                other.execute(
                    insert(SkillState).values(alexa_user_id="amzn1.ask.account.RACE", attributes={"x": 1})
                )
                other.commit()

    event.listen(engine, "before_cursor_execute", insert_first)
    try:
        adapter.save_attributes(envelope, {"disclaimer_heard": True})
    finally:
        event.remove(engine, "before_cursor_execute", insert_first)
    assert raced.is_set()
    assert adapter.get_attributes(envelope) == {"disclaimer_heard": True}


def test_a_connection_the_database_closed_costs_the_user_nothing(
    app: Flask, envelopes: Envelopes, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No ping before each request: the state read notices a dead connection and reads again."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to close a connection")
    talk = returning_user(app, envelopes)
    engine = app.extensions[EXTENSION]["services"].engine
    with engine.connect() as connection:  # the pool's one connection, as the requests were one at a time
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()

    with caplog.at_level(logging.WARNING), statements(app) as seen:
        body = talk.launch()
    assert said(body) == WORDS.text("prompts.welcome_back"), "the state was read: no disclaimer again"
    assert seen == ["SELECT", "SELECT"], "the read on the closed connection, then the read that worked"
    assert any("connection was closed" in r.getMessage() for r in caplog.records)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


def test_on_postgresql_a_request_is_one_round_trip(
    app: Flask, envelopes: Envelopes, database_url: str, tmp_path: Path
) -> None:
    """No ping, no BEGIN, no ROLLBACK around the read: libpq's own trace of what the app sent."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is in process: there are no round trips to count")
    talk = returning_user(app, envelopes)
    engine = app.extensions[EXTENSION]["services"].engine
    raw = engine.raw_connection()  # the pool's one connection, as the requests were one at a time
    pgconn = raw.driver_connection.pgconn
    raw.close()
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        pgconn.trace(out.fileno())
        try:
            body = talk.launch()
            talk.intent("CausesIntent", {"cause": "dehydration"}, resolved={"cause": "dehydration"})
        finally:
            pgconn.untrace()
    assert said(body) == WORDS.text("prompts.welcome_back")
    sent = [line.split("\t")[3].split()[0] for line in trace.read_text().splitlines() if "\tF\t" in line]
    # Each Sync (extended protocol) or Query (simple protocol) is one wait for the server.
    assert [m for m in sent if m in ("Sync", "Query")] == ["Sync", "Sync"], sent
