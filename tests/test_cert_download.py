"""The certificate download over real sockets on 127.0.0.1: size cap, no redirects, and a deadline
that holds however slowly a server sends (a per-read timeout alone does not)."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from skill.verification import HttpFetcher, VerificationError
from tests.certs import make_pki

Behaviour = Callable[[socket.socket], None]
# Only stops a hang if the deadline were broken; the tests assert on outcomes, never on durations.
SAFETY_BOUND_S = 30.0


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(SAFETY_BOUND_S)
        try:
            _read_request_head(self.request)
            self.server.behaviour(self.request)  # type: ignore[attr-defined]
        except OSError:
            pass  # the fetcher hung up: that is the point of several tests


def _read_request_head(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def _servers(
    handler: type[socketserver.BaseRequestHandler], base: str
) -> Iterator[Callable[[Behaviour], str]]:
    """Start servers on 127.0.0.1 that run a behaviour per connection; yields ``start``."""
    servers: list[socketserver.ThreadingTCPServer] = []

    def start(behaviour: Behaviour) -> str:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.behaviour = behaviour  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"{base}:{server.server_address[1]}/echo.api/cert.pem"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], str]]:
    yield from _servers(_Handler, "http://127.0.0.1")


def reply(status: str, body: bytes, headers: str = "") -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n"
        conn.sendall(head.encode() + body)

    return behaviour


def drip(head: bytes, every_s: float = 0.05) -> Behaviour:
    """Send ``head`` at once, then one byte at a time, each well inside any per-read timeout."""

    def behaviour(conn: socket.socket) -> None:
        conn.sendall(head)
        for _ in range(int(SAFETY_BOUND_S / every_s)):
            conn.sendall(b"A")
            time.sleep(every_s)

    return behaviour


def bounded(call: Callable[[], bytes]) -> bytes | VerificationError:
    """Run ``call`` in a thread; fail the test (instead of hanging it) if it never returns."""
    outcome: list[bytes | VerificationError] = []

    def run() -> None:
        try:
            outcome.append(call())
        except VerificationError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(SAFETY_BOUND_S)
    assert outcome, "the download was still running at the safety bound"
    return outcome[0]


def test_downloads_the_chain(serve: Callable[[Behaviour], str]) -> None:
    pem = make_pki().chain_pem
    assert bounded(lambda: HttpFetcher()(serve(reply("200 OK", pem)))) == pem


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"), id="body-drips"),
        pytest.param(drip(b"HTTP/1.1 200 OK\r\n"), id="headers-drip"),
        pytest.param(drip(b""), id="status-line-drips"),
        pytest.param(drip(b"HTTP/1.1 200 OK\r\n\r\n"), id="body-without-length-drips"),
        pytest.param(lambda conn: time.sleep(SAFETY_BOUND_S), id="never-answers"),
    ],
)
def test_a_slow_server_is_cut_off_at_the_deadline(
    serve: Callable[[Behaviour], str], behaviour: Behaviour
) -> None:
    # Every socket operation would be allowed 20 s: only the wall-clock deadline can stop these.
    fetch = HttpFetcher(socket_timeout=20.0, deadline=0.5)
    outcome = bounded(lambda: fetch(serve(behaviour)))
    assert isinstance(outcome, VerificationError)
    assert outcome.reason == "certificate download too slow"


def test_an_endless_body_stops_at_the_size_cap(serve: Callable[[Behaviour], str]) -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        for _ in range(1000):
            conn.sendall(b"x" * 8192)

    outcome = bounded(lambda: HttpFetcher(max_bytes=64 * 1024)(serve(endless)))
    assert isinstance(outcome, VerificationError)
    assert outcome.reason == "certificate download too large"


def test_a_declared_oversize_is_refused_before_reading(serve: Callable[[Behaviour], str]) -> None:
    def declares(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        time.sleep(SAFETY_BOUND_S)

    outcome = bounded(lambda: HttpFetcher(deadline=20.0)(serve(declares)))
    assert isinstance(outcome, VerificationError)
    assert outcome.reason == "certificate download too large"


@pytest.mark.parametrize(
    "status", ["301 Moved Permanently", "302 Found", "403 Forbidden", "404 Not Found", "500 Oops"]
)
def test_anything_but_200_is_refused_and_redirects_are_not_followed(
    serve: Callable[[Behaviour], str], status: str
) -> None:
    followed: list[bool] = []
    target = serve(lambda conn: followed.append(True))
    outcome = bounded(lambda: HttpFetcher()(serve(reply(status, b"", f"Location: {target}\r\n"))))
    assert isinstance(outcome, VerificationError)
    assert outcome.reason == "certificate download failed"
    assert followed == []


def test_a_refused_connection_is_a_failed_download() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = bounded(lambda: HttpFetcher()(f"http://127.0.0.1:{port}/echo.api/cert.pem"))
    assert isinstance(outcome, VerificationError)
    assert outcome.reason == "certificate download failed"


def test_plain_http_is_only_for_loopback() -> None:
    outcome = bounded(lambda: HttpFetcher()("http://s3.amazonaws.com/echo.api/cert.pem"))
    assert isinstance(outcome, VerificationError)
    assert outcome.reason == "certificate URL is malformed"


# -- the same over TLS, which is how Amazon's bucket is reached -------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context for "localhost", client context that trusts only the test root)."""
    pki = make_pki(san="localhost")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(pki.chain_pem)
    key.write_bytes(
        pki.leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain, key)
    client = ssl.create_default_context(cadata=pki.root.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


def over_tls(server: ssl.SSLContext, behaviour: Behaviour) -> Behaviour:
    def wrapped(conn: socket.socket) -> None:
        with server.wrap_socket(conn, server_side=True) as secure:
            behaviour(secure)

    return wrapped


class _TlsHandler(_Handler):
    def handle(self) -> None:
        self.request.settimeout(SAFETY_BOUND_S)
        with contextlib.suppress(OSError):  # ssl.SSLError is an OSError
            self.server.behaviour(self.request)  # type: ignore[attr-defined]


@pytest.fixture
def serve_tls() -> Iterator[Callable[[Behaviour], str]]:
    yield from _servers(_TlsHandler, "https://localhost")


def after_request(behaviour: Behaviour) -> Behaviour:
    def wrapped(conn: socket.socket) -> None:
        _read_request_head(conn)
        behaviour(conn)

    return wrapped


def test_downloads_the_chain_over_tls(
    serve_tls: Callable[[Behaviour], str], tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server, client = tls
    pem = make_pki().chain_pem
    url = serve_tls(over_tls(server, after_request(reply("200 OK", pem))))
    assert bounded(lambda: HttpFetcher(context=client)(url)) == pem


@pytest.mark.parametrize(
    "stage",
    ["handshake-never-answered", "body-drips", "body-without-length-drips-and-close"],
)
def test_a_slow_tls_server_is_cut_off_at_the_deadline(
    serve_tls: Callable[[Behaviour], str], tls: tuple[ssl.SSLContext, ssl.SSLContext], stage: str
) -> None:
    server, client = tls
    behaviour: Behaviour
    if stage == "handshake-never-answered":
        behaviour = lambda conn: time.sleep(SAFETY_BOUND_S)  # noqa: E731 - TCP accepted, no ServerHello
    elif stage == "body-drips":
        behaviour = over_tls(server, after_request(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")))
    else:
        behaviour = over_tls(server, after_request(drip(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")))
    fetch = HttpFetcher(socket_timeout=20.0, deadline=0.5, context=client)
    outcome = bounded(lambda: fetch(serve_tls(behaviour)))
    assert isinstance(outcome, VerificationError)
    assert outcome.reason == "certificate download too slow"
