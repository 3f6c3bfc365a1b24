"""What the endpoint's new guards cost per request, against plain ``json.loads`` of the same body.

    python bench/bench_request_guards.py [--calls 20000] [--rounds 5] [--tiny]

* ``json.loads`` (baseline): the parse the endpoint did before, on a launch envelope as the
  tests build it (under 1 KB);
* ``json_body.parse``: the bounded parse (bracket count, number hooks) on the same body;
* ``json_body.parse``, many brackets: an envelope with more than 64 brackets, so the string-aware
  depth scan runs too;
* ``json_body.parse``, refused: 64 KiB of nested arrays, refused by the depth scan (``json.loads``
  would raise RecursionError on it);
* ``ReplayGuard.claim``: remembering one requestId, with the guard already holding 100,000.

Each variant's median over the rounds, in microseconds per call and as a ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skill import json_body  # noqa: E402
from skill.replay import ReplayGuard  # noqa: E402
from tests.envelopes import Envelopes  # noqa: E402


def per_call_us(run: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls * 1e6


def refused(body: bytes) -> Callable[[], object]:
    def run() -> object:
        try:
            return json_body.parse(body)
        except json_body.BodyError as exc:
            return exc

    return run


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="a few calls, to check the script runs")
    args = parser.parse_args(argv)
    calls, rounds = (50, 1) if args.tiny else (args.calls, args.rounds)

    now = datetime.now(UTC)
    envelopes = Envelopes(lambda: now)
    launch = json.dumps(envelopes.launch()).encode()
    bracketed = envelopes.launch()
    bracketed["session"]["attributes"] = {"history": [[i] for i in range(40)]}
    many = json.dumps(bracketed).encode()
    deep = b"[" * (32 * 1024) + b"]" * (32 * 1024)
    guard = ReplayGuard(max_entries=200_000)
    for i in range(100_000):
        guard.claim(f"warm-{i}", now, 150.0)
    ids = iter(f"amzn1.echo-api.request.{i}" for i in range(10**9))

    variants: dict[str, Callable[[], object]] = {
        "json.loads (baseline)": lambda: json.loads(launch),
        "json_body.parse": lambda: json_body.parse(launch),
        "json_body.parse, >64 brackets": lambda: json_body.parse(many),
        "json_body.parse, 64 KiB nested: refused": refused(deep),
        "ReplayGuard.claim (100k held)": lambda: guard.claim(next(ids), now, 150.0),
    }
    assert json_body.parse(launch) == json.loads(launch)
    assert isinstance(refused(deep)(), json_body.BodyError)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            # The refusal scans 64 KiB each time: fewer calls keep the round short.
            timings[name].append(per_call_us(run, max(1, calls // 50) if "refused" in name else calls))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    baseline = medians["json.loads (baseline)"]
    print(f"per call, median of {rounds} rounds ({len(launch)}-byte launch envelope)")
    print(f"{'variant':42} {'µs/call':>9} {'vs baseline':>12}")
    for name, value in medians.items():
        print(f"{name:42} {value:9.1f} {value / baseline:11.2f}x")
    return medians


if __name__ == "__main__":
    main()
