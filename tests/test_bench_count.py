"""bench/count_endpoint.py's tiny mode, so the instruction-count benchmark cannot rot (no count checked)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_instruction_count_benchmark_runs_in_tiny_mode(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "bench/count_endpoint.py", "--tiny", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert list(figures["instructions_per_request"]) == ["this working tree"]
    assert figures["instructions_per_request"]["this working tree"] > 0
