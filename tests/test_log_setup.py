"""One logging set-up for every process: checked levels, one format, a host's own set-up kept."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scheduler.log_setup import configure_logging, log_level, logging_config
from skill.cli import main

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


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
    assert LINE.match(lines[0]) and lines[0].endswith("INFO skill.handlers.events: an info line")
