"""Verification of requests sent by Alexa to an HTTPS skill endpoint.

Implements Amazon's rules for self-hosted endpoints: the signing-certificate URL
must point at Amazon's S3 bucket, the chain must be trusted and issued for
``echo-api.amazon.com``, ``Signature-256`` must match the raw body, the request
timestamp must be fresh, and (optionally) the applicationId must be ours.

Pure module, no Flask: the endpoint passes headers, raw body and parsed JSON in,
and turns a :class:`VerificationError` into a 400 response.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import http.client
import posixpath
import re
import socket
import ssl
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, unquote_to_bytes, urlsplit

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification as x509v

from scheduler.urls import require_https_or_loopback
from skill.request_kinds import is_event

__all__ = [
    "CERT_URL_HEADER",
    "ECHO_API_HOSTNAME",
    "SIGNATURE_HEADER",
    "HeaderSource",
    "HttpFetcher",
    "RequestVerifier",
    "VerificationError",
    "check_cert_url",
    "check_skill_id",
    "check_timestamp",
    "environ_headers",
    "tolerance_s",
]

CERT_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
ECHO_API_HOSTNAME = "echo-api.amazon.com"

TIMESTAMP_TOLERANCE_S = 150.0
# Skill events (enable/disable, permission changes, ...), reminder events and skill
# messages may be redelivered by Amazon for a while, so they carry older timestamps
# legitimately (skill/request_kinds.py says which requests those are).
SKILL_EVENT_TOLERANCE_S = 3600.0

CERT_HOST = "s3.amazonaws.com"
CERT_PATH_PREFIX = "/echo.api/"

MAX_CERT_BYTES = 64 * 1024
# Each connect, send and receive gives up after this long...
FETCH_SOCKET_TIMEOUT_S = 3.0
# ...and the whole download, however the bytes trickle in, after this (Alexa waits 8 s in all).
FETCH_DEADLINE_S = 5.0
MAX_CACHED_CHAINS = 64
# A URL whose chain could not be had is refused without a new download for this long.
FAILURE_CACHE_S = 5.0
MAX_CACHED_FAILURES = 256


class VerificationError(Exception):
    """A request failed verification.

    ``reason`` is short, operator-readable, and safe to log and to return in a
    400 body: it never echoes request-controlled data.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------
# Checks usable on their own (the endpoint runs check_skill_id even when
# signature checks are disabled for local simulators).
# --------------------------------------------------------------------------


def _get_path(payload: Any, *keys: str) -> Any:
    """Walk nested mappings, returning None as soon as a level is missing."""
    node = payload
    for key in keys:
        # Parsed JSON is plain dicts: checked first, as Mapping's isinstance goes through the ABC.
        if type(node) is not dict and not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def check_skill_id(payload: Mapping[str, Any], skill_id: str | None) -> None:
    """Require the request's applicationId to equal ``skill_id`` (if configured).

    An empty or None ``skill_id`` means "not configured" and accepts anything.
    """
    if not skill_id:
        return
    app_id = _get_path(payload, "context", "System", "application", "applicationId")
    if app_id is None:
        app_id = _get_path(payload, "session", "application", "applicationId")
    if not isinstance(app_id, str) or not app_id:
        raise VerificationError("applicationId missing")
    if app_id != skill_id:
        raise VerificationError("applicationId does not match this skill")


def check_timestamp(payload: Mapping[str, Any], now: datetime) -> None:
    """Require ``request.timestamp`` to be close to ``now`` (an aware datetime).

    Tolerance is 150 s either way, or one hour for events (``request_kinds.is_event``).
    """
    raw = _get_path(payload, "request", "timestamp")
    if not isinstance(raw, str) or not raw:
        raise VerificationError("request timestamp missing")
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError:
        raise VerificationError("request timestamp is not ISO 8601") from None
    if stamp.tzinfo is None:
        # Alexa always sends an explicit offset ("Z"); a naive time is ambiguous.
        raise VerificationError("request timestamp has no timezone")
    if abs((now - stamp).total_seconds()) > tolerance_s(_get_path(payload, "request", "type")):
        raise VerificationError("request timestamp too far from current time")


def tolerance_s(request_type: object) -> float:
    """How far a request's timestamp may be from now: 150 s, or one hour for events."""
    if isinstance(request_type, str) and is_event(request_type):
        return SKILL_EVENT_TOLERANCE_S
    return TIMESTAMP_TOLERANCE_S


