"""Errors that cross from handlers to the endpoint, and how any exception is named in a log line."""

from __future__ import annotations

import traceback
from pathlib import Path

from sqlalchemy import exc as sa_exc

from scheduler.logs import safe

# Enough of an exception's own text to recognise it; it may quote request data, so it is escaped.
EXCERPT_CHARS = 160
FRAMES = 3


class EventNotStored(Exception):
    """A skill event could not be stored; the endpoint answers 503 so Alexa redelivers it."""


class EventRefused(Exception):
    """A skill event that can never be processed (malformed); the endpoint answers 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_storage_failure(error: BaseException) -> bool:
    """A database that is down, slow, locked or busy: worth trying again later.

    A value the database refuses (DataError, or a bind parameter that cannot be encoded) fails the
    same way every time, so it is not a storage failure. The SDK's PersistenceException is judged
    by the database error it wraps.
    """
    if not isinstance(error, sa_exc.SQLAlchemyError) and isinstance(error.__cause__, sa_exc.SQLAlchemyError):
        error = error.__cause__
    if isinstance(error, sa_exc.DataError):
        return False
    if isinstance(error, sa_exc.DBAPIError):
        return True
    if isinstance(error, sa_exc.StatementError):
        # Raised before the database saw the statement (e.g. a value that cannot be encoded).
        return False
    return isinstance(error, sa_exc.SQLAlchemyError)


def describe(error: BaseException, *, excerpt: bool = True) -> str:
    """One log-safe line naming an exception: its class, an escaped excerpt, where it was raised.

    ``excerpt=False`` leaves the exception's text out entirely, for errors (the SDK's serializer)
    whose message embeds the whole request, tokens included.
    """
    parts = [type(error).__name__]
    # SQLAlchemy's own text appends the SQL and its parameters (user ids); the driver's does not.
    text = (
        str(getattr(error, "orig", None) or error) if isinstance(error, sa_exc.StatementError) else str(error)
    )
    if excerpt and text:
        parts.append(f": {safe(text, EXCERPT_CHARS)}")
    frames = traceback.extract_tb(error.__traceback__)[-FRAMES:]
    if frames:
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
        parts.append(f" (at {where})")
    cause = error.__cause__ or error.__context__
    if cause is not None:
        parts.append(f" from {type(cause).__name__}")
    return "".join(parts)


def stack(error: BaseException) -> str:
    """The frames of ``error``'s traceback, for a bug report in the log; no exception text at all.

    Each line is code from this project or its libraries, never request data, so the extra lines
    cannot be forged; :func:`describe` gives the escaped message that goes with them.
    """
    frames = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
    return f"Traceback (most recent call last):\n{frames.rstrip()}"
