"""Shared set-up for the benchmarks: throwaway databases, seeded reminders, a result table.

Nothing is written into the repository: SQLite files live in a temporary directory and each
PostgreSQL run uses its own schema, dropped at the end.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, text, update

# The benchmarks import the project and the test stub as the test suite does.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scheduler import queries as q  # noqa: E402
from scheduler.db import make_engine, normalise_url  # noqa: E402
from scheduler.migrate import upgrade  # noqa: E402
from scheduler.recurrence import EVERY_DAY  # noqa: E402

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def backends(choice: str) -> list[str]:
    if choice == "both":
        return ["sqlite", "postgresql"]
    if choice == "auto":
        return ["sqlite", "postgresql"] if TEST_DATABASE_URL else ["sqlite"]
    return [choice]


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A freshly migrated database URL for one benchmark run."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="cramp-bench-")
        try:
            url = f"sqlite:///{folder}/bench.db"
            upgrade(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if not TEST_DATABASE_URL:
        raise SystemExit("PostgreSQL needs TEST_DATABASE_URL")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in TEST_DATABASE_URL else "?"
    url = f"{normalise_url(TEST_DATABASE_URL)}{sep}options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(engine: Engine, *, rows: int, due: int, now: datetime, seed: int = 7, tag: str = "BENCH") -> None:
    """``rows`` users with one reminder each; ``due`` of them are due at ``now``, the rest later.

    Zone UTC, so the local time is the UTC time of day. ``tag`` goes into the Alexa user ids, so
    runs against one stub do not collide on referenceIds.
    """
    rng = random.Random(seed)
    # Reminders are set at whole minutes: the due ones over the last three minutes, the rest over
    # the next day.
    minute = now.replace(second=0, microsecond=0)
    users = [
        {
            "id": i + 1,
            "alexa_user_id": f"amzn1.ask.account.{tag}{i:08d}",
            "locale": "en-US",
            "time_zone": "UTC",
            "notifications_allowed": True,
            "subscribed": True,
        }
        for i in range(rows)
    ]
    reminders = []
    for i in range(rows):
        if i < due:
            at = minute - timedelta(minutes=rng.randint(0, 2))
        else:
            at = minute + timedelta(minutes=rng.randint(1, 1_439))
        reminders.append(
            {
                "id": i + 1,
                "user_id": i + 1,
                "kind": "stretch" if i % 3 else "water",
                "local_time": at.time(),
                "time_zone": "UTC",
                "days": EVERY_DAY,
                "enabled": True,
                "paused": i % 50 == 49,  # a few paused rows, outside the partial index
                "next_fire_at": at,
                "visible_at": at,
            }
        )
    rng.shuffle(reminders)  # insertion order unrelated to due order, as in real life
    with engine.begin() as connection:
        for start in range(0, rows, 5_000):
            connection.execute(insert(q.users), users[start : start + 5_000])
        for start in range(0, rows, 5_000):
            connection.execute(insert(q.reminders), reminders[start : start + 5_000])
        _advance_sequences(connection)
    analyze(engine)


def seed_due_at(
    engine: Engine,
    *,
    rows: int,
    due: int,
    due_at: datetime,
    tag: str = "BENCH",
    progress: str | None = None,
    chunk: int = 20_000,
) -> None:
    """``rows`` users with one reminder each: ``due`` of them due at ``due_at`` exactly, the rest
    from two minutes to a day later (one in fifty of those paused). Ids are 1..rows; the due ones come first.

    Built chunk by chunk, so ten million rows fit in memory; COPY on PostgreSQL, executemany on
    SQLite. ``progress`` names a tqdm bar on stderr.
    """
    from tqdm import tqdm

    created = datetime.now(UTC)
    rng = random.Random(11)
    bar = tqdm(total=rows, unit="row", unit_scale=True, desc=progress, disable=progress is None)
    with engine.begin() as connection:
        for start in range(0, rows, chunk):
            users, reminders = [], []
            for i in range(start, min(rows, start + chunk)):
                at = due_at if i < due else due_at + timedelta(minutes=rng.randint(2, 1_440))
                users.append((i + 1, f"amzn1.ask.account.{tag}{i:09d}", "en-US", "UTC", True, True, created))
                reminders.append(
                    (
                        i + 1,
                        i + 1,
                        "stretch" if i % 3 else "water",
                        at.time(),
                        "UTC",
                        EVERY_DAY,
                        True,
                        i >= due and i % 50 == 49,
                        at,
                        at,
                        created,
                        created,
                    )
                )
            _insert(connection, "users", _USER_COLUMNS, users)
            _insert(connection, "reminders", _REMINDER_COLUMNS, reminders)
            bar.update(len(users))
        _advance_sequences(connection)
    bar.close()
    analyze(engine)
    if due:
        check_seeded(engine, 1, due_at)


_USER_COLUMNS = (
    "id",
    "alexa_user_id",
    "locale",
    "time_zone",
    "notifications_allowed",
    "subscribed",
    "created_at",
)
_REMINDER_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "local_time",
    "time_zone",
    "days",
    "enabled",
    "paused",
    "next_fire_at",
    "visible_at",
    "created_at",
    "updated_at",
)


@functools.lru_cache(maxsize=8192)
def _sqlite_text(value: datetime | time) -> str:
    # The text forms SQLAlchemy's SQLite types store (check_seeded reads a row back through
    # them), so raw inserts look exactly like the worker's own writes. Cached: a seed has only
    # a few thousand distinct times, and strftime is most of the cost otherwise.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.strftime("%H:%M:%S.%f")


def _sqlite_value(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (datetime, time)):
        return _sqlite_text(value)
    return value


def _insert(
    connection: Connection, table: str, columns: Sequence[str], rows: list[tuple[object, ...]]
) -> None:
    cursor = connection.connection.cursor()
    if connection.dialect.name == "postgresql":
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        return
    # Raw executemany: SQLAlchemy's own insert is ~20x slower, too slow for ten million rows.
    marks = ", ".join("?" for _ in columns)
    cursor.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [tuple(_sqlite_value(v) for v in row) for row in rows],
    )


def check_seeded(engine: Engine, reminder_id: int, due_at: datetime) -> None:
    """A raw-seeded row reads back through the ORM's column types as what was meant."""
    with engine.connect() as connection:
        row = connection.execute(
            select(q.reminders.c.next_fire_at, q.reminders.c.visible_at, q.reminders.c.local_time).where(
                q.reminders.c.id == reminder_id
            )
        ).one()
    assert (row.next_fire_at, row.visible_at, row.local_time) == (due_at, due_at, due_at.time()), row


def _advance_sequences(connection: Connection) -> None:
    """Explicit ids were inserted: on PostgreSQL, move the id sequences past them."""
    if connection.dialect.name == "postgresql":
        for table in ("users", "reminders"):
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )


def analyze(engine: Engine) -> None:
    """Fresh statistics, and on PostgreSQL no dead rows left from the previous variant."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE users, reminders"))
        return
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def release_all(engine: Engine) -> None:
    """Undo every claim, so the next variant starts from the same due rows."""
    with engine.begin() as connection:
        connection.execute(
            update(q.reminders)
            .where(q.reminders.c.lease_token.is_not(None))
            .values(visible_at=q.reminders.c.next_fire_at, lease_owner=None, lease_token=None)
        )
    analyze(engine)


def count_due(engine: Engine, now: datetime) -> int:
    with engine.connect() as connection:
        stmt = select(func.count()).select_from(q.reminders).where(q.LIVE, q.reminders.c.visible_at <= now)
        return int(connection.execute(stmt).scalar_one())


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