def check_cert_url(url: str) -> str:
    """Apply Amazon's rules to the ``SignatureCertChainUrl`` value; return the URL to download.

    The path rule is applied to the percent-decoded, normalised path (``/echo.api/%2e%2e/x`` is
    ``/x``), and the URL returned is rebuilt from the parts that were checked, so the download asks
    for exactly what was checked, whatever the client or the server would make of the original.
    """
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a non-numeric/out-of-range port
    except ValueError:
        raise VerificationError("certificate URL is malformed") from None
    if parts.scheme.lower() != "https":
        raise VerificationError("certificate URL must use https")
    # Userinfo is never legitimate here and makes the "host" easy to misread.
    if parts.username is not None or parts.password is not None:
        raise VerificationError("certificate URL must not contain credentials")
    if (parts.hostname or "") != CERT_HOST:  # .hostname is already lower-cased
        raise VerificationError(f"certificate URL host must be {CERT_HOST}")
    if port is not None and port != 443:
        raise VerificationError("certificate URL port must be 443")
    if parts.query or parts.fragment:
        raise VerificationError("certificate URL must not have a query or fragment")
    try:
        path = unquote_to_bytes(parts.path).decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("certificate URL path is malformed") from None
    if not path.isprintable() or "\\" in path:
        raise VerificationError("certificate URL path is malformed")
    # normpath resolves "/echo.api/../x" so traversal out of the prefix is caught.
    path = posixpath.normpath(path)
    if not path.startswith(CERT_PATH_PREFIX):
        raise VerificationError(f"certificate URL path must be under {CERT_PATH_PREFIX}")
    return f"https://{CERT_HOST}{quote(path, safe='/')}"


# Alexa signs with a handful of URLs: each is checked once (a bad one raises, and is not kept).
_checked_cert_url = functools.lru_cache(maxsize=MAX_CACHED_CHAINS)(check_cert_url)


# --------------------------------------------------------------------------
# Certificate download
# --------------------------------------------------------------------------


