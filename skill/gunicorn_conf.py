"""gunicorn settings for the skill server, read from the environment.

    gunicorn -c python:skill.gunicorn_conf      # an installed copy (pip install .)
    gunicorn                                    # in a checkout: ./gunicorn.conf.py loads this

| variable | default | setting |
|---|---|---|
| ``WEB_BIND`` | ``127.0.0.1:8000`` | where to listen; several addresses separated by commas |
| ``WEB_CONCURRENCY`` | twice the cores | worker processes |
| ``WEB_THREADS`` | ``4`` | threads per worker |
| ``WEB_TIMEOUT`` | ``30`` | seconds before a silent worker is restarted, and for a graceful stop |
| ``WEB_ACCESS_LOG`` | ``true`` | one line per request (through the same log handler as the app) |
| ``PROMETHEUS_MULTIPROC_DIR`` | a new folder per start | where the worker processes write their metrics |

Logging is ``scheduler.log_setup.logging_config``, the same as the ``cramp-coach`` commands, with
gunicorn's own loggers sent through it, so every line has one format and ``LOG_LEVEL`` applies.

Metrics: each worker process writes its samples to files in one folder, which ``GET /metrics``
merges (prometheus-client's multiprocess mode), so a scrape counts every process whichever one
answers it. The folder is made (or emptied) when the server starts, before any worker imports the
app, and a new folder is removed when it stops.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import Any

from scheduler.config import _int as env_int
from scheduler.log_setup import log_level, logging_config
from skill.config import parse_bool

__all__ = [
    "bind",
    "child_exit",
    "control_socket_disable",
    "graceful_timeout",
    "keepalive",
    "logconfig_dict",
    "on_exit",
    "on_starting",
    "threads",
    "timeout",
    "worker_class",
    "worker_tmp_dir",
    "workers",
    "wsgi_app",
]

_env = dict(os.environ)

wsgi_app = "skill:create_app()"
bind = [
    address.strip() for address in (_env.get("WEB_BIND") or "127.0.0.1:8000").split(",") if address.strip()
]

# Threads let one worker wait on the database or the Alexa Settings API while another request
# runs; processes use the cores (request verification is CPU work).
worker_class = "gthread"
workers = env_int(_env, "WEB_CONCURRENCY", 2 * (os.cpu_count() or 1), 1, 64)
threads = env_int(_env, "WEB_THREADS", 4, 1, 64)

# Alexa gives up on an answer after 8 seconds; this only catches a worker that is stuck.
timeout = env_int(_env, "WEB_TIMEOUT", 30, 1, 600)
graceful_timeout = timeout
# The TLS proxy in front reuses its connections to us.
keepalive = 5
# The heartbeat file lives in memory, not on a container's overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicorn 25+ opens a control socket at one path per user ($HOME/.gunicorn): two servers on
# one host would fight over it, and a service's home may be read-only. (Older versions ignore this.)
control_socket_disable = True

# With a logconfig_dict gunicorn always writes access lines; their logger's level decides.
_access = parse_bool(_env.get("WEB_ACCESS_LOG"), True, "WEB_ACCESS_LOG")


def _gunicorn_logging() -> dict[str, Any]:
    config = logging_config(_env)
    # No handlers of their own: gunicorn's lines propagate to the root handler above.
    config["loggers"] = {
        "gunicorn.error": {"level": log_level(_env), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO" if _access else "WARNING", "handlers": [], "propagate": True},
    }
    return config


logconfig_dict = _gunicorn_logging()


_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
_made_metrics_dir: list[str] = []


def on_starting(server: Any) -> None:
    """In the master, before the workers: the one metrics folder they all write to, empty."""
    given = _env.get(_MULTIPROC)
    if given:
        os.makedirs(given, exist_ok=True)
        # Samples from an earlier run would be added to this one's.
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        folder = given
    else:
        folder = tempfile.mkdtemp(prefix="cramp-coach-metrics-", dir=worker_tmp_dir)
        _made_metrics_dir.append(folder)
    # Workers are forked after this and import the app (and prometheus-client) then, so they see it.
    os.environ[_MULTIPROC] = folder
    server.log.info("metrics of all worker processes are kept in %s", folder)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # (untyped upstream)


def on_exit(server: Any) -> None:
    for folder in _made_metrics_dir:
        shutil.rmtree(folder, ignore_errors=True)
