"""What the skill's metrics cost: per request, against the request itself, and per scrape.

    python bench/bench_metrics.py [--calls 20000] [--requests 400] [--rounds 5] [--tiny]

* one POST /alexa (baseline): an AMAZON.HelpIntent through the whole endpoint in process (Flask's
  test client, verification off, SQLite), metrics included;
* ``metrics.record_request``: what the endpoint adds per request (a counter increment and a
  histogram observation), in one process;
* the same in gunicorn's multiprocess mode (samples in memory-mapped files), measured in a child
  process started with PROMETHEUS_MULTIPROC_DIR set, as gunicorn's workers are;
* one /metrics scrape, in one process and merged from the multiprocess files.

Medians over the rounds, in microseconds per call, and the per-request parts as a ratio to the
baseline request.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_request_guards import per_call_us  # noqa: E402


def metric_calls(calls: int, rounds: int) -> dict[str, float]:
    """record_request and one scrape, in this process's metrics mode."""
    from skill import metrics

    labels = metrics.RequestLabels("IntentRequest", "AMAZON.HelpIntent")
    started = time.perf_counter()
    record = [per_call_us(lambda: metrics.record_request(labels, 200, started), calls) for _ in range(rounds)]
    scrape = [per_call_us(metrics.exposition, max(1, calls // 200)) for _ in range(rounds)]
    return {"record": statistics.median(record), "scrape": statistics.median(scrape)}


def request_us(requests: int, rounds: int) -> float:
    from scheduler.migrate import upgrade
    from skill import create_app
    from tests.envelopes import Envelopes

    folder = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    try:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        envelopes = Envelopes(lambda: datetime.now(UTC))
        app = create_app(
            {"DATABASE_URL": url, "ALEXA_VERIFY_REQUESTS": "false", "ALEXA_SKILL_ID": Envelopes.SKILL_ID}
        )
        client = app.test_client()

        def one() -> object:
            response = client.post("/alexa", json=envelopes.intent("AMAZON.HelpIntent"))
            assert response.status_code == 200
            return response

        one()
        return statistics.median(per_call_us(one, requests) for _ in range(rounds))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="a few calls, to check the script runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    calls, requests, rounds = (50, 5, 1) if args.tiny else (args.calls, args.requests, args.rounds)

    if args.child:  # in the multiprocess-mode child: print the figures for the parent
        print(json.dumps(metric_calls(calls, rounds)))
        return {}

    assert not os.environ.get("PROMETHEUS_MULTIPROC_DIR"), "run this without PROMETHEUS_MULTIPROC_DIR"
    baseline = request_us(requests, rounds)
    single = metric_calls(calls, rounds)
    folder = tempfile.mkdtemp(prefix="bench-metrics-mp-")
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--child", "--calls", str(calls), "--rounds", str(rounds)],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": folder},
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    multi = json.loads(child.stdout.strip().splitlines()[-1])

    results = {
        "POST /alexa, HelpIntent (baseline)": baseline,
        "record_request, one process": single["record"],
        "record_request, multiprocess files": multi["record"],
        "GET /metrics body, one process": single["scrape"],
        "GET /metrics body, merged from files": multi["scrape"],
    }
    print(f"median of {rounds} rounds; µs per call")
    print(f"{'variant':40} {'µs/call':>10} {'vs baseline':>12}")
    for name, value in results.items():
        print(f"{name:40} {value:10.1f} {value / baseline:11.3f}x")
    return results


if __name__ == "__main__":
    main()
