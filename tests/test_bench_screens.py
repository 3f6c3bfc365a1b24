"""The screens benchmark runs (tiny mode), so it cannot rot."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_tiny_run_reports_every_variant_with_screens_only_where_asked() -> None:
    path = Path(__file__).resolve().parent.parent / "bench" / "bench_screens.py"
    spec = importlib.util.spec_from_file_location("bench_screens", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--tiny"])
    assert len(results) == 4
    assert all(r["req_s"] > 0 for r in results.values())
    # A screen adds its document to the response, and every response fits Alexa's 24 KB.
    assert results["topic, screen"]["bytes"] > results["topic, voice only (baseline)"]["bytes"]
    assert results["routine step, screen"]["bytes"] > results["routine step, voice only"]["bytes"]
    assert all(r["bytes"] <= 24 * 1024 for r in results.values())