class HttpFetcher:
    """Default certificate downloader: a wall-clock deadline, no redirects, a size cap.

    Built on ``http.client`` because no HTTP client library bounds a whole download: their
    timeouts apply to each socket operation, so a server that drips a byte at a time holds the
    request for as long as it likes. Here a timer shuts the socket down when the deadline passes,
    which ends any handshake or read in progress.
    """

    def __init__(
        self,
        *,
        max_bytes: int = MAX_CERT_BYTES,
        socket_timeout: float = FETCH_SOCKET_TIMEOUT_S,
        deadline: float = FETCH_DEADLINE_S,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._socket_timeout = socket_timeout
        self._deadline = deadline
        self._context = context

    def __call__(self, url: str) -> bytes:
        try:
            parts = urlsplit(require_https_or_loopback(url))
        except ValueError:
            raise VerificationError("certificate URL is malformed") from None
        secure = parts.scheme == "https"
        tls = (self._context or ssl.create_default_context(cafile=certifi.where())) if secure else None
        watchdog = _Watchdog(self._deadline)
        connection = _Connection(
            parts.hostname or "",
            parts.port or (443 if secure else 80),
            # The TCP connect cannot be shut down from outside, so it gets no more than the deadline.
            connect_timeout=min(self._socket_timeout, self._deadline),
            socket_timeout=self._socket_timeout,
            tls=tls,
            watchdog=watchdog,
        )
        try:
            connection.connect()
            watchdog.check()
            # No redirects: http.client never follows them, and anything but 200 is a refusal.
            connection.request("GET", parts.path or "/", headers={"Accept": "*/*", "Connection": "close"})
            response = connection.getresponse()
            if response.status != 200:
                raise VerificationError("certificate download failed")
            declared = response.getheader("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                raise VerificationError("certificate download too large")
            data = bytearray()
            while chunk := response.read(8192):
                data += chunk
                if len(data) > self._max_bytes:
                    raise VerificationError("certificate download too large")
            # A shut-down socket can look like the clean end of a body without a length.
            watchdog.check()
            return bytes(data)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            watchdog.check()
            raise VerificationError("certificate download failed") from exc
        finally:
            watchdog.cancel()
            connection.close()


class _Watchdog:
    """Shuts the download's socket down once ``deadline`` seconds have passed."""

    def __init__(self, deadline: float) -> None:
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.expired = False
        self._timer = threading.Timer(deadline, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def hold(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shutdown()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            # The plain socket's shutdown, not close (which leaves a blocked recv blocked) nor
            # SSLSocket.shutdown (which unwraps TLS under the reading thread's feet).
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def check(self) -> None:
        if self.expired:
            raise VerificationError("certificate download too slow")

    def cancel(self) -> None:
        self._timer.cancel()


class _Connection(http.client.HTTPConnection):
    """An HTTP(S) connection that shows each socket it makes to the watchdog before using it.

    ``HTTPSConnection`` cannot: its TLS handshake runs inside ``wrap_socket`` on a socket that
    nobody else holds yet, so a server that never answers the handshake could not be cut off.
    The socket is also kept past ``Connection: close``, when http.client drops its own reference
    while the response goes on reading from it.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float,
        socket_timeout: float,
        tls: ssl.SSLContext | None,
        watchdog: _Watchdog,
    ) -> None:
        super().__init__(host, port, timeout=connect_timeout)
        self._socket_timeout = socket_timeout
        self._tls = tls
        self._watchdog = watchdog

    def connect(self) -> None:
        super().connect()
        # From here on the watchdog holds the socket, so the deadline bounds every operation.
        self.sock.settimeout(self._socket_timeout)
        self._watchdog.hold(self.sock)
        if self._tls is not None:
            self.sock = self._tls.wrap_socket(
                self.sock, server_hostname=self.host, do_handshake_on_connect=False
            )
            self._watchdog.hold(self.sock)
            self.sock.do_handshake()


# Alexa's signature scheme; both objects only describe it, so one of each serves every request.
_PADDING = padding.PKCS1v15()
_HASH = hashes.SHA256()
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_roots_lock = threading.Lock()


@functools.cache
def _certifi_roots() -> tuple[x509.Certificate, ...]:
    """certifi's bundle, parsed once per process on first use.

    Parsed one certificate at a time: the bundle holds a few roots with serial
    number 0 (e.g. Starfield Services Root G2, part of Amazon's cross-signed
    path) that cryptography warns about and may refuse in a later release; one
    bad entry must then cost only that root, not the whole store.
    """
    with open(certifi.where(), "rb") as fh:
        blocks = _PEM_BLOCK.findall(fh.read())
    roots: list[x509.Certificate] = []
    # catch_warnings mutates process-global state, hence the lock.
    with _roots_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in blocks:
            try:
                roots.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return tuple(roots)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------
# Verifier
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _TrustedChain:
    """What we keep of a validated chain: enough to check signatures."""

    public_key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime


class HeaderSource(Protocol):
    """Anything with ``items()`` of (name, value): dicts and Werkzeug ``Headers``
    (which is not a ``Mapping`` subtype, so it needs this structural type)."""

    def items(self) -> Iterable[tuple[str, str]]: ...


# Where a WSGI server puts each header (CGI names), which is where Werkzeug's headers read them from.
_ENVIRON_KEYS = {CERT_URL_HEADER: "HTTP_SIGNATURECERTCHAINURL", SIGNATURE_HEADER: "HTTP_SIGNATURE_256"}


def environ_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The headers ``verify`` reads, taken from a WSGI environ without going through every header."""
    return {name: environ[key] for name, key in _ENVIRON_KEYS.items() if key in environ}


def _header(headers: Mapping[str, str] | HeaderSource, name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts and Werkzeug headers."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


class _Flight:
    """One certificate download in progress, and its outcome for everyone waiting on it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._chain: _TrustedChain | None = None
        self._reason = "certificate download failed"

    def finish(self, chain: _TrustedChain | None, reason: str) -> None:
        self._chain, self._reason = chain, reason
        self._done.set()

    def wait(self, timeout: float) -> _TrustedChain:
        if not self._done.wait(timeout):
            raise VerificationError("certificate download too slow")
        if self._chain is None:
            raise VerificationError(self._reason)
        return self._chain


class RequestVerifier:
    """Verifies Alexa requests; one instance is meant to be shared (thread-safe)."""

    def __init__(
        self,
        *,
        skill_id: str | None = None,
        roots: Sequence[x509.Certificate] | None = None,
        fetch: Callable[[str], bytes] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._skill_id = skill_id
        self._roots = list(roots) if roots is not None else None
        self._fetch: Callable[[str], bytes] = fetch if fetch is not None else HttpFetcher()
        self._clock: Callable[[], datetime] = clock if clock is not None else _utcnow
        self._store: x509v.Store | None = None
        self._lock = threading.Lock()
        # URL -> validated chain, in LRU order; bounded so hostile URLs can't grow it.
        self._cache: OrderedDict[str, _TrustedChain] = OrderedDict()
        # URL -> (refused until, reason): a bad URL costs one download per FAILURE_CACHE_S.
        self._failures: OrderedDict[str, tuple[datetime, str]] = OrderedDict()
        # URL -> the download in progress, which concurrent requests for that URL wait for.
        self._inflight: dict[str, _Flight] = {}

    def verify(
        self, headers: Mapping[str, str] | HeaderSource, body: bytes, payload: Mapping[str, Any]
    ) -> None:
        """Raises VerificationError; `payload` is the already-parsed JSON of `body`."""
        cert_url = _header(headers, CERT_URL_HEADER)
        if not cert_url:
            raise VerificationError(f"missing {CERT_URL_HEADER} header")
        sig_b64 = _header(headers, SIGNATURE_HEADER)
        if not sig_b64:
            raise VerificationError(f"missing {SIGNATURE_HEADER} header")
        fetch_url = _checked_cert_url(cert_url.strip())
        try:
            signature = base64.b64decode(sig_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise VerificationError(f"{SIGNATURE_HEADER} is not valid base64") from None
        if not signature:
            raise VerificationError(f"{SIGNATURE_HEADER} is empty")

        now = self._clock()
        # Cheap payload checks before any network access.
        check_timestamp(payload, now)
        check_skill_id(payload, self._skill_id)

        chain = self._trusted_chain(fetch_url, now)
        try:
            chain.public_key.verify(signature, body, _PADDING, _HASH)
        except InvalidSignature:
            raise VerificationError("signature does not match request body") from None

    # -- chain handling ----------------------------------------------------

    def _trusted_chain(self, url: str, now: datetime) -> _TrustedChain:
        with self._lock:
            cached = self._cache.get(url)
            if cached is not None:
                if cached.not_before <= now < cached.not_after:
                    self._cache.move_to_end(url)
                    return cached
                del self._cache[url]
            failed = self._failures.get(url)
            if failed is not None:
                until, reason = failed
                if now < until:
                    raise VerificationError(reason)
                del self._failures[url]
            flight = self._inflight.get(url)
            leading = flight is None
            if flight is None:
                flight = self._inflight[url] = _Flight()
        if not leading:
            return flight.wait(FETCH_DEADLINE_S + 1.0)
        # One download per URL at a time, outside the lock; the others wait for its outcome.
        try:
            chain = self._load_chain(url, now)
        except VerificationError as exc:
            self._settle(url, flight, failure=(now + timedelta(seconds=FAILURE_CACHE_S), exc.reason))
            raise
        except BaseException:
            self._settle(url, flight, failure=None)
            raise
        self._settle(url, flight, chain=chain)
        return chain

    def _settle(
        self,
        url: str,
        flight: _Flight,
        *,
        chain: _TrustedChain | None = None,
        failure: tuple[datetime, str] | None = None,
    ) -> None:
        with self._lock:
            self._inflight.pop(url, None)
            if chain is not None:
                self._cache[url] = chain
                self._cache.move_to_end(url)
                while len(self._cache) > MAX_CACHED_CHAINS:
                    self._cache.popitem(last=False)
            elif failure is not None:
                self._failures[url] = failure
                self._failures.move_to_end(url)
                while len(self._failures) > MAX_CACHED_FAILURES:
                    self._failures.popitem(last=False)
        flight.finish(chain, failure[1] if failure else "certificate download failed")

    def _load_chain(self, url: str, now: datetime) -> _TrustedChain:
        try:
            pem = self._fetch(url)
        except VerificationError:
            raise
        except Exception as exc:  # any fetcher failure is a refusal, never a 500
            raise VerificationError("certificate download failed") from exc
        if not isinstance(pem, bytes | bytearray) or len(pem) > MAX_CERT_BYTES:
            raise VerificationError("certificate download too large")
        try:
            certs = x509.load_pem_x509_certificates(bytes(pem))
        except ValueError:
            raise VerificationError("certificate chain is not valid PEM") from None
        leaf, intermediates = certs[0], certs[1:]

        # Pre-checks on the leaf only to give precise reasons; the verifier
        # below enforces the same things (and more) on the whole chain.
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise VerificationError("certificate expired or not yet valid")
        if not _has_dns_san(leaf, ECHO_API_HOSTNAME):
            raise VerificationError(f"certificate is not issued for {ECHO_API_HOSTNAME}")
        public_key = leaf.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise VerificationError("certificate key is not RSA")

        verifier = (
            x509v.PolicyBuilder()
            .store(self._trust_store())
            .time(now)
            .build_server_verifier(x509.DNSName(ECHO_API_HOSTNAME))
        )
        try:
            validated = verifier.verify(leaf, intermediates)
        except x509v.VerificationError as exc:
            raise VerificationError("certificate chain is not trusted") from exc

        # Cache no longer than every certificate in the validated path is valid
        # (normally that is the leaf's lifetime).
        return _TrustedChain(
            public_key=public_key,
            not_before=max(c.not_valid_before_utc for c in validated),
            not_after=min(c.not_valid_after_utc for c in validated),
        )

    def _trust_store(self) -> x509v.Store:
        with self._lock:
            if self._store is None:
                roots = self._roots if self._roots is not None else list(_certifi_roots())
                if not roots:
                    raise VerificationError("no trusted root certificates configured")
                self._store = x509v.Store(roots)
            return self._store


def _has_dns_san(cert: x509.Certificate, hostname: str) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return any(name.lower() == hostname for name in san.get_values_for_type(x509.DNSName))
