"""The benchmark's signing chain on disk, shared by the load generator and the servers under test.

The load generator signs with the test PKI (``tests.certs``); the servers run in other processes
(gunicorn workers, and for the ``flask-ask-sdk`` server another virtual environment), so they read
the trust root and the chain from the folder named by ``BENCH_PKI_DIR``. Standard library and
``cryptography`` only, so the throw-away environment can import it too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV = "BENCH_PKI_DIR"
SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-00000000c0c0"


@dataclass(frozen=True)
class PkiFiles:
    root_pem: bytes
    chain_pem: bytes
    cert_url: str

    def fetch(self, url: str) -> bytes:
        """Serves the chain for its own URL only, from memory: nothing leaves the machine."""
        if url != self.cert_url:
            raise LookupError(f"no certificate at {url}")
        return self.chain_pem


def write(folder: Path, *, root_pem: bytes, chain_pem: bytes, cert_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.pem").write_bytes(root_pem)
    (folder / "chain.pem").write_bytes(chain_pem)
    (folder / "cert_url.txt").write_text(cert_url)
    return folder


def load(folder: str | Path | None = None) -> PkiFiles:
    path = Path(folder or os.environ[ENV])
    return PkiFiles(
        root_pem=(path / "root.pem").read_bytes(),
        chain_pem=(path / "chain.pem").read_bytes(),
        cert_url=(path / "cert_url.txt").read_text().strip(),
    )
