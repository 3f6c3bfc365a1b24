"""The dispatch benchmark's tiny mode, so it cannot rot: real processes, checked figures, no timings."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benches import run_bench


def test_tiny_dispatch_benchmark_delivers_everything_once_and_writes_its_figures(tmp_path: Path) -> None:
    result = run_bench("bench_dispatch.py", "--tiny", "--backend", "sqlite", "--out", str(tmp_path))
    report = json.loads((tmp_path / "dispatch.json").read_text())
    (run,) = report["runs"]
    assert run["backend"] == "sqlite" and run["workers"] == 1
    assert (run["lost"], run["users_notified_twice"]) == (0, 0)
    assert run["accepted_at_stub"] == run["delivered_log"] == run["n"] == 300
    assert set(run["statuses"]) <= {"sent", "duplicate"}
    assert len(run["lateness"]) == 300 and run["lateness_p99"] >= run["lateness_p50"] >= 0
    assert run["baseline"]["posts"] > 0 and run["vs_baseline"] > 0
    assert all(mb > 0 for mb in run["peak_rss_mb"])
    faults = report["faults"]
    # 30% of events answered 500 or 429: every reminder still delivered, none given up.
    assert faults["lost"] == 0 and "failed" not in faults["statuses"]
    assert faults["attempts"] > faults["n"]  # some attempts were retries
    png = (tmp_path / "dispatch_lateness.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    assert "dispatch: every reminder due at the same instant" in result.stdout
    assert "seeding" in result.stderr  # the progress bar
