"""What a screen costs a request: the same answers to a voice-only device and to one that shows APL.

    python bench/bench_screens.py [--requests 400] [--rounds 5] [--tiny]

Each variant posts the same IntentRequests through the whole request path in this process
(Flask's test client, verification off, ask-sdk dispatch, the persistence adapter on SQLite,
serialisation):

* ``topic, voice only`` (baseline): "what causes leg cramps" with the cause resolved, from a
  device whose supportedInterfaces are empty: speech and a card;
* ``topic, screen``: the same from a device that lists Alexa.Presentation.APL: the topic document
  and its datasource as well;
* ``routine step, voice only`` and ``routine step, screen``: "next" in the middle of the routine
  (step 3, a timed hold), which also saves the step.

Results: requests per second (median of the rounds), the ratio to the baseline, and the bytes of
each response against Alexa's 24 KB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from scheduler.migrate import upgrade  # noqa: E402
from skill import create_app  # noqa: E402
from tests.envelopes import Envelopes  # noqa: E402

SCREEN = {"Alexa.Presentation.APL": {"runtime": {"maxVersion": "2024.3"}}}


def bodies(screen: bool, kind: str, count: int) -> list[bytes]:
    envelopes = Envelopes(lambda: datetime.now(UTC))
    envelopes.supported_interfaces = SCREEN if screen else {}
    out = []
    for i in range(count):
        user = f"amzn1.ask.account.BENCH{i % 50}"
        if kind == "topic":
            envelope = envelopes.intent(
                "CausesIntent", {"cause": "dehydration"}, resolved={"cause": "dehydration"}, user_id=user
            )
        else:
            envelope = envelopes.intent(
                "AMAZON.NextIntent", session_attributes={"routine_step": 1}, user_id=user, new=False
            )
        out.append(json.dumps(envelope).encode())
    return out


def rate(app: Flask, payloads: list[bytes]) -> tuple[float, int]:
    """Requests per second over the payloads, and the size of the last response."""
    client = app.test_client()
    size = 0
    start = time.perf_counter()
    for payload in payloads:
        response = client.post("/alexa", data=payload, content_type="application/json")
        assert response.status_code == 200, response.get_data(as_text=True)
        size = len(response.get_data())
    return len(payloads) / (time.perf_counter() - start), size


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="a few requests, to check the script runs")
    args = parser.parse_args(argv)
    count, rounds = (5, 1) if args.tiny else (args.requests, args.rounds)

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        upgrade(f"sqlite:///{db}")
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{db}",
                "ALEXA_VERIFY_REQUESTS": "false",
                "ALEXA_SKILL_ID": Envelopes.SKILL_ID,
            }
        )
        variants = {
            "topic, voice only (baseline)": (False, "topic"),
            "topic, screen": (True, "topic"),
            "routine step, voice only": (False, "step"),
            "routine step, screen": (True, "step"),
        }
        for screen, kind in variants.values():
            rate(app, bodies(screen, kind, 2))  # warm: content, documents and statements loaded once
        rates: dict[str, list[float]] = {name: [] for name in variants}
        sizes: dict[str, int] = {}
        for _ in range(rounds):
            # Interleaved, so a busy moment of the machine falls on every variant alike. Each
            # request is new (the endpoint refuses a requestId it has seen).
            for name, (screen, kind) in variants.items():
                value, sizes[name] = rate(app, bodies(screen, kind, count))
                rates[name].append(value)
    results = {
        name: {"req_s": statistics.median(values), "bytes": sizes[name]} for name, values in rates.items()
    }
    baseline = results["topic, voice only (baseline)"]["req_s"]
    print(
        f"requests per second, median of {rounds} rounds of {count}; response bytes (Alexa's limit: 24,576)"
    )
    print(f"{'variant':32} {'req/s':>8} {'vs baseline':>12} {'bytes':>7}")
    for name, result in results.items():
        print(f"{name:32} {result['req_s']:8.0f} {result['req_s'] / baseline:11.2f}x {result['bytes']:7,}")
    return results


if __name__ == "__main__":
    main()
