"""The placement benchmark's tiny mode, so it cannot rot: a real stub process, checked outcomes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benches import run_bench


def test_tiny_placement_benchmark_places_everything_once_and_writes_its_figures(tmp_path: Path) -> None:
    result = run_bench("bench_placement.py", "--tiny", "--backend", "sqlite", "--out", str(tmp_path))
    (run,) = json.loads((tmp_path / "placement.json").read_text())["runs"]
    # The script exits non-zero unless every occurrence ended placed (or, for the baseline, sent) once.
    assert run["backend"] == "sqlite" and run["n"] == 200
    assert run["skill"]["m"] == 200 and run["skill"]["place_ms"] > 0 and run["skill"]["launch_ms"] > 0
    assert run["device_cpu_vs_notice"] > 0 and run["notice"]["cpu_us_each"] > 0
    assert "worker: 200 reminders due at one instant" in result.stdout
