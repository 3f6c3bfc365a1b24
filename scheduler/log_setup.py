"""How every Cramp Coach process logs: the ``cramp-coach`` commands and the skill under gunicorn.

``logging_config`` is the one description of handlers, format and level (a ``logging.config``
dict); the CLI applies it with ``configure_logging`` and ``skill/gunicorn_conf.py`` hands it to
gunicorn, so a different format (JSON, say) is a change here alone.
"""

from __future__ import annotations

import logging
import logging.config
import os
from collections.abc import Mapping
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LEVEL = "INFO"


def log_level(env: Mapping[str, str] | None = None) -> str:
    """LOG_LEVEL, checked: a typo is a clear error rather than a traceback from ``logging``."""
    env = os.environ if env is None else env
    raw = (env.get("LOG_LEVEL") or "").strip()
    level = raw.upper() or DEFAULT_LEVEL
    if level not in LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, got {raw!r}")
    return level


def logging_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One handler on stderr for the root logger; every module's logger propagates to it."""
    return {
        "version": 1,
        # Modules create their loggers at import, often before this runs: keep them working.
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
        },
        "root": {"level": log_level(env), "handlers": ["stderr"]},
    }


def configure_logging(env: Mapping[str, str] | None = None) -> None:
    """Apply ``logging_config`` unless the host process already set logging up.

    Like ``logging.basicConfig``, it leaves a root logger that has handlers alone (a test runner,
    or an application embedding the skill, keeps its own), but it always checks LOG_LEVEL.
    """
    config = logging_config(env)
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(config)
