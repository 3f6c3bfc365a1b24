"""bench/count_endpoint.py's tiny mode, so the instruction-count benchmark cannot rot (no count checked)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.benches import run_tiny

ROOT = Path(__file__).resolve().parent.parent


def test_the_instruction_count_benchmark_runs_in_tiny_mode(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    out = tmp_path / "figures.json"
    figures, _ = run_tiny("count_endpoint.py", out)
    assert list(figures["instructions_per_request"]) == ["this working tree"]
    assert figures["instructions_per_request"]["this working tree"] > 0
