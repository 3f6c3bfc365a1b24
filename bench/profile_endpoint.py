"""Where one POST /alexa spends its time: the benchmark's traffic through the app in this process.

    python bench/profile_endpoint.py [--requests 6000] [--users 2000] [--top 25] [--raw FILE]

The app is built as the HTTP benchmark's server (c) builds it (verification on with the test CA,
per-user state on SQLite, the users seeded), and the signed requests (half LaunchRequest, half a
slot-bearing CausesIntent) go straight into its WSGI callable, so no server or client is counted.
Half the requests run alone, for an honest rate; during the other half py-spy samples this process
from outside (no per-call overhead, so cheap functions are not inflated). Each sample is put in the
first category below found on its stack, and the table gives each category's share of the samples;
``--top`` lists the functions most often on top of the stack. Needs py-spy (in the dev extra) and
permission to trace this process (root, or ptrace allowed).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import alexa_traffic
from common import database
from revisions import export_revision
from werkzeug.test import EnvironBuilder

import skill
from skill import create_app
from tests.certs import make_pki

Frame = tuple[str, str]  # (function, file)

# (category, does this frame belong to it): of the categories found anywhere on a sample's stack the
# first in this list wins, so database time spent inside the SDK's dispatch counts as database.
CATEGORIES: list[tuple[str, Callable[[Frame], bool]]] = [
    ("database (SQLAlchemy, sqlite3/psycopg)", lambda f: _in(f, "sqlalchemy/", "sqlite3/", "psycopg/")),
    ("verification (signature, checks)", lambda f: _in(f, "skill/verification.py")),
    # Before deserialisation: the envelope serializer (skill/serializer.py) does both.
    (
        "SDK serialisation (response)",
        lambda f: _in(f, "ask_sdk_core/serialize.py", "skill/serializer.py") and _writes(f),
    ),
    (
        "SDK deserialisation (request envelope)",
        lambda f: (
            _in(f, "skill/serializer.py", "dateutil/")
            or (_in(f, "ask_sdk_core/serialize.py") and "deserialize" in f[0])
        ),
    ),
    ("handlers, content, speech", lambda f: _in(f, "skill/handlers/", "skill/content/", "skill/speech.py")),
    ("interceptors, persistence adapter", lambda f: _in(f, "skill/interceptors.py", "skill/persistence.py")),
    ("SDK dispatch (handler lookup, handler input)", lambda f: _in(f, "ask_sdk_core/", "ask_sdk_runtime/")),
    ("endpoint view (JSON parse, checks, jsonify)", lambda f: _in(f, "skill/endpoint.py")),
    ("Flask and Werkzeug", lambda f: _in(f, "flask/", "werkzeug/")),
]
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*):\d+\)$")


def _writes(frame: Frame) -> bool:
    return ("serialize" in frame[0] and "deserialize" not in frame[0]) or "write" in frame[0]


def _in(frame: Frame, *parts: str) -> bool:
    return any(part in frame[1] for part in parts)


def read_samples(raw: Path) -> Counter[tuple[Frame, ...]]:
    """py-spy's raw output: one stack a line, root first, frames "function (file:line)", then a count."""
    stacks: Counter[tuple[Frame, ...]] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = []
        for text in stack.split(";"):
            match = _FRAME.match(text)
            frames.append((match["function"], match["file"]) if match else (text, ""))
        stacks[tuple(frames)] += int(count)
    return stacks


def shares(stacks: Counter[tuple[Frame, ...]]) -> dict[str, float]:
    totals: Counter[str] = Counter({name: 0 for name, _ in CATEGORIES})
    for stack, count in stacks.items():
        name = next((n for n, match in CATEGORIES if any(match(f) for f in stack)), "other")
        totals[name] += count
    whole = sum(totals.values()) or 1
    return {name: value / whole for name, value in totals.items()}


def top_functions(stacks: Counter[tuple[Frame, ...]], count: int) -> list[tuple[str, float]]:
    leaves: Counter[str] = Counter()
    for stack, n in stacks.items():
        function, file = stack[-1]
        leaves[f"{function} ({_short(file)})"] += n
    whole = sum(leaves.values()) or 1
    return [(name, n / whole) for name, n in leaves.most_common(count)]


