"""The skill under gunicorn with the project's settings: it serves, and its INFO lines are kept,
in the same format as the ``cramp-coach`` commands (gunicorn alone would drop them)."""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scheduler.logs import user_ref
from tests.envelopes import Envelopes
from tests.test_log_setup import LINE

LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module("skill.gunicorn_conf")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = settings(
        monkeypatch,
        WEB_BIND="127.0.0.1:9001, unix:/run/cramp/web.sock",
        WEB_CONCURRENCY="3",
        WEB_THREADS="8",
        WEB_TIMEOUT="20",
    )
    assert conf["wsgi_app"] == "skill:create_app()"
    assert conf["bind"] == ["127.0.0.1:9001", "unix:/run/cramp/web.sock"]
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (3, 8, 20)
    assert conf["worker_class"] == "gthread"


def test_defaults_listen_on_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEB_BIND", "WEB_CONCURRENCY", "WEB_THREADS", "WEB_TIMEOUT", "WEB_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    conf = settings(monkeypatch)
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == 2 * (os.cpu_count() or 1)
    assert conf["logconfig_dict"]["loggers"]["gunicorn.access"]["level"] == "INFO"


def test_access_lines_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = settings(monkeypatch, WEB_ACCESS_LOG="false")
    assert conf["logconfig_dict"]["loggers"]["gunicorn.access"]["level"] == "WARNING"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEB_THREADS", "many", "WEB_THREADS must be a whole number from 1 to 64"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be a whole number from 1 to 64"),
        ("WEB_ACCESS_LOG", "sometimes", "WEB_ACCESS_LOG must be true or false"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL must be one of"),
    ],
)
def test_a_bad_setting_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        settings(monkeypatch, **{name: value})


@contextmanager
def running_gunicorn(sqlite_url: str, tmp_path: Path, **settings: str) -> Iterator[tuple[str, Path]]:
    """gunicorn with the packaged settings on a free loopback port; yields its URL and log file."""
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "ALEXA_VERIFY_REQUESTS": "false",
        "ALEXA_SKILL_ID": Envelopes.SKILL_ID,
        "WEB_BIND": "127.0.0.1:0",  # the kernel picks a free port; gunicorn logs it
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "LOG_LEVEL": "INFO",
        **settings,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:skill.gunicorn_conf"]
    with log.open("w") as sink:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT)
    try:
        url = wait_for(lambda: _listening(log), process)
        wait_for(lambda: _healthy(url), process)
        yield url, log
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within 30 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def gunicorn(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with running_gunicorn(sqlite_url, tmp_path) as running:
        yield running


def wait_for(probe: Any, process: subprocess.Popen[bytes] | None = None, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process is None or process.poll() is None, "gunicorn exited early"
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting after {seconds} s")


def _listening(log: Path) -> str | None:
    found = LISTENING.search(log.read_text())
    return found.group(1) if found else None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_under_gunicorn_info_lines_are_kept_in_the_one_format(
    gunicorn: tuple[str, Path], envelopes: Envelopes
) -> None:
    url, log = gunicorn
    body = json.dumps(envelopes.skill_event("AlexaSkillEvent.SkillEnabled")).encode()
    request = urllib.request.Request(f"{url}/alexa", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        request_id = response.headers["X-Request-ID"]
    # gunicorn writes the access line after the answer is sent: wait for both.
    lines = wait_for(lambda: _lines_with(log, "skill enabled by user", "POST /alexa"))
    for line in lines:
        assert LINE.match(line), line
    booting = [line for line in lines if "gunicorn.error: Booting worker" in line]
    access = [
        line for line in lines if "INFO" in line and "gunicorn.access:" in line and "POST /alexa" in line
    ]
    enabled = [line for line in lines if "INFO" in line and "events: skill enabled by user" in line]
    assert booting and access and enabled, lines
    # The skill's line and gunicorn's access line, written after the answer, name the same request
    # and the same user.
    user = user_ref(Envelopes.USER_ID)
    for line in (access[0], enabled[0]):
        found = LINE.match(line)
        assert found is not None
        assert (found["request"], found["user"]) == (request_id, user), line


def _lines_with(log: Path, *words: str) -> list[str] | None:
    lines = log.read_text().splitlines()
    return lines if all(any(w in line for line in lines) for w in words) else None


def test_the_checkouts_gunicorn_conf_is_the_packaged_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain `gunicorn` in a checkout reads ./gunicorn.conf.py: it must hold the same settings."""
    monkeypatch.setenv("WEB_THREADS", "3")
    packaged = settings(monkeypatch)
    checkout = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    # The file imported the module for real; later run_module calls want it unimported.
    sys.modules.pop("skill.gunicorn_conf", None)
    names = set(packaged["__all__"])
    assert {name: _comparable(checkout[name]) for name in names} == {
        name: _comparable(packaged[name]) for name in names
    }
    assert checkout["threads"] == 3


def _comparable(setting: Any) -> Any:
    # Hooks are functions: the same one when it is the same code.
    return setting.__code__ if callable(setting) else setting
