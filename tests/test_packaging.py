"""A normal install works on its own: the wheel, installed into a fresh virtual environment away
from this checkout, migrates a new database, writes the skill package and loads its gunicorn
settings, run from an empty folder.

To stay fast and offline the fresh environment borrows the development environment's installed
dependencies (a ``.pth`` line naming its site-packages) and the wheel is installed without them.
A ``.pth`` line only adds a folder to ``sys.path``; the ``.pth`` files inside that folder are not
run, so the editable install's finder, which maps ``skill`` to this checkout, stays inactive.
The test checks that: every package must load from the fresh environment.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from scheduler.migrate import alembic_config, migrations_dir

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("skill", "scheduler", "interaction_models")
LOCALES = ("en-AU", "en-CA", "en-GB", "en-IN", "en-US")


@dataclass
class Installed:
    wheel: Path
    venv: Path
    site_packages: Path
    borrowed: set[str]
    cwd: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=120
        )

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def _checked(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    # Build from a copy, so the build's own folders (build/, *.egg-info) never land in the checkout.
    source = base / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", "*.db"
        ),
    )
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip"]
    _checked([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(source)])
    (wheel,) = dist.glob("cramp_coach-*.whl")

    venv = base / "venv"
    _checked([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _checked([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)])
    (site_packages,) = (venv / "lib").glob("python3*/site-packages")
    # Only now, so that pip above saw an environment without the editable copy's metadata.
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "dev_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")

    cwd = base / "elsewhere"
    cwd.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(base),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{cwd / 'fresh.db'}",
    }
    return Installed(wheel, venv, site_packages, dependencies, cwd, env)


def test_the_wheel_holds_the_migrations_models_and_data_but_not_the_tests(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        "scheduler/migrations/env.py",
        "scheduler/migrations/script.py.mako",
        "scheduler/migrations/versions/0001_initial_schema.py",
        "skill/content/en/topics.json",
        "skill/apl/step.json",
        "skill/publishing/listing.json",
        "skill/publishing/pages/privacy.html",
        "skill/publishing/pages/terms.html",
        *(f"interaction_models/{locale}.json" for locale in LOCALES),
    }
    assert expected <= names, sorted(expected - names)
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    metadata = zipfile.ZipFile(installed.wheel).read("cramp_coach-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata
    assert "cramp_coach-0.1.0.dist-info/licenses/LICENSE" in names


def test_packages_load_from_the_fresh_environment_not_the_checkout(installed: Installed) -> None:
    probe = (
        "import json, sys, " + ", ".join(PACKAGES) + "; "
        "print(json.dumps({'files': {m: sys.modules[m].__file__ for m in " + repr(PACKAGES) + "}, "
        "'path': sys.path}))"
    )
    done = installed.run(installed.python, "-c", probe)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    for name, file in seen["files"].items():
        assert Path(file).is_relative_to(installed.site_packages), f"{name} loaded from {file}"
    # The borrowed dependency folder may sit inside the checkout (.venv); nothing else may.
    leaks = [
        entry
        for entry in seen["path"]
        if entry and entry not in installed.borrowed and Path(entry).resolve().is_relative_to(ROOT)
    ]
    assert leaks == []


def test_help_lists_every_command(installed: Installed) -> None:
    done = installed.run("cramp-coach", "--help")
    assert done.returncode == 0, done.stderr
    for command in ("serve", "worker", "run", "db", "skill-package"):
        assert command in done.stdout


def test_db_upgrade_migrates_a_new_sqlite_file(installed: Installed) -> None:
    done = installed.run("cramp-coach", "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "database is up to date" in done.stderr
    database = installed.cwd / "fresh.db"
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"users", "reminders", "deliveries", "skill_state"} <= tables
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_skill_package_copies_the_packaged_models(installed: Installed) -> None:
    done = installed.run(
        "cramp-coach", "skill-package", "out", "--endpoint", "https://coach.example.org/alexa"
    )
    assert done.returncode == 0, done.stderr
    package = installed.cwd / "out" / "skill-package"
    manifest = json.loads((package / "skill.json").read_text())["manifest"]
    assert manifest["apis"]["custom"]["endpoint"]["uri"] == "https://coach.example.org/alexa"
    for locale in LOCALES:
        copied = (package / "interactionModels" / "custom" / f"{locale}.json").read_bytes()
        assert copied == (ROOT / "interaction_models" / f"{locale}.json").read_bytes(), locale


def test_gunicorn_loads_the_packaged_settings(installed: Installed) -> None:
    env = {**installed.env, "ALEXA_VERIFY_REQUESTS": "false"}
    done = subprocess.run(
        [installed.python, "-m", "gunicorn", "-c", "python:skill.gunicorn_conf", "--check-config"],
        cwd=installed.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_alembic_ini_points_at_the_same_migrations() -> None:
    """Developers' `alembic revision` and `cramp-coach db upgrade` see one history."""
    by_hand = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    assert Path(by_hand.dir).resolve() == migrations_dir().resolve()
    assert by_hand.get_heads() == ScriptDirectory.from_config(alembic_config()).get_heads()


def test_checkout_has_no_migrations_outside_the_package() -> None:
    assert not (ROOT / "migrations").exists(), "migrations live in scheduler/migrations/"
    assert os.path.isfile(migrations_dir() / "env.py")
