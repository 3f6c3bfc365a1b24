"""The metrics benchmark runs (tiny mode), so it cannot rot."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_tiny_run_reports_every_variant() -> None:
    path = Path(__file__).resolve().parent.parent / "bench" / "bench_metrics.py"
    spec = importlib.util.spec_from_file_location("bench_metrics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--tiny"])
    assert len(results) == 5
    assert all(value > 0 for value in results.values())
