"""The SQLAlchemy persistence adapter on a real SQLite file, and the skill with its database down."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from flask import Flask
from sqlalchemy import func, select

from scheduler.db import make_engine, make_session_factory
from scheduler.models import SkillState
from skill.content import load_language
from skill.persistence import SqlAlchemyPersistenceAdapter
from tests.envelopes import Envelopes, said
from tests.test_questions import Talk

WORDS = load_language("en")


def request_envelope(body: dict[str, Any]) -> RequestEnvelope:
    envelope: RequestEnvelope = DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)
    return envelope


@pytest.fixture
def adapter(sqlite_url: str) -> SqlAlchemyPersistenceAdapter:
    return SqlAlchemyPersistenceAdapter(make_engine(sqlite_url))


def rows(sqlite_url: str) -> int:
    with make_session_factory(make_engine(sqlite_url))() as session:
        return int(session.scalar(select(func.count()).select_from(SkillState)) or 0)


def test_adapter_round_trips_updates_and_deletes(
    adapter: SqlAlchemyPersistenceAdapter, envelopes: Envelopes, sqlite_url: str
) -> None:
    envelope = request_envelope(envelopes.launch(user_id="amzn1.ask.account.ROUNDTRIP"))
    assert adapter.get_attributes(envelope) == {}

    adapter.save_attributes(envelope, {"disclaimer_heard": True, "routine_step": 3})
    assert adapter.get_attributes(envelope) == {"disclaimer_heard": True, "routine_step": 3}

    adapter.save_attributes(envelope, {"disclaimer_heard": True})
    assert adapter.get_attributes(envelope) == {"disclaimer_heard": True}
    assert rows(sqlite_url) == 1

    adapter.delete_attributes(envelope)
    assert adapter.get_attributes(envelope) == {}
    assert rows(sqlite_url) == 0


def test_adapter_keeps_users_apart(adapter: SqlAlchemyPersistenceAdapter, envelopes: Envelopes) -> None:
    alice = request_envelope(envelopes.launch(user_id="amzn1.ask.account.ALICE"))
    bob = request_envelope(envelopes.launch(user_id="amzn1.ask.account.BOB"))
    adapter.save_attributes(alice, {"routine_step": 2})
    assert adapter.get_attributes(bob) == {}
    adapter.delete_attributes(bob)
    assert adapter.get_attributes(alice) == {"routine_step": 2}


def test_adapter_without_a_user_id_refuses(
    adapter: SqlAlchemyPersistenceAdapter, envelopes: Envelopes
) -> None:
    body = envelopes.launch()
    del body["context"]["System"]["user"]
    del body["session"]["user"]
    with pytest.raises(PersistenceException, match="no user id"):
        adapter.get_attributes(request_envelope(body))


def test_adapter_reports_a_database_it_cannot_reach(envelopes: Envelopes, tmp_path: Path) -> None:
    down = SqlAlchemyPersistenceAdapter(make_engine(f"sqlite:///{tmp_path}/no/such/dir.db"))
    envelope = request_envelope(envelopes.launch())
    with pytest.raises(PersistenceException, match="could not read skill state"):
        down.get_attributes(envelope)
    with pytest.raises(PersistenceException, match="could not save skill state"):
        down.save_attributes(envelope, {"a": 1})


@pytest.fixture
def app_without_database(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    return make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/cramp_coach.db")


def test_a_question_is_answered_when_the_database_is_down(
    app_without_database: Flask, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    talk = Talk(app_without_database.test_client(), envelopes)
    with caplog.at_level(logging.ERROR):
        body = talk.intent("CausesIntent", {"cause": "dehydration"}, resolved={"cause": "dehydration"})
    spoken = said(body)
    assert WORDS.text("topics.causes.dehydration.answer") in spoken
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("skill state unavailable" in m and "could not read skill state" in m for m in errors), errors


def test_launch_and_the_routine_work_when_the_database_is_down(
    app_without_database: Flask, envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    talk = Talk(app_without_database.test_client(), envelopes)
    with caplog.at_level(logging.ERROR):
        body = talk.launch()
    assert said(body).startswith(WORDS.text("prompts.welcome"))
    # One read covers the state and the greeting, so one line says both are missing.
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("skill state and pending greeting unavailable" in m for m in errors), errors
    # The routine still runs on session attributes; only resuming on another night needs storage.
    talk.intent("StartRoutineIntent")
    body = talk.intent("AMAZON.NextIntent")
    assert talk.attributes["routine_step"] == 1
    assert body["response"]["shouldEndSession"] is False
