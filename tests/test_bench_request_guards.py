"""The request-guard benchmark runs (tiny mode), so it cannot rot."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_tiny_run_reports_every_variant() -> None:
    path = Path(__file__).resolve().parent.parent / "bench" / "bench_request_guards.py"
    spec = importlib.util.spec_from_file_location("bench_request_guards", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    medians = module.main(["--tiny"])
    assert len(medians) == 5
    assert all(value > 0 for value in medians.values())
