"""Another version of the project, to benchmark side by side with this one in the same run."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export_revision(revision: str, folder: Path) -> Path:
    """The ``skill`` and ``scheduler`` packages (and migrations) at git ``revision``, in ``folder``.

    Put ``folder`` first on PYTHONPATH and a process imports that version instead of the editable
    install of this one (the database schema must be the same).
    """
    folder.mkdir(parents=True)
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", revision],
        capture_output=True,
        text=True,
        check=True,
    )
    paths = [p for p in listed.stdout.split() if p in ("skill", "scheduler", "migrations")]
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, *paths], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder
