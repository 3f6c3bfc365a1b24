"""How every Cramp Coach process logs: the ``cramp-coach`` commands and the skill under gunicorn.

``logging_config`` is the one description of handlers, format and level (a ``logging.config``
dict); the CLI applies it with ``configure_logging`` and ``skill/gunicorn_conf.py`` hands it to
gunicorn, so both write the same lines.

Two formats, chosen with LOG_FORMAT: ``text`` (the default, for people) and ``json`` (one object
per line, for a log collector). Both carry the request id (the worker's tick id in the worker) and
the user's short hash (``scheduler.logs.user_ref``), put on each record by
``scheduler.logs.ContextFilter``; ``-`` where a line belongs to no request or no user.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scheduler.logs import NO_VALUE

FORMAT = "%(asctime)s %(levelname)s [%(request_id)s %(user)s] %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LEVEL = "INFO"
FORMATS = ("text", "json")
DEFAULT_FORMAT = "text"
# A record that did not pass through ContextFilter (a handler someone else added) still formats.
_DEFAULTS = {"request_id": NO_VALUE, "user": NO_VALUE}


def _choice(env: Mapping[str, str] | None, name: str, choices: tuple[str, ...], default: str) -> str:
    """A setting that must be one of ``choices`` (any case): a typo is a clear error, not a traceback."""
    env = os.environ if env is None else env
    raw = (env.get(name) or "").strip()
    chosen = next((c for c in choices if c.lower() == raw.lower()), None) if raw else default
    if chosen is None:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return chosen


def log_level(env: Mapping[str, str] | None = None) -> str:
    """LOG_LEVEL, checked."""
    return _choice(env, "LOG_LEVEL", LEVELS, DEFAULT_LEVEL)


def log_format(env: Mapping[str, str] | None = None) -> str:
    """LOG_FORMAT, checked."""
    return _choice(env, "LOG_FORMAT", FORMATS, DEFAULT_FORMAT)


class TextFormatter(logging.Formatter):
    """The readable line: time, level, [request user], logger, message."""

    def __init__(self) -> None:
        super().__init__(FORMAT, defaults=_DEFAULTS)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback goes in ``exception``, still on the same line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NO_VALUE),
            "user": getattr(record, "user", NO_VALUE),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: a lone surrogate in a message cannot break the line's encoding.
        return json.dumps(entry, ensure_ascii=True, default=str)


def logging_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One handler on stderr for the root logger; every module's logger propagates to it."""
    formatter = JsonFormatter if log_format(env) == "json" else TextFormatter
    return {
        "version": 1,
        # Modules create their loggers at import, often before this runs: keep them working.
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "scheduler.logs.ContextFilter"}},
        "formatters": {"main": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": log_level(env), "handlers": ["stderr"]},
    }


def configure_logging(env: Mapping[str, str] | None = None) -> None:
    """Apply ``logging_config`` unless the host process already set logging up.

    Like ``logging.basicConfig``, it leaves a root logger that has handlers alone (a test runner,
    or an application embedding the skill, keeps its own), but it always checks LOG_LEVEL and
    LOG_FORMAT.
    """
    config = logging_config(env)
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(config)
