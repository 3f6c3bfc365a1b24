"""Running a benchmark script's tiny mode from a test, the same way for every benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``bench/<script> ARGS`` as CI would, assert it succeeded, and return what it printed."""
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def run_tiny(script: str, out: Path, *args: str) -> tuple[Any, str]:
    """Run ``bench/<script> --tiny ... --json OUT``, assert it succeeded; the figures and stdout."""
    done = run_bench(script, "--tiny", *args, "--json", str(out))
    return json.loads(out.read_text()), done.stdout
