"""Realistic signed Alexa traffic for the HTTP benchmarks: users, stored state, request bodies.

Every request is its own envelope (its own requestId, a current timestamp) signed with the test
PKI the way Alexa signs, so a server that refuses replays or stale requests accepts each one once.
Half are LaunchRequests, half a CausesIntent whose ``cause`` slot Alexa resolved to one of our
values; each comes from one of ``users`` Alexa accounts, chosen at random.
"""

from __future__ import annotations

import json
import os
import random
import string
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Appended, not prepended: tests.certs / tests.envelopes and pki_files are found here, while the
# project itself still comes from PYTHONPATH when a benchmark runs another revision of it.
for path in (ROOT, HERE / "servers"):
    if str(path) not in sys.path:
        sys.path.append(str(path))

import pki_files  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from scheduler.db import make_engine  # noqa: E402
from scheduler.models import SkillState, User  # noqa: E402
from tests.certs import make_pki, sign  # noqa: E402
from tests.envelopes import Envelopes  # noqa: E402

# (what the user said, the value id Alexa resolved it to): synonyms from topics.json's causes.
CAUSES = (
    ("dehydration", "dehydration"),
    ("sitting all day", "sedentary"),
    ("low magnesium", "electrolytes"),
    ("pregnancy", "pregnancy"),
    ("getting older", "aging"),
)


@dataclass(frozen=True)
class Signed:
    body: bytes
    signature: str


def user_ids(count: int, seed: int = 11) -> list[str]:
    """Alexa account ids of the real length (a prefix and about 200 opaque characters)."""
    rng = random.Random(seed)
    alphabet = string.ascii_uppercase + string.digits
    return ["amzn1.ask.account." + "".join(rng.choices(alphabet, k=200)) for _ in range(count)]


def seed_users(database_url: str, users: Sequence[str]) -> None:
    """Every user has been here before (their state says they heard the disclaimer), and every
    other one has a users row, as someone with reminders does. No greeting is pending, so a
    request changes nothing and a correct endpoint writes nothing."""
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(SkillState),
            [
                {"alexa_user_id": u, "attributes": {"disclaimer_heard": True}, "updated_at": now}
                for u in users
            ],
        )
        connection.execute(
            insert(User),
            [
                {
                    "alexa_user_id": u,
                    "locale": "en-US",
                    "time_zone": "Europe/London",
                    "notifications_allowed": True,
                    "subscribed": True,
                    "created_at": now,
                }
                for u in users[::2]
            ],
        )
    engine.dispose()


def write_pki(folder: Path) -> Path:
    """The test chain on disk, for servers in other processes (see servers/pki_files.py)."""
    pki = make_pki()
    return pki_files.write(
        folder,
        root_pem=pki.root.public_bytes(serialization.Encoding.PEM),
        chain_pem=pki.chain_pem,
        cert_url=pki.cert_url,
    )


def envelope(rng: random.Random, users: Sequence[str], index: int) -> dict[str, Any]:
    envelopes = Envelopes(lambda: datetime.now(UTC))
    user = rng.choice(users)
    if index % 2 == 0:
        return envelopes.launch(user_id=user, new=True)
    spoken, value_id = rng.choice(CAUSES)
    return envelopes.intent(
        "CausesIntent", {"cause": spoken}, resolved={"cause": value_id}, user_id=user, new=False
    )


def _sign_chunk(args: tuple[int, int, Sequence[str]]) -> list[Signed]:
    start, count, users = args
    key = make_pki().leaf_key
    rng = random.Random(start)
    out = []
    for i in range(start, start + count):
        body = json.dumps(envelope(rng, users, i), separators=(",", ":")).encode()
        out.append(Signed(body, sign(body, key)))
    return out


def signed_requests(count: int, users: Sequence[str], *, processes: int | None = None) -> list[Signed]:
    """``count`` distinct signed requests, stamped now; signing is spread over the cores."""
    make_pki()  # generate the keys once, before forking, so every worker signs with the same one
    workers = max(1, min(processes or os.cpu_count() or 1, count // 500 or 1))
    step = -(-count // workers)
    chunks = [(s, min(step, count - s), users) for s in range(0, count, step)]
    if workers == 1:
        return _sign_chunk(chunks[0])
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [signed for chunk in pool.map(_sign_chunk, chunks) for signed in chunk]


def headers(signed: Signed, cert_url: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "SignatureCertChainUrl": cert_url,
        "Signature-256": signed.signature,
    }
