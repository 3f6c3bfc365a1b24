"""The request id and the user's hash for every log line written while a request is handled.

Each HTTP request gets an id (the proxy's ``X-Request-ID`` when it is a plain token, else a new
one), returned in the ``X-Request-ID`` response header; the /alexa view adds the user's
``user_ref`` once it has read the envelope. The values are set when a request starts and left in
place when it ends, so gunicorn's access line, written after the answer has gone, still carries
them; the next request on the thread sets its own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from scheduler.logs import NO_VALUE, bind, current_request_id, request_id_from, user_ref

HEADER = "X-Request-ID"
# Where the WSGI server puts that header: read from there, no headers object is built for it.
ENVIRON_KEY = "HTTP_X_REQUEST_ID"


def init_app(app: Flask) -> None:
    @app.before_request
    def start_request() -> None:
        bind(request_id=request_id_from(request.environ.get(ENVIRON_KEY)), user=NO_VALUE)

    @app.after_request
    def tag_response(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        return response


def bind_user(payload: Any) -> None:
    """Name the envelope's user (context.System.user.userId, as the SDK reads it) in later lines.

    The body has not been checked yet: anything missing or of the wrong type names no user.
    """
    user_id: Any = payload
    for key in ("context", "System", "user", "userId"):
        user_id = user_id.get(key) if isinstance(user_id, dict) else None
    bind(user=user_ref(user_id) if isinstance(user_id, str) else NO_VALUE)
