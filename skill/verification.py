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
import functools
import posixpath
import re
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import certifi
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification as x509v

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
]

CERT_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
ECHO_API_HOSTNAME = "echo-api.amazon.com"

TIMESTAMP_TOLERANCE_S = 150.0
# Skill events (enable/disable, permission changes, ...) may be redelivered by
# Amazon for a while, so they carry older timestamps legitimately.
SKILL_EVENT_TOLERANCE_S = 3600.0
SKILL_EVENT_PREFIX = "AlexaSkillEvent."

MAX_CERT_BYTES = 64 * 1024
FETCH_TIMEOUT_S = (3.0, 3.0)  # (connect, read) for requests
# The read timeout applies per socket read; this bounds a slow-drip download.
FETCH_DEADLINE_S = 10.0
MAX_CACHED_CHAINS = 64


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
        if not isinstance(node, Mapping):
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

    Tolerance is 150 s either way, or one hour for ``AlexaSkillEvent.*``.
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
    request_type = _get_path(payload, "request", "type")
    tolerance = (
        SKILL_EVENT_TOLERANCE_S
        if isinstance(request_type, str) and request_type.startswith(SKILL_EVENT_PREFIX)
        else TIMESTAMP_TOLERANCE_S
    )
    if abs((now - stamp).total_seconds()) > tolerance:
        raise VerificationError("request timestamp too far from current time")


def check_cert_url(url: str) -> None:
    """Apply Amazon's rules to the ``SignatureCertChainUrl`` value."""
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
    if (parts.hostname or "") != "s3.amazonaws.com":  # .hostname is already lower-cased
        raise VerificationError("certificate URL host must be s3.amazonaws.com")
    if port is not None and port != 443:
        raise VerificationError("certificate URL port must be 443")
    # normpath resolves "/echo.api/../x" so traversal out of the prefix is caught.
    if not posixpath.normpath(parts.path).startswith("/echo.api/"):
        raise VerificationError("certificate URL path must be under /echo.api/")


# --------------------------------------------------------------------------
# Certificate download
# --------------------------------------------------------------------------


class HttpFetcher:
    """Default certificate downloader: timeouts, no redirects, size cap.

    ``session`` is injectable so tests can exercise the limits offline.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        max_bytes: int = MAX_CERT_BYTES,
        timeout: tuple[float, float] = FETCH_TIMEOUT_S,
        deadline: float = FETCH_DEADLINE_S,
    ) -> None:
        self._session = session
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._deadline = deadline

    def __call__(self, url: str) -> bytes:
        getter = self._session.get if self._session is not None else requests.get
        started = time.monotonic()
        # No redirects: the URL we checked is the URL we fetch.
        with getter(url, timeout=self._timeout, stream=True, allow_redirects=False) as resp:
            if resp.status_code != 200:
                raise VerificationError("certificate download failed")
            declared = resp.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                raise VerificationError("certificate download too large")
            data = bytearray()
            for chunk in resp.iter_content(chunk_size=8192):
                data += chunk
                if len(data) > self._max_bytes:
                    raise VerificationError("certificate download too large")
                if time.monotonic() - started > self._deadline:
                    raise VerificationError("certificate download too slow")
            return bytes(data)


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


def _header(headers: Mapping[str, str] | HeaderSource, name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts and Werkzeug headers."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


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
        cert_url = cert_url.strip()
        check_cert_url(cert_url)
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

        chain = self._trusted_chain(cert_url, now)
        try:
            chain.public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
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
        # Download and validate outside the lock; two concurrent misses for the
        # same URL just both validate, which is harmless.
        chain = self._load_chain(url, now)
        with self._lock:
            self._cache[url] = chain
            self._cache.move_to_end(url)
            while len(self._cache) > MAX_CACHED_CHAINS:
                self._cache.popitem(last=False)
        return chain

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
