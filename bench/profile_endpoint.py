"""Where one POST /alexa spends its time: the benchmark's traffic through the app in this process.

    python bench/profile_endpoint.py [--requests 4000] [--users 2000] [--tree]

The app is built as the HTTP benchmark's server (c) builds it (verification on with the test CA,
per-user state on SQLite, the users seeded), and the signed requests (half LaunchRequest, half a
slot-bearing CausesIntent) go straight into its WSGI callable, so no server or client is counted.
pyinstrument samples the run; each sample is put in the first category of its stack, in the order
below, and the table gives each category's share of the time. ``--tree`` also prints the call tree.
Needs pyinstrument (in the dev extra).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from typing import Any

import alexa_traffic
from common import database
from pyinstrument import Profiler
from pyinstrument.frame import Frame
from werkzeug.test import EnvironBuilder

from skill import create_app
from tests.certs import make_pki

# (category, does this frame belong to it): of the categories found anywhere on a sample's stack the
# first in this list wins, so database time spent inside the SDK's dispatch counts as database.
CATEGORIES: list[tuple[str, Callable[[Frame], bool]]] = [
    ("database (SQLAlchemy, sqlite3/psycopg)", lambda f: _in(f, "sqlalchemy/", "sqlite3/", "psycopg/")),
    ("verification (signature, checks)", lambda f: _in(f, "skill/verification.py")),
    ("SDK deserialisation", lambda f: _in(f, "ask_sdk_core/serialize.py") and f.function == "deserialize"),
    ("SDK serialisation", lambda f: _in(f, "ask_sdk_core/serialize.py") and f.function == "serialize"),
    ("handlers, content, speech", lambda f: _in(f, "skill/handlers/", "skill/content/", "skill/speech.py")),
    ("interceptors, persistence adapter", lambda f: _in(f, "skill/interceptors.py", "skill/persistence.py")),
    ("SDK dispatch (request mapping, handler input)", lambda f: _in(f, "ask_sdk_core/", "ask_sdk_runtime/")),
    ("endpoint view (parse, checks, jsonify)", lambda f: _in(f, "skill/endpoint.py")),
    ("Flask and Werkzeug", lambda f: _in(f, "flask/", "werkzeug/")),
]


def _in(frame: Frame, *parts: str) -> bool:
    path = frame.file_path or ""
    return any(part in path for part in parts)


def shares(root: Frame) -> dict[str, float]:
    totals: dict[str, float] = {name: 0.0 for name, _ in CATEGORIES}
    totals["other"] = 0.0

    names = [name for name, _ in CATEGORIES] + ["other"]

    def walk(frame: Frame, best: int) -> None:
        mine = next((i for i, (_, match) in enumerate(CATEGORIES) if match(frame)), len(CATEGORIES))
        best = min(best, mine)
        own = frame.time - sum(child.time for child in frame.children)
        totals[names[best]] += max(own, 0.0)
        for child in frame.children:
            walk(child, best)

    walk(root, len(CATEGORIES))
    whole = sum(totals.values()) or 1.0
    return {name: value / whole for name, value in totals.items()}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000, help="half timed alone, half profiled")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    args = parser.parse_args()

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
        started = time.perf_counter()
        drive(app, batch[:half])  # unprofiled: the honest rate
        elapsed = time.perf_counter() - started
        profiler = Profiler(interval=0.001)
        profiler.start()
        drive(app, batch[half:])
        profiler.stop()

    session = profiler.last_session
    assert session is not None
    root = session.root_frame()
    assert root is not None
    print(
        f"{half} signed requests in process on {args.backend} ({args.users} users), no profiler: "
        f"{half / elapsed:.0f} req/s, {elapsed / half * 1e6:.0f} us each; then {len(batch) - half} profiled"
    )
    print(f"{'where the time goes':48} {'share':>6}")
    for name, share in sorted(shares(root).items(), key=lambda item: -item[1]):
        print(f"{name:48} {share:6.1%}")
    if args.tree:
        out = io.StringIO()
        out.write(profiler.output_text(unicode=True, color=False, show_all=False))
        sys.stdout.write(out.getvalue())


if __name__ == "__main__":
    main()
