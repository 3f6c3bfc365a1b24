"""A throw-away virtual environment with ``flask-ask-sdk``, for server (b) of bench_http.py only.

``flask-ask-sdk`` and ``ask-sdk-webservice-support`` import ``certvalidator``, which imports
``oscrypto``; oscrypto 1.3.0 looks for the OpenSSL version with ``\\d\\.\\d\\.\\d``, which cannot
match "OpenSSL 3.0.19" (two digits), and the import fails. Here that regex is widened to
``\\d+\\.\\d+\\.\\d+`` in this environment's copy only. Nothing here is a project dependency.

The environment reuses the project environment's packages (Flask, ask-sdk-core, cryptography,
gunicorn) through a path file, so (b) runs the same framework versions as (a) and (c), and only the
five packages below are installed, without their dependencies. It is built once and kept, keyed by
those versions, under ``bench/results/`` (ignored by git).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

PACKAGES = {
    "flask-ask-sdk": "1.0.0",
    "ask-sdk-webservice-support": "1.3.3",
    "certvalidator": "0.11.1",
    "oscrypto": "1.3.0",
    "asn1crypto": "1.5.1",
}
DEFAULT_DIR = Path(__file__).resolve().parent / "results" / "flask-ask-sdk-env"

_OLD_REGEX = "'\\\\b(\\\\d\\\\.\\\\d\\\\.\\\\d[a-z]*)\\\\b'"
_NEW_REGEX = "'\\\\b(\\\\d+\\\\.\\\\d+\\\\.\\\\d+[a-z]*)\\\\b'"
_PATCHED = ("_libcrypto_cffi.py", "_libcrypto_ctypes.py")


def _site_packages(folder: Path) -> Path:
    found = sorted(folder.glob("lib/python*/site-packages"))
    if not found:
        raise RuntimeError(f"no site-packages in {folder}")
    return found[0]


def patch_oscrypto(site_packages: Path) -> None:
    for name in _PATCHED:
        path = site_packages / "oscrypto" / "_openssl" / name
        source = path.read_text()
        if _NEW_REGEX in source:
            continue
        if _OLD_REGEX not in source:
            raise RuntimeError(f"oscrypto's version regex not found in {path}: has the release changed?")
        path.write_text(source.replace(_OLD_REGEX, _NEW_REGEX))


def ensure(folder: Path = DEFAULT_DIR) -> Path:
    """The environment's python, building the environment first if needed."""
    python = folder / "bin" / "python"
    stamp = folder / "bench-ready.json"
    wanted = {"packages": PACKAGES, "base": sys.prefix}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted and python.exists():
        return python
    venv.EnvBuilder(clear=True, with_pip=False).create(folder)
    site = _site_packages(folder)
    # Plain path lines: the project environment's packages come after this environment's own.
    shared = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "project-packages.pth").write_text("\n".join(shared) + "\n")
    pins = [f"{name}=={version}" for name, version in PACKAGES.items()]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", *pins],
        check=True,
    )
    patch_oscrypto(site)
    subprocess.run([str(python), "-c", "import flask_ask_sdk.skill_adapter"], check=True)
    stamp.write_text(json.dumps(wanted))
    return python


if __name__ == "__main__":
    print(ensure())
