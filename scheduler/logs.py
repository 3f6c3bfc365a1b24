"""Logging helpers shared by the skill and the worker: untrusted text made safe, users named by hash.

Anything that came from a request (a requestId, a slot value, a user id) may hold newlines, control
characters, lone surrogates or kilobytes of junk. ``safe`` turns it into one short printable line,
so a log line can never be forged or flooded. ``user_ref`` names a user by a short stable hash, the
same in the skill and in the worker, so one person can be followed without logging their id.
``bind``/``log_context`` and ``ContextFilter`` put the request id and that hash on every line.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

# Long enough for any real Alexa id (requestIds are ~70 characters); junk past it is cut.
DEFAULT_LIMIT = 120
_ELLIPSIS = "…"


def safe(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """``value`` as one printable line of at most ``limit`` characters (plus a length note if cut).

    Control and other non-printable characters become backslash escapes; so do lone surrogates,
    which would otherwise make the log handler fail to encode the line.
    """
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    if cut:
        text = text[:limit]
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char.isprintable() and not 0xD800 <= code <= 0xDFFF:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    escaped = "".join(out)
    if cut:
        total = len(value) if isinstance(value, str) else len(str(value))
        escaped += f"{_ELLIPSIS}({total} chars)"
    return escaped


def user_ref(alexa_user_id: str | None) -> str:
    """A short, stable, non-reversible name for a user in logs: ``u-`` and 12 hex digits."""
    if not alexa_user_id:
        return "u-none"
    digest = hashlib.sha256(alexa_user_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"u-{digest[:12]}"


# -- who and what a log line is about ---------------------------------------------------------
#
# Every line carries the request (or worker tick) it belongs to and the user it concerns, so one
# person can be followed from the skill's request to the worker's delivery. The values live in
# context variables, set where a request or a notice starts, and a filter on the log handler copies
# them onto each record (handler filters see records from every logger, unlike logger filters).

NO_VALUE = "-"
_REQUEST_ID: ContextVar[str] = ContextVar("cramp_coach_request_id", default=NO_VALUE)
_USER: ContextVar[str] = ContextVar("cramp_coach_user", default=NO_VALUE)
# What a request id from outside (a proxy's X-Request-ID) may look like to be kept as it is.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_id(prefix: str = "") -> str:
    """A short random id for a request or a tick: 12 hex digits, unique enough for one day's logs."""
    return f"{prefix}{secrets.token_hex(6)}"


def request_id_from(header: str | None) -> str:
    """The id a proxy in front gave the request, when it is a plain token; else a new one."""
    if header and _SAFE_ID.fullmatch(header):
        return header
    return new_id()


def bind(*, request_id: str | None = None, user: str | None = None) -> None:
    """Set the request id and/or the user (a ``user_ref``) for the lines logged from here on."""
    if request_id is not None:
        _REQUEST_ID.set(request_id)
    if user is not None:
        _USER.set(user)


@contextmanager
def log_context(*, request_id: str | None = None, user: str | None = None) -> Iterator[None]:
    """``bind`` for the lines logged inside the block; the previous values come back after it."""
    tokens: list[tuple[ContextVar[str], Token[str]]] = []
    if request_id is not None:
        tokens.append((_REQUEST_ID, _REQUEST_ID.set(request_id)))
    if user is not None:
        tokens.append((_USER, _USER.set(user)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_request_id() -> str:
    return _REQUEST_ID.get()


def current_user() -> str:
    return _USER.get()


def about(alexa_user_id: str | None) -> dict[str, str]:
    """``extra`` for one line about a user other than the context's: ``log.info(..., extra=about(id))``.

    For loops over many users (the worker's batches), where binding the context per user would
    leave the last one on the lines after the loop.
    """
    return {"user": user_ref(alexa_user_id)}


class ContextFilter(logging.Filter):
    """Puts ``request_id`` and ``user`` on every record that reaches the handler it is attached to.

    A ``user`` given with ``extra`` (see ``about``) is kept; otherwise the context's is used.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _REQUEST_ID.get()
        if not isinstance(getattr(record, "user", None), str):
            record.user = _USER.get()
        return True
