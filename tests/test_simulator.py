"""End-to-end: the virtual-alexa simulator resolves spoken phrasings through the interaction model and
talks to the real skill server over HTTP (tests/e2e/*.test.mjs, run with node's test runner).

Needs node and npm. The first run installs tests/e2e/node_modules with ``npm ci`` (from the npm
registry); later runs are offline. The skill serves on 127.0.0.1 with signature checks off (the
simulator does not sign), on a fresh migrated SQLite database, with a local stub of the Alexa APIs
answering the Settings API time-zone lookups.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from scheduler.migrate import upgrade
from skill import create_app
from tests.stubs.alexa_api import AlexaApiStub, start_stub

pytestmark = pytest.mark.simulator

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "e2e"
MODELS = ROOT / "interaction_models"
SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-0000000e2e00"
DEVICE_ID = "amzn1.ask.device.E2E-DEVICE"  # the id tests/e2e/harness.mjs gives its device
TIME_ZONE = "America/New_York"
NODE_TIMEOUT = 600  # seconds; a safety net for a hung run, not a timing assertion

NODE = shutil.which("node")
NPM = shutil.which("npm")


def _install() -> None:
    """``npm ci`` once (under a lock, as several test runs may share the tree)."""
    assert NPM is not None
    lock_path = (
        Path(tempfile.gettempdir())
        / f"cramp-coach-e2e-{hashlib.sha1(str(E2E).encode()).hexdigest()[:12]}.lock"
    )
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (E2E / "node_modules" / "virtual-alexa" / "package.json").exists():
            return
        result = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund"],
            cwd=E2E,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
        )
        assert result.returncode == 0, f"npm ci failed in {E2E}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def node_modules() -> None:
    if NODE is None or NPM is None:
        pytest.skip("node and npm are needed for the virtual-alexa simulator tests (not found on PATH)")
    _install()


@pytest.fixture(scope="module")
def api_stub() -> Iterator[AlexaApiStub]:
    stub = start_stub(default_time_zone=TIME_ZONE)
    stub.set_time_zone(DEVICE_ID, TIME_ZONE)
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture(scope="module")
def skill_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real skill, served by werkzeug on 127.0.0.1 (a free port) in a thread."""
    database = tmp_path_factory.mktemp("e2e") / "cramp_coach.db"
    url = f"sqlite:///{database}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "ALEXA_VERIFY_REQUESTS": "false", "ALEXA_SKILL_ID": SKILL_ID})
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="skill-e2e", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alexa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("locale", ["en-US", "en-GB"])
def test_conversations_through_the_simulator(
    locale: str, node_modules: None, skill_url: str, api_stub: AlexaApiStub
) -> None:
    assert NODE is not None
    env = {
        **os.environ,
        "CRAMP_SKILL_URL": skill_url,
        "CRAMP_MODEL_PATH": str(MODELS / f"{locale}.json"),
        "CRAMP_LOCALE": locale,
        "CRAMP_SKILL_ID": SKILL_ID,
        "CRAMP_API_URL": api_stub.url,
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [NODE, "--test", "--test-reporter=spec"],
        cwd=E2E,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
    )
    output = f"{result.stdout}\n{result.stderr}"
    print(output)  # shown with pytest -s
    assert result.returncode == 0, f"node --test failed for {locale} (exit {result.returncode}):\n{output}"