def _short(path: str) -> str:
    for marker in ("site-packages/", "endpoint-perf/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def environs(bodies: list[alexa_traffic.Signed], cert_url: str) -> list[dict[str, Any]]:
    out = []
    for signed in bodies:
        builder = EnvironBuilder(
            path="/alexa",
            method="POST",
            data=signed.body,
            headers=alexa_traffic.headers(signed, cert_url),
            environ_overrides={"REMOTE_ADDR": "127.0.0.1"},
        )
        out.append(builder.get_environ())
        builder.close()
    return out


def drive(app: Any, batch: list[dict[str, Any]]) -> None:
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return None

    for environ in batch:
        environ["wsgi.input"].seek(0)
        for _chunk in app(environ, start_response):
            pass
        if not statuses[-1].startswith("200"):
            raise SystemExit(f"request refused: {statuses[-1]}")


def sample(run: Callable[[], None], raw: Path, rate: int) -> None:
    """Run ``run`` while py-spy samples this process into ``raw``."""
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(os.getpid()),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--full-filenames",
            "-o",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # attached by then; samples of this idle wait are not recorded
    if spy.poll() is not None:
        raise SystemExit(f"py-spy could not attach: {spy.stderr.read() if spy.stderr else ''}")
    try:
        run()
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def profile_revision(revision: str, argv: list[str]) -> None:
    """Runs this script again with the project as it is at ``revision`` imported instead."""
    skip = ("--baseline-rev", "--raw")
    own = [a for i, a in enumerate(argv) if not a.startswith(skip) and (i == 0 or argv[i - 1] not in skip)]
    with tempfile.TemporaryDirectory() as tmp:
        source = export_revision(revision, Path(tmp) / "source")
        print(f"=== the project at {revision} ===", flush=True)
        env = {**os.environ, "PYTHONPATH": str(source)}
        subprocess.run([sys.executable, __file__, *own], env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000, help="half timed alone, half sampled")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25, help="how many top-of-stack functions to list")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw stacks here (for a flame graph)")
    parser.add_argument("--baseline-rev", help="first profile the project at this git revision, e.g. main")
    args = parser.parse_args()
    if args.baseline_rev:
        profile_revision(args.baseline_rev, sys.argv[1:])
        print("\n=== this working tree ===")

    users = alexa_traffic.user_ids(args.users)
    with database(args.backend) as url:
        alexa_traffic.seed_users(url, users)
        pki = make_pki()
        app = create_app(
            {
                "DATABASE_URL": url,
                "ALEXA_SKILL_ID": alexa_traffic.pki_files.SKILL_ID,
                "VERIFIER_ROOTS": [pki.root],
                "CERT_FETCH": pki.fetch,
            }
        )
        warm = environs(alexa_traffic.signed_requests(200, users), pki.cert_url)
        batch = environs(alexa_traffic.signed_requests(args.requests, users), pki.cert_url)
        drive(app, warm)
        half = len(batch) // 2
        started, cpu_started = time.perf_counter(), time.process_time()
        drive(app, batch[:half])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        with tempfile.TemporaryDirectory() as tmp:
            raw = args.raw or Path(tmp) / "py-spy.txt"
            sample(lambda: drive(app, batch[half:]), raw, args.rate)
            stacks = read_samples(raw)

    print(f"project imported from {Path(skill.__file__).parent.parent}")
    print(
        f"{half} signed requests in process on {args.backend} ({args.users} users): "
        f"{half / elapsed:.0f} req/s, {elapsed / half * 1e6:.0f} us each ({cpu / half * 1e6:.0f} us CPU); "
        f"then {len(batch) - half} sampled by py-spy ({sum(stacks.values())} samples)"
    )
    print(f"{'where the time goes':48} {'share':>6}")
    for name, share in sorted(shares(stacks).items(), key=lambda item: -item[1]):
        print(f"{name:48} {share:6.1%}")
    if args.top:
        print(f"\n{'top of the stack':80} {'share':>6}")
        for name, share in top_functions(stacks, args.top):
            print(f"{name[:80]:80} {share:6.1%}")


if __name__ == "__main__":
    main()
