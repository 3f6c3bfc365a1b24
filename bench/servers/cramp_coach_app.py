"""(c) Cramp Coach itself, for gunicorn: ``create_app`` with verification on, trusting the test CA.

    BENCH_PKI_DIR=... DATABASE_URL=sqlite:///... gunicorn cramp_coach_app:app

The only difference from production is where trust comes from: the benchmark's own root instead
of certifi's bundle, and the chain served from memory instead of downloaded from Amazon.
"""

from __future__ import annotations

import os

import pki_files
from cryptography import x509

from skill import create_app

_pki = pki_files.load()

app = create_app(
    {
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "ALEXA_VERIFY_REQUESTS": "true",
        "ALEXA_SKILL_ID": pki_files.SKILL_ID,
        "VERIFIER_ROOTS": [x509.load_pem_x509_certificate(_pki.root_pem)],
        "CERT_FETCH": _pki.fetch,
    }
)
