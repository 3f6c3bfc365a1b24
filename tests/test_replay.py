"""A requestId is answered once: a replay inside the timestamp window is refused."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skill.replay import ReplayGuard
from skill.verification import SKILL_EVENT_TOLERANCE_S, TIMESTAMP_TOLERANCE_S
from tests.certs import make_pki, signed_headers
from tests.conftest import Clock
from tests.envelopes import Envelopes


def test_a_signed_request_replayed_is_refused(
    make_app: Callable[..., Flask], envelopes: Envelopes, caplog: pytest.LogCaptureFixture
) -> None:
    pki = make_pki()
    client = make_app(
        ALEXA_VERIFY_REQUESTS="true", VERIFIER_ROOTS=[pki.root], CERT_FETCH=pki.fetch
    ).test_client()
    body = json.dumps(envelopes.intent("AMAZON.HelpIntent")).encode()
    headers = {**signed_headers(pki, body), "Content-Type": "application/json"}
    assert client.post("/alexa", data=body, headers=headers).status_code == 200
    with caplog.at_level(logging.WARNING, logger="skill.endpoint"):
        again = client.post("/alexa", data=body, headers=headers)
    assert again.status_code == 400
    assert again.get_json() == {"error": "request already received"}
    assert any("already received" in r.getMessage() for r in caplog.records)


def test_a_replay_is_refused_without_signature_checks_too(client: FlaskClient, envelopes: Envelopes) -> None:
    envelope = envelopes.intent("AMAZON.HelpIntent")
    assert client.post("/alexa", json=envelope).status_code == 200
    assert client.post("/alexa", json=envelope).status_code == 400
    other = envelopes.intent("AMAZON.HelpIntent")
    assert client.post("/alexa", json=other).status_code == 200, "a new requestId is answered"


def test_an_event_alexa_redelivers_after_a_503_is_processed(
    make_app: Callable[..., Flask], migrated_template: Path, tmp_path: Path, envelopes: Envelopes
) -> None:
    database = tmp_path / "not-yet" / "cramp_coach.db"
    app = make_app(DATABASE_URL=f"sqlite:///{database}")
    client = app.test_client()
    event = envelopes.skill_event("AlexaSkillEvent.SkillDisabled")
    assert client.post("/alexa", json=event).status_code == 503
    database.parent.mkdir()
    shutil.copyfile(migrated_template, database)  # storage is back
    assert client.post("/alexa", json=event).status_code == 200, "the redelivery is not a replay"
    assert client.post("/alexa", json=event).status_code == 400, "once processed, a copy is a replay"


# --- the guard itself ---------------------------------------------------------------------------


def test_an_id_is_kept_for_twice_its_window_then_forgotten() -> None:
    guard = ReplayGuard()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert guard.claim("a", start, TIMESTAMP_TOLERANCE_S)
    assert guard.claim("e", start, SKILL_EVENT_TOLERANCE_S)
    late = start + timedelta(seconds=2 * TIMESTAMP_TOLERANCE_S - 1)
    assert not guard.claim("a", late, TIMESTAMP_TOLERANCE_S)
    after = start + timedelta(seconds=2 * TIMESTAMP_TOLERANCE_S + 1)
    assert guard.claim("b", after, TIMESTAMP_TOLERANCE_S)
    assert len(guard) == 2, "a's window passed; the event's hour has not"
    assert not guard.claim("e", after, SKILL_EVENT_TOLERANCE_S)


def test_a_released_id_can_be_claimed_again_and_keeps_its_new_window() -> None:
    guard, now = ReplayGuard(), datetime(2026, 11, 1, tzinfo=UTC)
    assert guard.claim("a", now, 10)
    guard.release("a")
    later = now + timedelta(seconds=15)
    assert guard.claim("a", later, 10)
    # The first claim's queue entry expires at now+20; it must not drop the second claim.
    assert not guard.claim("a", now + timedelta(seconds=25), 10)


def test_the_guard_is_bounded_and_says_so(caplog: pytest.LogCaptureFixture, clock: Clock) -> None:
    guard = ReplayGuard(max_entries=100)
    with caplog.at_level(logging.WARNING, logger="skill.replay"):
        for i in range(250):
            assert guard.claim(f"id-{i}", clock(), TIMESTAMP_TOLERANCE_S)
    assert len(guard) == 100
    assert guard.claim("id-0", clock(), TIMESTAMP_TOLERANCE_S), "the oldest were forgotten first"
    assert not guard.claim("id-249", clock(), TIMESTAMP_TOLERANCE_S)
    assert [r for r in caplog.records if "replay guard full" in r.getMessage()]
