"""The worker seen from outside: its metrics port, its heartbeat and the health check, its log lines.

One real ``python -m scheduler.worker`` process on a migrated SQLite file, sending through the stub
Alexa API; waits poll with generous bounds and nothing asserts on durations.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from scheduler import heartbeat
from scheduler.db import make_engine, make_session_factory
from scheduler.logs import user_ref
from scheduler.models import Reminder
from scheduler.service import ReminderService
from tests.envelopes import Envelopes
from tests.stubs.alexa_api import AlexaApiStub
from tests.test_gunicorn import stop
from tests.test_log_setup import captured  # noqa: F401 (a fixture)
from tests.test_worker_processes import wait_for

ROOT = Path(__file__).resolve().parent.parent
USER = "amzn1.ask.account.OBSERVED"
LATE_MINUTES = 3


def seed_late_reminder(database_url: str) -> None:
    """One stretch reminder whose occurrence was a few minutes ago (inside its grace window)."""
    engine = make_engine(database_url)
    service = ReminderService(make_session_factory(engine))
    (made,) = service.add(USER, "stretch", [time(21, 30)], time_zone="UTC", notifications_allowed=True)
    late = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=LATE_MINUTES)
    with make_session_factory(engine).begin() as session:
        session.execute(
            update(Reminder).where(Reminder.id == made.id).values(next_fire_at=late, visible_at=late)
        )
    engine.dispose()


@pytest.fixture
def worker(
    sqlite_url: str, alexa_stub: AlexaApiStub, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    seed_late_reminder(sqlite_url)
    log = tmp_path / "worker.log"
    beat = tmp_path / "beat" / "worker.heartbeat"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ALEXA_", "WORKER_", "REMINDER_"))}
    env = {
        **base,
        "DATABASE_URL": sqlite_url,
        "ALEXA_CLIENT_ID": alexa_stub.client_id,
        "ALEXA_CLIENT_SECRET": alexa_stub.client_secret,
        "ALEXA_API_ENDPOINT": alexa_stub.url,
        "LWA_TOKEN_URL": alexa_stub.token_url,
        "WORKER_TICK_SECONDS": "0.2",
        "WORKER_METRICS_PORT": "0",
        "WORKER_HEARTBEAT_FILE": str(beat),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "scheduler.worker"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, log, beat
    finally:
        stop(process)


def entries(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def metrics_url(log: Path) -> str | None:
    for entry in entries(log):
        found = re.search(r"worker metrics on (http://127\.0\.0\.1:\d+/metrics)", str(entry["message"]))
        if found:
            return found.group(1)
    return None


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = s.name + "".join(f"|{k}={v}" for k, v in sorted(s.labels.items()))
            values[key] = s.value
    return values


def health(env_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKER_HEARTBEAT_FILE": str(env_file)}
    return subprocess.run(
        [sys.executable, "-m", "skill.cli", "worker", "health", *extra],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_running_worker_serves_metrics_beats_and_names_its_ticks(
    worker: tuple[subprocess.Popen[bytes], Path, Path], alexa_stub: AlexaApiStub
) -> None:
    process, log, beat = worker
    url = wait_for_value(lambda: metrics_url(log), process, log)
    values = wait_for_value(lambda: _sent(url), process, log)

    assert values["cramp_coach_reminders_total|outcome=claimed"] == 1
    assert values["cramp_coach_reminders_total|outcome=sent"] == 1
    assert values["cramp_coach_oldest_due_reminder_age_seconds"] == 0
    assert values["cramp_coach_worker_tick_duration_seconds_count"] >= 1
    assert values["cramp_coach_worker_last_tick_timestamp_seconds"] > 0
    # Sent about LATE_MINUTES after its occurrence: one observation, in the right bucket.
    assert values["cramp_coach_reminder_lateness_seconds_count"] == 1
    assert LATE_MINUTES * 60 <= values["cramp_coach_reminder_lateness_seconds_sum"] < LATE_MINUTES * 60 + 120
    assert values["cramp_coach_reminder_lateness_seconds_bucket|le=120.0"] == 0
    assert values["cramp_coach_reminder_lateness_seconds_bucket|le=300.0"] == 1
    assert len(alexa_stub.events) == 1

    checked = health(beat)
    assert checked.returncode == 0, checked.stderr
    assert "alive, last beat" in checked.stdout

    # Every line of a tick carries that tick's id; lines outside a tick carry none.
    lines = entries(log)
    summaries = [
        e for e in lines if str(e["message"]).startswith("tick (") and "claimed 1" in str(e["message"])
    ]
    assert summaries and re.fullmatch(r"tick-[0-9a-f]{12}", str(summaries[0]["request_id"]))
    started = next(e for e in lines if " started: " in str(e["message"]))
    assert started["request_id"] == "-"
    assert USER not in log.read_text()


def _sent(url: str) -> dict[str, float] | None:
    values = scrape(url)
    return values if values.get("cramp_coach_reminders_total|outcome=sent") else None


def wait_for_value(probe: Callable[[], object], process: subprocess.Popen[bytes], log: Path) -> object:
    found: list[object] = []

    def ready() -> bool:
        assert process.poll() is None, f"the worker exited:\n{log.read_text()}"
        value = probe()
        if value:
            found.append(value)
        return bool(value)

    wait_for("the worker", ready)
    return found[0]


def test_health_fails_on_a_stale_or_missing_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "worker.heartbeat"
    missing = health(beat)
    assert missing.returncode == 1 and "no heartbeat at" in missing.stderr

    old = datetime.now(UTC) - timedelta(minutes=10)
    heartbeat.write(beat, worker_id="host:1:abc", at=old, max_age_s=240, last_tick="sent 3", errors=0)
    stale = health(beat)
    assert stale.returncode == 1
    assert re.search(
        r"worker host:1:abc last beat 60\d s ago \(allowed 240 s\): stuck or stopped", stale.stderr
    )
    # An operator may allow more.
    assert health(beat, "--max-age", "3600").returncode == 0

    beat.write_text("{not json")
    broken = health(beat)
    assert broken.returncode == 1 and "unreadable" in broken.stderr


def test_a_fresh_heartbeat_with_errors_is_alive_but_says_so(tmp_path: Path) -> None:
    beat = tmp_path / "worker.heartbeat"
    heartbeat.write(beat, worker_id="w", at=datetime.now(UTC), max_age_s=240, last_tick="errors 1", errors=1)
    found = heartbeat.check(beat, datetime.now(UTC))
    assert found.ok and "last tick had 1 error(s)" in found.message


def test_a_bad_metrics_port_stops_the_worker_with_a_clear_message(sqlite_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": sqlite_url, "WORKER_METRICS_PORT": "lots"}
    done = subprocess.run(
        [sys.executable, "-m", "scheduler.worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "WORKER_METRICS_PORT must be a port number (0 for any) or off, got 'lots'" in done.stderr


def test_the_default_heartbeat_threshold_follows_tick_and_lease() -> None:
    assert heartbeat.default_max_age(5, 120) == 240
    assert heartbeat.default_max_age(0.5, 10) == 60
    assert user_ref(USER).startswith("u-")


def test_one_user_is_followed_from_the_skill_to_the_worker(
    client: FlaskClient,
    envelopes: Envelopes,
    alexa_stub: AlexaApiStub,
    sqlite_url: str,
    captured: io.StringIO,  # noqa: F811 (the fixture imported above)
) -> None:
    """The skill's lines and the worker's delivery line name the same user by the same hash."""
    envelopes.api_endpoint = alexa_stub.url
    envelopes.permissions = {
        "consentToken": "consent-token",
        "scopes": {"alexa::devices:all:notifications:write": {"status": "GRANTED"}},
    }
    alexa_stub.set_time_zone(Envelopes.DEVICE_ID, "UTC")
    assert (
        client.post("/alexa", json=envelopes.skill_event("AlexaSkillEvent.SkillEnabled")).status_code == 200
    )
    request = envelopes.intent(
        "SetReminderIntent", {"kind": "stretch", "time": "21:30"}, resolved={"kind": "stretch"}
    )
    question = client.post("/alexa", json=request)
    assert question.status_code == 200
    # The reminder is set after the user's yes to its time and days.
    agreed = envelopes.intent("AMAZON.YesIntent", session_attributes=question.get_json()["sessionAttributes"])
    assert client.post("/alexa", json=agreed).status_code == 200
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    engine = make_engine(sqlite_url)
    with make_session_factory(engine).begin() as session:
        assert session.execute(update(Reminder).values(next_fire_at=due, visible_at=due)).rowcount == 1
    engine.dispose()

    # No channel credentials: the worker's log channel writes the delivery as a line.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ALEXA_", "WORKER_", "REMINDER_"))}
    env = {**base, "DATABASE_URL": sqlite_url, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    done = subprocess.run(
        [sys.executable, "-m", "scheduler.worker", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    worker_lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    delivered = [e for e in worker_lines if "logged, not sent" in e["message"]]
    skill_lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    enabled = [e for e in skill_lines if e["message"].startswith("skill enabled by user")]
    assert delivered and enabled, (worker_lines, skill_lines)
    user = user_ref(Envelopes.USER_ID)
    assert delivered[0]["user"] == enabled[0]["user"] == user
    assert delivered[0]["request_id"].startswith("tick-")
    assert Envelopes.USER_ID not in done.stderr
