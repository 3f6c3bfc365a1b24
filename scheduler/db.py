"""Engine and session factory from a SQLAlchemy URL; backend quirks live here and nowhere else."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

DEFAULT_DATABASE_URL = "sqlite:///cramp_coach.db"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zone type, so values are stored as naive UTC there and made aware on the way
    out; PostgreSQL stores ``timestamptz``. Naive input is refused: a silent local-time guess is
    exactly the bug this project must not have.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Timeouts:
    """How long a caller waits on the database before it gets an error instead.

    ``statement`` is PostgreSQL's ``statement_timeout`` and ``lock_timeout``, and SQLite's busy
    timeout (how long a write waits for another writer's lock). The defaults suit the worker and
    the tools; the skill passes short ones, because Alexa waits only 8 seconds for an answer.
    """

    connect: float = 5.0
    statement: float | None = None
    pool: float = 30.0


SQLITE_BUSY_DEFAULT_S = 5.0
# libpq counts its connect timeout in whole seconds and treats anything under 2 as 2.
_LIBPQ_MIN_CONNECT_S = 2


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the web process read while the worker writes; foreign keys make deletes cascade;
        # busy_timeout turns short lock waits into waits rather than "database is locked" errors.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def normalise_url(url: str) -> str:
    """Accept the common ``postgres://`` and ``postgresql://`` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _postgres_options(url: str, statement_s: float) -> str:
    """The URL's own ``options`` (e.g. a search_path) with the statement and lock timeouts added."""
    existing = make_url(url).query.get("options") or ""
    if not isinstance(existing, str):
        existing = " ".join(existing)
    ms = max(1, round(statement_s * 1000))
    return f"{existing} -c statement_timeout={ms} -c lock_timeout={ms}".strip()


def make_engine(url: str | None = None, *, timeouts: Timeouts | None = None, **kwargs: Any) -> Engine:
    url = normalise_url(url or DEFAULT_DATABASE_URL)
    limits = timeouts or Timeouts()
    if url.startswith("sqlite"):
        busy = SQLITE_BUSY_DEFAULT_S if limits.statement is None else limits.statement
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": busy})
        if make_url(url).database not in (None, "", ":memory:"):
            kwargs.setdefault("pool_timeout", limits.pool)  # in-memory databases use a pool without one
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(round(busy * 1000)))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_timeout", limits.pool)
    connect_args: dict[str, Any] = {"connect_timeout": max(_LIBPQ_MIN_CONNECT_S, math.ceil(limits.connect))}
    if limits.statement is not None:
        connect_args["options"] = _postgres_options(url, limits.statement)
    kwargs.setdefault("connect_args", connect_args)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


def autocommit_reads(engine: Engine) -> Engine:
    """The engine to use for a read of one statement that needs no transaction around it.

    On PostgreSQL a plain SELECT opens a transaction, so one read is three round trips (BEGIN, the
    query, and the ROLLBACK when the connection goes back to the pool); in autocommit mode it is
    one. SQLite's driver opens no transaction for a SELECT anyway, and switching its mode on every
    checkout costs more than it saves, so SQLite keeps the engine as it is.
    """
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")
