"""bench/bench_http.py's tiny mode, so the HTTP benchmark cannot rot (no timing is checked).

It starts the three servers under gunicorn on 127.0.0.1, checks that each answers signed requests
and that (b) and (c) refuse a tampered one, drives them, and must report figures for every server
at every level with no refused request and no state written. The first run builds the benchmark's
throw-away flask-ask-sdk environment under bench/results/ (a few packages from PyPI).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.benches import run_tiny

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("load_generator", ["wrk", "python"])
def test_the_http_benchmark_runs_in_tiny_mode(load_generator: str, tmp_path: Path) -> None:
    if load_generator == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk); the Python load generator is tested")
    out = tmp_path / "figures.json"
    figures, stdout = run_tiny("bench_http.py", out, "--loadgen", load_generator)
    assert figures["loadgen"] == load_generator
    assert figures["problems"] == []
    assert figures["state_writes"] == 0
    assert set(figures["median"]) == {"a", "b", "c"}
    for key, levels in figures["runs"].items():
        assert set(levels) == {"1", "4"}, key
        for level, runs in levels.items():
            assert len(runs) == 1
            assert runs[0]["requests"] > 0, (key, level)
            assert runs[0]["status_errors"] == 0 and runs[0]["socket_errors"] == 0, (key, level)
    assert "Cramp Coach vs the ceiling (a): c=1:" in stdout
    assert "Cramp Coach vs flask-ask-sdk (b): c=1:" in stdout
