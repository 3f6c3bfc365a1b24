"""One logging set-up for every process: checked levels, one format, a host's own set-up kept."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from scheduler.log_setup import JsonFormatter, configure_logging, log_level, logging_config
from scheduler.logs import ContextFilter, user_ref
from skill.cli import main
from tests.envelopes import Envelopes

# time, level, [request id, user hash], logger: the text format every process writes.
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
    r"\[(?P<request>[\w.:-]+) (?P<user>u-[0-9a-f]{12}|u-none|-)\] [\w.]+: "
)


def test_level_defaults_to_info_and_accepts_any_case() -> None:
    assert log_level({}) == "INFO"
    assert log_level({"LOG_LEVEL": " warning "}) == "WARNING"
    assert logging_config({"LOG_LEVEL": "debug"})["root"]["level"] == "DEBUG"


def test_a_bad_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        log_level({"LOG_LEVEL": "loud"})


def test_the_cli_refuses_a_bad_level(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOG_LEVEL", "loud")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "LOG_LEVEL must be one of" in result.output
    assert not (tmp_path / "x.db").exists()


def test_a_host_that_set_up_logging_keeps_its_handlers() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    assert before, "pytest installs its capture handlers on the root logger"
    configure_logging({"LOG_LEVEL": "INFO"})
    assert root.handlers == before


def test_a_bare_process_gets_one_stderr_handler_with_the_format(tmp_path: Path) -> None:
    code = (
        "import logging\n"
        "from scheduler.log_setup import configure_logging\n"
        "configure_logging()\n"
        "logging.getLogger('skill.handlers.events').info('an info line')\n"
        "logging.getLogger('scheduler.worker').debug('a debug line')\n"
    )
    env = {**os.environ, "LOG_LEVEL": "INFO"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert LINE.match(lines[0]) and lines[0].endswith("INFO [- -] skill.handlers.events: an info line")


def test_a_bad_format_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json"):
        logging_config({"LOG_FORMAT": "xml"})
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "LOG_FORMAT must be one of text, json, got 'xml'" in result.output


def test_json_lines_are_one_object_each_with_the_context(tmp_path: Path) -> None:
    code = (
        "import logging\n"
        "from scheduler.log_setup import configure_logging\n"
        "from scheduler.logs import log_context, user_ref\n"
        "configure_logging()\n"
        "log = logging.getLogger('scheduler.dispatch')\n"
        "log.info('outside')\n"
        "with log_context(request_id='tick-abc', user=user_ref('amzn1.ask.account.X')):\n"
        "    log.warning('inside %s', 'a\\nb')\n"
        "    try:\n"
        "        1 / 0\n"
        "    except ZeroDivisionError:\n"
        "        log.exception('it failed')\n"
        "log.info('after')\n"
    )
    env = {**os.environ, "LOG_LEVEL": "INFO", "LOG_FORMAT": "JSON"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 4, lines
    entries = [json.loads(line) for line in lines]
    hashed = user_ref("amzn1.ask.account.X")
    assert [(e["request_id"], e["user"], e["message"]) for e in entries] == [
        ("-", "-", "outside"),
        ("tick-abc", hashed, "inside a\nb"),
        ("tick-abc", hashed, "it failed"),
        ("-", "-", "after"),
    ]
    assert entries[1]["level"] == "WARNING" and entries[1]["logger"] == "scheduler.dispatch"
    assert "ZeroDivisionError" in entries[2]["exception"]
    assert entries[0]["time"].endswith("+00:00")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's lines as a process configured by logging_config writes them (JSON)."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _entries(sink: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def test_every_line_of_a_request_names_the_request_and_the_user(
    client: FlaskClient, envelopes: Envelopes, captured: io.StringIO
) -> None:
    enabled = client.post("/alexa", json=envelopes.skill_event("AlexaSkillEvent.SkillEnabled"))
    assert enabled.status_code == 200
    first = enabled.headers["X-Request-ID"]
    replayed = envelopes.launch()
    assert client.post("/alexa", json=replayed).status_code == 200
    refused = client.post("/alexa", json=replayed)  # the same requestId again
    assert refused.status_code == 400
    second = refused.headers["X-Request-ID"]
    assert first != second and re.fullmatch(r"[0-9a-f]{12}", first)

    entries = _entries(captured)
    user = user_ref(Envelopes.USER_ID)
    enabled_line = next(e for e in entries if e["message"].startswith("skill enabled by user"))
    refused_line = next(e for e in entries if "request already received" in e["message"])
    assert (enabled_line["request_id"], enabled_line["user"]) == (first, user)
    assert (refused_line["request_id"], refused_line["user"]) == (second, user)
    # The user's id itself is never written; the hash is.
    assert Envelopes.USER_ID not in captured.getvalue()


def test_a_proxys_request_id_is_kept_when_it_is_a_plain_token(
    client: FlaskClient, envelopes: Envelopes, captured: io.StringIO
) -> None:
    given = client.post("/alexa", json=envelopes.launch(), headers={"X-Request-ID": "caddy-7f3a.1"})
    assert given.headers["X-Request-ID"] == "caddy-7f3a.1"
    forged = client.post("/alexa", data=b"{", headers={"X-Request-ID": "x ERROR <forged>" + "a" * 80})
    assert forged.status_code == 400
    assert re.fullmatch(r"[0-9a-f]{12}", forged.headers["X-Request-ID"])
    refusal = next(e for e in _entries(captured) if "refused request" in e["message"])
    assert refusal["request_id"] == forged.headers["X-Request-ID"] and refusal["user"] == "-"
