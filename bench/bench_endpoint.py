"""Request throughput of POST /alexa with signed requests: the cached chain against re-validation.

    python bench/bench_endpoint.py [--requests 400]

Each variant sends the same signed IntentRequests through the whole request path (size limit,
parse, verification, ask-sdk dispatch, the persistence adapter on SQLite, serialisation) using
Flask's test client in this process:

* ``cached chain``: the app's verifier, which validates a certificate chain once per URL and keeps
  it until the leaf expires (what runs in production);
* ``re-validate every request`` (baseline): a fresh verifier per request, so each one downloads
  (from memory here, so no network cost is counted) and validates the chain again, as a verifier
  without a validated-chain cache does;
* ``verification off``: ALEXA_VERIFY_REQUESTS=false, the ceiling for the rest of the path.

Results are requests per second and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.certs and tests.envelopes

from flask import Flask  # noqa: E402

from scheduler.migrate import upgrade  # noqa: E402
from skill import create_app  # noqa: E402
from skill.verification import RequestVerifier  # noqa: E402
from tests.certs import make_pki, signed_headers  # noqa: E402
from tests.envelopes import Envelopes  # noqa: E402


def build(db: Path, verify: bool, pki: Any) -> Flask:
    upgrade(f"sqlite:///{db}")
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "ALEXA_VERIFY_REQUESTS": "true" if verify else "false",
            "ALEXA_SKILL_ID": Envelopes.SKILL_ID,
            "VERIFIER_ROOTS": [pki.root],
            "CERT_FETCH": pki.fetch,
        }
    )


def run(app: Flask, pki: Any, count: int, fresh_verifier: bool) -> float:
    from datetime import UTC, datetime

    envelopes = Envelopes(lambda: datetime.now(UTC))
    client = app.test_client()
    bodies = [json.dumps(envelopes.intent("WhatIsCrampIntent", new=False)).encode() for _ in range(count)]
    start = time.perf_counter()
    for body in bodies:
        if fresh_verifier:
            app.extensions["cramp_coach"]["verifier"] = RequestVerifier(
                skill_id=Envelopes.SKILL_ID, roots=[pki.root], fetch=pki.fetch
            )
        response = client.post(
            "/alexa", data=body, headers={**signed_headers(pki, body), "Content-Type": "application/json"}
        )
        if response.status_code != 200:
            raise SystemExit(f"unexpected {response.status_code}: {response.get_data(as_text=True)}")
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pki = make_pki()
    names = ["re-validate every request (baseline)", "cached chain", "verification off"]
    rates: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        apps = {
            names[0]: (build(Path(tmp) / "a.db", True, pki), True),
            names[1]: (build(Path(tmp) / "b.db", True, pki), False),
            names[2]: (build(Path(tmp) / "c.db", False, pki), False),
        }
        for app, fresh in apps.values():  # warm up imports, caches and the first-use state write
            run(app, pki, 20, fresh)
        # Interleave the variants round by round, so drift in machine load hits them alike.
        for round_no in range(args.rounds):
            order = names if round_no % 2 == 0 else list(reversed(names))
            for name in order:
                app, fresh = apps[name]
                rates[name].append(run(app, pki, args.requests, fresh))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    baseline = medians[names[0]]
    print(
        f"POST /alexa, signed requests: median of {args.rounds} rounds x {args.requests} per variant "
        "(Flask test client, SQLite)"
    )
    print(f"{'variant':40} {'req/s':>8} {'vs baseline':>12}")
    for name in names:
        print(f"{name:40} {medians[name]:8.0f} {medians[name] / baseline:11.2f}x")


if __name__ == "__main__":
    main()
