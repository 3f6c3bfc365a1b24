"""End-to-end: the virtual-alexa simulator resolves spoken phrasings through the interaction model and
talks to the real skill server over HTTP (tests/e2e/*.test.mjs, run with node's test runner).

The held-out phrasings (tests/heldout/phrasings.json, written apart from the models and never read
by the generator) go through the simulator for all five locales, one node process per locale
(tests/e2e/phrasings.mjs); this file judges the answers and fails below 95% landing right.

Needs node and npm. The first run installs tests/e2e/node_modules with ``npm ci`` (from the npm
registry); later runs are offline. The skill serves on 127.0.0.1 with signature checks off (the
simulator does not sign), on a fresh migrated SQLite database, with a local stub of the Alexa APIs
answering the Settings API time-zone lookups.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from interaction_models.matcher import load as load_matcher
from scheduler.migrate import upgrade
from skill import create_app, speech
from skill.content import load_language
from tests.stubs.alexa_api import AlexaApiStub, start_stub

pytestmark = pytest.mark.simulator

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "e2e"
MODELS = ROOT / "interaction_models"
SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-0000000e2e00"
DEVICE_ID = "amzn1.ask.device.E2E-DEVICE"  # the id tests/e2e/harness.mjs gives its device
TIME_ZONE = "America/New_York"
NODE_TIMEOUT = 600  # seconds; a safety net for a hung run, not a timing assertion
HELDOUT = ROOT / "tests" / "heldout" / "phrasings.json"
LOCALES = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN")
MIN_SHARE = 0.95
BREAK = re.compile(r'<break\s+time="(\d+(?:\.\d+)?)(ms|s)"\s*/>')

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


def node_env(locale: str, skill_url: str, api_stub: AlexaApiStub, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CRAMP_SKILL_URL": skill_url,
        "CRAMP_MODEL_PATH": str(MODELS / f"{locale}.json"),
        "CRAMP_LOCALE": locale,
        "CRAMP_SKILL_ID": SKILL_ID,
        "CRAMP_API_URL": api_stub.url,
        "NO_COLOR": "1",
        **extra,
    }


@pytest.mark.parametrize("locale", ["en-US", "en-GB"])
def test_conversations_through_the_simulator(
    locale: str, node_modules: None, skill_url: str, api_stub: AlexaApiStub
) -> None:
    assert NODE is not None
    env = node_env(locale, skill_url, api_stub)
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


# --- The held-out phrasings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    id: str
    say: str
    right: bool
    why: str


def words_of(ssml: str | None) -> str:
    return speech.plain(ssml).lower() if ssml else ""


def well_formed(line: dict[str, Any]) -> list[str]:
    """What Alexa would refuse or the user would miss: invalid SSML, no reprompt on an open session."""
    problems: list[str] = []
    for what in ("speech", "reprompt"):
        ssml = line.get(what)
        if ssml is None:
            continue
        try:
            root = ET.fromstring(ssml)
        except ET.ParseError as exc:
            problems.append(f"{what} is not valid SSML ({exc})")
            continue
        if root.tag != "speak" or len(ssml) > 8000:
            problems.append(f"{what} is not one <speak> document within 8,000 characters")
        for amount, unit in BREAK.findall(ssml):
            if float(amount) / (1000 if unit == "ms" else 1) > 10:
                problems.append(f"{what} has a break over Alexa's 10 s")
    if not words_of(line.get("speech")):
        problems.append("says nothing")
    if not line.get("ended") and not words_of(line.get("reprompt")):
        problems.append("open session without a reprompt")
    return problems


def judge(entry: dict[str, Any], line: dict[str, Any]) -> Verdict:
    """Right: the simulator understood it, the answer is well formed, says one word of every must
    group and none of the must-not words."""
    if not line.get("matched"):
        return Verdict(entry["id"], entry["say"], False, f"{line.get('failure')}: {line.get('error')}")
    problems = well_formed(line)
    said = words_of(line["speech"])
    for group in entry["must"]:
        if not any(word in said for word in group):
            problems.append(f"none of {group}")
    problems += [f"says {bad!r}" for bad in entry["must_not"] if bad in said]
    why = "; ".join(problems) or "right"
    return Verdict(entry["id"], entry["say"], not problems, f"{line['intent']} {line['slots']}: {why}")


@pytest.fixture(scope="module")
def heldout() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(HELDOUT.read_text(encoding="utf-8"))
    return entries


@pytest.fixture(scope="module")
def heard(node_modules: None, skill_url: str, api_stub: AlexaApiStub) -> dict[str, dict[str, dict[str, Any]]]:
    """locale -> phrasing id -> what the simulator matched and the skill said."""
    said = say_in_every_locale(HELDOUT, skill_url, api_stub)
    return {locale: {line["id"]: line for line in lines} for locale, lines in said.items()}


def say_in_every_locale(
    phrasings: Path, skill_url: str, api_stub: AlexaApiStub
) -> dict[str, list[dict[str, Any]]]:
    """locale -> one line per phrasing of the file, said through tests/e2e/phrasings.mjs.

    One node process a locale, the five at once (they overlap waiting on the server), one server.
    """
    assert NODE is not None
    runs = {
        locale: subprocess.Popen(
            [NODE, "phrasings.mjs"],
            cwd=E2E,
            env=node_env(locale, skill_url, api_stub, CRAMP_PHRASINGS=str(phrasings)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for locale in LOCALES
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for locale, run in runs.items():
        stdout, stderr = run.communicate(timeout=NODE_TIMEOUT)
        assert run.returncode == 0, f"phrasings.mjs failed for {locale}:\n{stdout}\n{stderr}"
        out[locale] = [json.loads(line) for line in stdout.splitlines()]
    return out


@pytest.mark.parametrize("locale", LOCALES)
def test_heldout_phrasings_land_right(
    locale: str,
    heard: dict[str, dict[str, dict[str, Any]]],
    heldout: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = heard[locale]
    assert set(lines) == {e["id"] for e in heldout}, "every phrasing was said once"

    verdicts = [judge(entry, lines[entry["id"]]) for entry in heldout]
    right = sum(v.right for v in verdicts)
    share = right / len(verdicts)
    report = f"held-out phrasings, {locale}: {right}/{len(verdicts)} land right ({share:.1%})"
    misses = [f"{v.id} {v.say!r}: {v.why}" for v in verdicts if not v.right]
    with capsys.disabled():
        # Into the pytest output whether the test passes or not: the figure the README quotes.
        print(f"\n{report}")
    print("\n".join(misses))  # shown with the failure, or with pytest -s

    # Whatever lands where, Alexa must accept every answer.
    malformed = [f"{i}: {p}" for i, line in lines.items() if line.get("matched") for p in well_formed(line)]
    assert malformed == []
    assert share >= MIN_SHARE, f"{report}\n" + "\n".join(misses)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_python_matcher_agrees_with_the_simulator(
    locale: str, heard: dict[str, dict[str, dict[str, Any]]]
) -> None:
    """interaction_models/matcher.py picks what virtual-alexa picked for each held-out phrasing."""
    matcher = load_matcher(MODELS / f"{locale}.json")
    disagree = []
    compared = 0
    for line in heard[locale].values():
        if line.get("failure") == "failed":
            continue  # the simulator matched, then the request failed: judged by the test above
        compared += 1
        ours = matcher.match(line["say"])
        theirs = (line["intent"], line["slots"]) if line["matched"] else None
        mine = (ours.intent, ours.slots) if ours else None
        if mine != theirs:
            disagree.append(f"{line['say']!r}: matcher {mine}, virtual-alexa {theirs}")
    assert compared >= 0.9 * len(heard[locale])
    assert disagree == []


# --- "How am I doing?" in every locale ------------------------------------------------------------

# Ways to ask after the habit, said after tonight's routine is done; none is a held-out phrasing.
PROGRESS_PHRASINGS = (
    "how am I doing",
    "how am I getting on",
    "how am I going",
    "how have I been doing",
    "how have I been getting on with my stretches",
    "what's my streak",
    "how's my streak looking",
    "show me my progress",
    "how many nights have I done my routine",
    "how many nights in a row have I done my stretches",
    "did I do my stretches last night",
    "am I keeping up with my bedtime routine",
    "how is my routine going",
)


@pytest.fixture(scope="module")
def progress_heard(
    node_modules: None, skill_url: str, api_stub: AlexaApiStub, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """locale -> what the simulator matched and the skill said, for each progress phrasing."""
    entries = [{"id": f"p{i}", "say": text, "needs": "finished"} for i, text in enumerate(PROGRESS_PHRASINGS)]
    path = tmp_path_factory.mktemp("progress") / "phrasings.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return say_in_every_locale(path, skill_url, api_stub)


@pytest.mark.parametrize("locale", LOCALES)
def test_how_am_i_doing_is_understood_in_every_locale(
    locale: str, progress_heard: dict[str, list[dict[str, Any]]]
) -> None:
    words = load_language("en")
    lines = progress_heard[locale]
    assert [line["say"] for line in lines] == list(PROGRESS_PHRASINGS)
    for line in lines:
        assert line["matched"], f"{line['say']!r}: {line.get('error')}"
        assert line["intent"] == "ProgressIntent", line
        assert well_formed(line) == [], line
        said = words_of(line["speech"])
        # Tonight's routine, done just before, is the one night of the two weeks.
        assert words.text("habit.progress.one").lower() in said, said
        assert words.text("habit.progress.tonight_done").lower() in said, said


# --- What the skill tells people to say -----------------------------------------------------------

# "say: start my routine.", "ask: how do I prevent leg cramps?": up to the end of the sentence (a
# period after a single letter, as in "p.m.", does not end it).
SUGGESTION = re.compile(r"\b(?:say|ask|asking)(?: something like)?: (.+?)(?<!\b[a-z])[.?!](?=\s|$)", re.I)


def suggestions() -> dict[str, str]:
    """Every suggestion in the spoken content, by where it is: the launch phrases people learn."""
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")
        elif isinstance(node, str):
            for number, match in enumerate(SUGGESTION.finditer(node)):
                found[f"{path}#{number}"] = match.group(1)

    words = load_language("en")
    walk({area: tree for area, tree in words.tree.items() if area != "vocabulary"}, "")
    return found


def test_the_content_suggests_things_to_say_and_help_gives_two() -> None:
    found = suggestions()
    assert len(set(found.values())) >= 6, found
    help_says = [text for where, text in found.items() if where.startswith("prompts.help#")]
    assert len(help_says) >= 2, help_says


def test_every_suggestion_the_skill_makes_works(
    node_modules: None, skill_url: str, api_stub: AlexaApiStub
) -> None:
    """Said as suggested, each one is understood and gets its own answer, not the fallback."""
    assert NODE is not None
    said = sorted(set(suggestions().values()))
    entries = [{"id": f"s{i}", "say": text} for i, text in enumerate(said)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(entries, handle)
    try:
        run = subprocess.run(
            [NODE, "phrasings.mjs"],
            cwd=E2E,
            env=node_env("en-US", skill_url, api_stub, CRAMP_PHRASINGS=handle.name),
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
        )
    finally:
        os.unlink(handle.name)
    assert run.returncode == 0, run.stderr
    fallback = speech.plain(load_language("en").say("prompts.fallback")).lower()
    problems = []
    for line in map(json.loads, run.stdout.splitlines()):
        heard = words_of(line.get("speech"))
        if not line["matched"]:
            problems.append(f"{line['say']!r}: {line['error']}")
        elif fallback in heard or well_formed(line):
            problems.append(f"{line['say']!r}: {line['intent']} answered {heard[:80]!r} {well_formed(line)}")
        elif line["say"].startswith(("start my routine", "walk me through")) and "step 1." not in heard:
            problems.append(f"{line['say']!r}: the routine did not start")
    assert problems == []
