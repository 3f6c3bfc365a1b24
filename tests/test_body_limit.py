"""Bodies over the limit get 413 however they are framed: with a Content-Length or chunked.

Werkzeug stops reading a chunked body at MAX_CONTENT_LENGTH without an error, so a chunked body
that was too long used to arrive cut short. Checked under Flask's test client, Werkzeug's own
server and gunicorn, the last two over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.envelopes import Envelopes, said

LIMIT = 64 * 1024
Poster = Callable[[bytes, bool], tuple[int, dict[str, Any]]]


def padded(envelopes: Envelopes, size: int) -> bytes:
    """A real launch envelope, padded with an extra field to exactly ``size`` bytes."""
    envelope: dict[str, Any] = envelopes.launch()
    envelope["padding"] = ""
    base = len(json.dumps(envelope).encode())
    envelope["padding"] = "x" * (size - base)
    body = json.dumps(envelope).encode()
    assert len(body) == size
    return body


def raw_post(port: int, body: bytes, chunked: bool) -> tuple[int, dict[str, Any]]:
    """POST over a plain socket (so the framing is exactly what is written here)."""
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(body)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"POST /alexa HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
        conn.sendall(framing + b"\r\nConnection: close\r\n\r\n")
        try:
            if chunked:
                for start in range(0, len(body), 8192):
                    part = body[start : start + 8192]
                    conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                conn.sendall(b"0\r\n\r\n")
            else:
                conn.sendall(body)
        except OSError:
            pass  # a server may stop reading once it has refused; the answer is still there to read
        # Read by Content-Length, as a client would: Werkzeug's server drains what is left of a
        # refused body until the client hangs up, so waiting for it to close first would deadlock.
        reader = conn.makefile("rb")
        status = int(reader.readline().split()[1])
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, json.loads(reader.read(length))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def werkzeug_post(app: Flask) -> Iterator[Poster]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield lambda body, chunked: raw_post(server.port, body, chunked)
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def gunicorn_post(migrated_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Poster]:
    """One gunicorn for the module (booting one is the slow part), on its own copy of the database."""
    database = tmp_path_factory.mktemp("gunicorn") / "cramp_coach.db"
    shutil.copyfile(migrated_template, database)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "ALEXA_VERIFY_REQUESTS": "false",
        "ALEXA_SKILL_ID": Envelopes.SKILL_ID,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "skill:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):  # up to 30 s for the worker to boot
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "gunicorn exited"
                time.sleep(0.1)
        yield lambda body, chunked: raw_post(port, body, chunked)
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture
def client_post(app: Flask) -> Poster:
    """Flask's test client; a chunked body is an input stream the server marks as terminated."""
    import io

    client = app.test_client()

    def post(body: bytes, chunked: bool) -> tuple[int, dict[str, Any]]:
        if chunked:
            response = client.post(
                "/alexa",
                input_stream=io.BytesIO(body),
                content_type="application/json",
                headers={"Transfer-Encoding": "chunked"},
                environ_overrides={"wsgi.input_terminated": True},
            )
        else:
            response = client.post("/alexa", data=body, content_type="application/json")
        return response.status_code, response.get_json()

    return post


@pytest.fixture(params=["test-client", "werkzeug", "gunicorn"])
def post(request: pytest.FixtureRequest) -> Poster:
    name = {"test-client": "client_post", "werkzeug": "werkzeug_post", "gunicorn": "gunicorn_post"}[
        request.param
    ]
    poster: Poster = request.getfixturevalue(name)
    return poster


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_one_byte_over_the_limit_is_413(post: Poster, envelopes: Envelopes, chunked: bool) -> None:
    status, body = post(padded(envelopes, LIMIT + 1), chunked)
    assert status == 413
    assert "too large" in body["error"]


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_body_at_the_limit_is_read_whole_and_answered(
    post: Poster, envelopes: Envelopes, chunked: bool
) -> None:
    status, body = post(padded(envelopes, LIMIT), chunked)
    assert status == 200
    assert "Cramp Coach" in said(body)


def test_a_long_chunked_body_is_413_not_cut_short(post: Poster, envelopes: Envelopes) -> None:
    status, _body = post(padded(envelopes, 200 * 1024), True)
    assert status == 413
