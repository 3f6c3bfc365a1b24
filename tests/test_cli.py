"""The command line, through click's runner (in process) and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from skill.cli import main


def test_db_upgrade_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"users", "reminders", "deliveries", "skill_state", "alembic_version"} <= tables
    # Running it again is harmless.
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0


def test_serve_refuses_a_bad_setting_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEXA_VERIFY_REQUESTS", "maybe")
    result = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert result.exit_code != 0
    assert "ALEXA_VERIFY_REQUESTS must be true or false" in result.output


def test_worker_refuses_half_set_credentials(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
        "ALEXA_CLIENT_ID": "only-the-id",
    }
    env.pop("ALEXA_CLIENT_SECRET", None)
    done = subprocess.run(
        [sys.executable, "-m", "skill.cli", "worker", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ALEXA_CLIENT_SECRET" in done.stderr


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "worker", "run", "db"):
        assert command in result.output


def test_run_refuses_a_bad_worker_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/r.db")
    monkeypatch.setenv("WORKER_BATCH_SIZE", "0")
    result = CliRunner().invoke(main, ["run", "--port", "0"])
    assert result.exit_code != 0
    assert "WORKER_BATCH_SIZE" in result.output
