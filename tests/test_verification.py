"""Tests for skill.verification (offline: certificates come from tests.certs)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from cryptography.x509 import verification as x509v

from skill import verification
from skill.verification import (
    RequestVerifier,
    VerificationError,
    check_cert_url,
    check_skill_id,
    check_timestamp,
)
from tests.certs import TEST_SKILL_ID, TestPKI, make_payload, make_pki, sign, signed_headers


class Clock:
    """Injected clock that tests can move."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class CountingFetcher:
    """Serves one PKI's chain for any URL and counts calls."""

    def __init__(self, pki: TestPKI) -> None:
        self.pki = pki
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        with self._lock:
            self.calls.append(url)
        return self.pki.chain_pem


def _request(
    pki: TestPKI, clock: Clock, *, url: str | None = None, **payload_kw: Any
) -> tuple[dict[str, str], bytes, dict[str, Any]]:
    payload = make_payload(timestamp=payload_kw.pop("timestamp", clock.now), **payload_kw)
    body = json.dumps(payload).encode()
    headers = signed_headers(pki, body)
    if url is not None:
        headers["SignatureCertChainUrl"] = url
    return headers, body, payload


def _verifier(
    pki: TestPKI, clock: Clock, fetch: Any = None, skill_id: str | None = TEST_SKILL_ID
) -> RequestVerifier:
    return RequestVerifier(
        skill_id=skill_id, roots=[pki.root], fetch=fetch or CountingFetcher(pki), clock=clock
    )


@pytest.fixture
def pki() -> TestPKI:
    return make_pki()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fetcher(pki: TestPKI) -> CountingFetcher:
    return CountingFetcher(pki)


@pytest.fixture
def verifier(pki: TestPKI, clock: Clock, fetcher: CountingFetcher) -> RequestVerifier:
    return _verifier(pki, clock, fetcher)


def _refused(verifier: RequestVerifier, headers: dict[str, str], body: bytes, payload: Any) -> str:
    with pytest.raises(VerificationError) as info:
        verifier.verify(headers, body, payload)
    assert str(info.value) == info.value.reason
    return info.value.reason


# -- happy path -------------------------------------------------------------


def test_signed_request_passes(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    verifier.verify(*_request(pki, clock))


def test_header_names_are_case_insensitive(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    headers, body, payload = _request(pki, clock)
    lowered = {k.lower(): v for k, v in headers.items()}
    verifier.verify(lowered, body, payload)


@pytest.mark.parametrize(
    "url_template",
    [
        "https://S3.AMAZONAWS.COM/echo.api/{name}",
        "https://s3.amazonaws.com:443/echo.api/{name}",
        "HTTPS://s3.AmazonAWS.com:443/echo.api/{name}",
        "https://s3.amazonaws.com/echo.api/../echo.api/{name}",
    ],
)
def test_equivalent_cert_urls_accepted(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, url_template: str
) -> None:
    name = pki.cert_url.rsplit("/", 1)[1]
    verifier.verify(*_request(pki, clock, url=url_template.format(name=name)))


@pytest.mark.parametrize(
    ("url", "fetched"),
    [
        (
            "https://S3.AMAZONAWS.COM:443/echo.api/../echo.api/c.pem",
            "https://s3.amazonaws.com/echo.api/c.pem",
        ),
        ("https://s3.amazonaws.com/echo.api/%63.pem", "https://s3.amazonaws.com/echo.api/c.pem"),
        ("https://s3.amazonaws.com/echo.api/./x/%2e%2e/c.pem", "https://s3.amazonaws.com/echo.api/c.pem"),
        ("https://s3.amazonaws.com/echo.api/a%20b.pem", "https://s3.amazonaws.com/echo.api/a%20b.pem"),
        (
            "https://s3.amazonaws.com/echo.api/%252e%252e/c.pem",
            "https://s3.amazonaws.com/echo.api/%252e%252e/c.pem",
        ),
    ],
)
def test_the_url_downloaded_is_the_url_checked(pki: TestPKI, clock: Clock, url: str, fetched: str) -> None:
    assert check_cert_url(url) == fetched
    fetcher = CountingFetcher(pki)
    _verifier(pki, clock, fetcher).verify(*_request(pki, clock, url=url))
    assert fetcher.calls == [fetched]


def test_no_skill_id_configured_accepts_any_application(pki: TestPKI, clock: Clock) -> None:
    verifier = _verifier(pki, clock, skill_id=None)
    verifier.verify(*_request(pki, clock, application_id="amzn1.ask.skill.someone-else"))


# -- body, signature and headers -----------------------------------------------


def test_tampered_body_refused(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    headers, body, payload = _request(pki, clock)
    tampered = body.replace(b"LaunchRequest", b"SessionEndedRequest")
    assert tampered != body
    assert _refused(verifier, headers, tampered, payload) == "signature does not match request body"


def test_signature_by_other_key_refused(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    headers, body, payload = _request(pki, clock)
    headers["Signature-256"] = sign(body, make_pki(untrusted=True).leaf_key)
    assert _refused(verifier, headers, body, payload) == "signature does not match request body"


def test_missing_signature_header_refused(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    headers, body, payload = _request(pki, clock)
    del headers["Signature-256"]
    assert _refused(verifier, headers, body, payload) == "missing Signature-256 header"


def test_missing_cert_url_header_refused(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    headers, body, payload = _request(pki, clock)
    del headers["SignatureCertChainUrl"]
    assert _refused(verifier, headers, body, payload) == "missing SignatureCertChainUrl header"


@pytest.mark.parametrize("garbage", ["not base64!!", "abc", "====", "YWJj\x00"])
def test_garbage_base64_refused(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, fetcher: CountingFetcher, garbage: str
) -> None:
    headers, body, payload = _request(pki, clock)
    headers["Signature-256"] = garbage
    assert _refused(verifier, headers, body, payload) == "Signature-256 is not valid base64"
    assert fetcher.calls == []


def test_valid_base64_wrong_length_signature_refused(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock
) -> None:
    headers, body, payload = _request(pki, clock)
    headers["Signature-256"] = "YWJj"  # "abc": decodes fine, is no RSA signature
    assert _refused(verifier, headers, body, payload) == "signature does not match request body"


# -- certificate URL -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://s3.amazonaws.com/echo.api/cert.pem", "certificate URL must use https"),
        ("https://notamazon.com/echo.api/cert.pem", "certificate URL host must be s3.amazonaws.com"),
        (
            "https://s3.amazonaws.com.evil.com/echo.api/cert.pem",
            "certificate URL host must be s3.amazonaws.com",
        ),
        ("https://evil@s3.amazonaws.com/echo.api/cert.pem", "certificate URL must not contain credentials"),
        ("https://s3.amazonaws.com:8443/echo.api/cert.pem", "certificate URL port must be 443"),
        ("https://s3.amazonaws.com:abc/echo.api/cert.pem", "certificate URL is malformed"),
        ("https://s3.amazonaws.com/EcHo.aPi/cert.pem", "certificate URL path must be under /echo.api/"),
        ("https://s3.amazonaws.com/invalid.path/cert.pem", "certificate URL path must be under /echo.api/"),
        (
            "https://s3.amazonaws.com/echo.api/../evil/cert.pem",
            "certificate URL path must be under /echo.api/",
        ),
        ("https://s3.amazonaws.com/echo.api", "certificate URL path must be under /echo.api/"),
        ("https://s3.amazonaws.com", "certificate URL path must be under /echo.api/"),
        # Percent-encoded traversal: the rule is applied to the decoded path.
        (
            "https://s3.amazonaws.com/echo.api/%2e%2e/other/cert.pem",
            "certificate URL path must be under /echo.api/",
        ),
        (
            "https://s3.amazonaws.com/echo.api/%2E%2E/other/cert.pem",
            "certificate URL path must be under /echo.api/",
        ),
        (
            "https://s3.amazonaws.com/echo.api/..%2fother/cert.pem",
            "certificate URL path must be under /echo.api/",
        ),
        (
            "https://s3.amazonaws.com/echo.api%2F../other/cert.pem",
            "certificate URL path must be under /echo.api/",
        ),
        (
            "https://s3.amazonaws.com/%65cho.api/../x/cert.pem",
            "certificate URL path must be under /echo.api/",
        ),
        ("https://s3.amazonaws.com/echo.api/a%00b.pem", "certificate URL path is malformed"),
        ("https://s3.amazonaws.com/echo.api/a%0d%0ab.pem", "certificate URL path is malformed"),
        ("https://s3.amazonaws.com/echo.api/a%5c..%5c..%5cx.pem", "certificate URL path is malformed"),
        ("https://s3.amazonaws.com/echo.api/%ff.pem", "certificate URL path is malformed"),
        (
            "https://s3.amazonaws.com/echo.api/cert.pem?x=1",
            "certificate URL must not have a query or fragment",
        ),
        ("https://s3.amazonaws.com/echo.api/cert.pem#x", "certificate URL must not have a query or fragment"),
    ],
)
def test_bad_cert_url_refused_without_fetch(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, fetcher: CountingFetcher, url: str, reason: str
) -> None:
    assert _refused(verifier, *_request(pki, clock, url=url)) == reason
    assert fetcher.calls == []
    with pytest.raises(VerificationError):
        check_cert_url(url)


# -- certificate chain ---------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"san": "www.example.com"}, "certificate is not issued for echo-api.amazon.com"),
        ({"expired": True}, "certificate expired or not yet valid"),
        ({"untrusted": True}, "certificate chain is not trusted"),
    ],
)
def test_bad_chain_refused(clock: Clock, options: dict[str, Any], reason: str) -> None:
    bad = make_pki(**options)
    verifier = _verifier(bad, clock)
    assert _refused(verifier, *_request(bad, clock)) == reason


def test_chain_missing_intermediate_refused(pki: TestPKI, clock: Clock) -> None:
    leaf_only = pki.chain_pem.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"
    verifier = _verifier(pki, clock, fetch=lambda url: leaf_only)
    assert _refused(verifier, *_request(pki, clock)) == "certificate chain is not trusted"


def test_non_pem_download_refused(pki: TestPKI, clock: Clock) -> None:
    verifier = _verifier(pki, clock, fetch=lambda url: b"<html>nope</html>")
    assert _refused(verifier, *_request(pki, clock)) == "certificate chain is not valid PEM"


def test_failed_chain_is_cached_briefly_then_fetched_again(pki: TestPKI, clock: Clock) -> None:
    bad = make_pki(untrusted=True)
    fetcher = CountingFetcher(bad)
    verifier = _verifier(pki, clock, fetcher)
    request = _request(bad, clock)
    for _ in range(30):
        assert _refused(verifier, *request) == "certificate chain is not trusted"
    assert len(fetcher.calls) == 1, "30 forged requests with one bad URL cost one download"
    clock.now += timedelta(seconds=verification.FAILURE_CACHE_S + 1)
    assert _refused(verifier, *_request(bad, clock)) == "certificate chain is not trusted"
    assert len(fetcher.calls) == 2, "the failure is remembered only briefly"


def test_a_good_chain_at_another_url_is_not_blocked_by_a_failure(pki: TestPKI, clock: Clock) -> None:
    fetcher = CountingFetcher(pki)
    verifier = _verifier(pki, clock, fetch=lambda url: b"junk" if "bad" in url else fetcher(url))
    bad_url = "https://s3.amazonaws.com/echo.api/bad.pem"
    assert _refused(verifier, *_request(pki, clock, url=bad_url)) == "certificate chain is not valid PEM"
    verifier.verify(*_request(pki, clock))


def test_concurrent_requests_for_one_url_share_one_download(pki: TestPKI, clock: Clock) -> None:
    bad = make_pki(untrusted=True)
    release = threading.Event()
    calls: list[str] = []

    def slow_fetch(url: str) -> bytes:
        calls.append(url)
        release.wait(10)
        return bad.chain_pem

    verifier = _verifier(pki, clock, fetch=slow_fetch)
    request = _request(bad, clock)
    reasons: list[str] = []

    def attempt() -> None:
        reasons.append(_refused(verifier, *request))

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    while not calls:  # the first download has begun; the others find it in flight
        threading.Event().wait(0.01)
    release.set()
    for t in threads:
        t.join(20)
    assert reasons == ["certificate chain is not trusted"] * 10
    assert len(calls) == 1


def test_failure_cache_is_bounded(pki: TestPKI, clock: Clock) -> None:
    verifier = _verifier(pki, clock, fetch=lambda url: b"junk")
    for i in range(verification.MAX_CACHED_FAILURES + 20):
        url = f"https://s3.amazonaws.com/echo.api/bad-{i}.pem"
        _refused(verifier, *_request(pki, clock, url=url))
    assert len(verifier._failures) == verification.MAX_CACHED_FAILURES


def test_default_roots_are_certifi_and_do_not_trust_test_chain(pki: TestPKI, clock: Clock) -> None:
    roots = verification._certifi_roots()
    assert len(roots) > 50
    verifier = RequestVerifier(fetch=pki.fetch, clock=clock)
    assert _refused(verifier, *_request(pki, clock)) == "certificate chain is not trusted"


# -- download failures ---------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("boom"),
        requests.Timeout("slow"),
        LookupError("no such object"),
        RuntimeError("anything"),
    ],
)
def test_fetch_failure_refused(pki: TestPKI, clock: Clock, exc: Exception) -> None:
    def failing(url: str) -> bytes:
        raise exc

    verifier = _verifier(pki, clock, fetch=failing)
    assert _refused(verifier, *_request(pki, clock)) == "certificate download failed"


def test_oversized_download_from_injected_fetcher_refused(pki: TestPKI, clock: Clock) -> None:
    huge = pki.chain_pem + b"\n" * (verification.MAX_CERT_BYTES + 1)
    verifier = _verifier(pki, clock, fetch=lambda url: huge)
    assert _refused(verifier, *_request(pki, clock)) == "certificate download too large"


# -- timestamps ----------------------------------------------------------------


@pytest.mark.parametrize("offset", [-150, -30, 0, 30, 150])
def test_timestamp_within_tolerance_accepted(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, offset: int
) -> None:
    clock.now = clock.now.replace(microsecond=0)
    verifier.verify(*_request(pki, clock, timestamp=clock.now + timedelta(seconds=offset)))


@pytest.mark.parametrize("offset", [-151, -3600, 151, 3600])
def test_stale_or_future_timestamp_refused(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, fetcher: CountingFetcher, offset: int
) -> None:
    clock.now = clock.now.replace(microsecond=0)
    request = _request(pki, clock, timestamp=clock.now + timedelta(seconds=offset))
    assert _refused(verifier, *request) == "request timestamp too far from current time"
    assert fetcher.calls == []  # refused before any download


def test_skill_event_within_one_hour_accepted(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    clock.now = clock.now.replace(microsecond=0)
    stamp = clock.now - timedelta(seconds=3599)
    verifier.verify(*_request(pki, clock, request_type="AlexaSkillEvent.SkillEnabled", timestamp=stamp))


def test_skill_event_older_than_one_hour_refused(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock
) -> None:
    clock.now = clock.now.replace(microsecond=0)
    stamp = clock.now - timedelta(seconds=3601)
    request = _request(pki, clock, request_type="AlexaSkillEvent.SkillDisabled", timestamp=stamp)
    assert _refused(verifier, *request) == "request timestamp too far from current time"


def test_check_timestamp_formats() -> None:
    now = datetime(2026, 11, 23, 19, 40, 0, tzinfo=UTC)
    for stamp in ["2026-11-23T19:40:00Z", "2026-11-23T19:41:00.123Z", "2026-11-23T20:40:00+01:00"]:
        check_timestamp({"request": {"type": "IntentRequest", "timestamp": stamp}}, now)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"request": {"type": "IntentRequest"}}, "request timestamp missing"),
        ({"request": {"timestamp": 1764000000}}, "request timestamp missing"),
        ({}, "request timestamp missing"),
        ({"request": {"timestamp": "yesterday"}}, "request timestamp is not ISO 8601"),
        ({"request": {"timestamp": "2026-11-23T19:40:00"}}, "request timestamp has no timezone"),
    ]
    for payload, reason in bad:
        with pytest.raises(VerificationError) as info:
            check_timestamp(payload, now)
        assert info.value.reason == reason


# -- skill id ------------------------------------------------------------------


def test_wrong_skill_id_refused(verifier: RequestVerifier, pki: TestPKI, clock: Clock) -> None:
    request = _request(pki, clock, application_id="amzn1.ask.skill.someone-else")
    assert _refused(verifier, *request) == "applicationId does not match this skill"


def test_check_skill_id_standalone() -> None:
    payload = make_payload()
    check_skill_id(payload, TEST_SKILL_ID)
    check_skill_id(payload, None)
    check_skill_id({}, None)
    check_skill_id({}, "")
    # Falls back to session.application when context is absent (older envelopes).
    del payload["context"]
    check_skill_id(payload, TEST_SKILL_ID)
    with pytest.raises(VerificationError, match="does not match"):
        check_skill_id(payload, "amzn1.ask.skill.other")
    with pytest.raises(VerificationError, match="applicationId missing"):
        check_skill_id({"request": {}}, TEST_SKILL_ID)


# -- caching -------------------------------------------------------------------


def test_chain_fetched_and_validated_once_for_many_requests(
    verifier: RequestVerifier,
    pki: TestPKI,
    clock: Clock,
    fetcher: CountingFetcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds = 0
    real_builder = x509v.PolicyBuilder

    def counting_builder() -> Any:
        nonlocal builds
        builds += 1
        return real_builder()

    monkeypatch.setattr(x509v, "PolicyBuilder", counting_builder)
    for _ in range(20):
        verifier.verify(*_request(pki, clock))
    assert fetcher.calls == [pki.cert_url]
    assert builds == 1


def test_cache_is_thread_safe(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, fetcher: CountingFetcher
) -> None:
    request = _request(pki, clock)
    verifier.verify(*request)  # warm the cache
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(25):
                verifier.verify(*request)
        except BaseException as exc:  # surface any failure to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(fetcher.calls) == 1


def test_chain_refetched_after_cached_leaf_expires(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, fetcher: CountingFetcher
) -> None:
    verifier.verify(*_request(pki, clock))
    # Just before the leaf expires the cached chain is still used.
    clock.now = pki.leaf.not_valid_after_utc - timedelta(seconds=1)
    verifier.verify(*_request(pki, clock))
    assert len(fetcher.calls) == 1
    # Past expiry the cache entry is dropped, the chain re-fetched and, being
    # expired now, refused.
    clock.now = pki.leaf.not_valid_after_utc + timedelta(seconds=1)
    assert _refused(verifier, *_request(pki, clock)) == "certificate expired or not yet valid"
    assert len(fetcher.calls) == 2


def test_cache_is_bounded(pki: TestPKI, clock: Clock, fetcher: CountingFetcher) -> None:
    verifier = _verifier(pki, clock, fetcher)
    limit = verification.MAX_CACHED_CHAINS
    for i in range(limit + 10):
        url = f"https://s3.amazonaws.com/echo.api/cert-{i}.pem"
        verifier.verify(*_request(pki, clock, url=url))
    assert len(verifier._cache) == limit
    # The oldest URL was evicted; using it again downloads again.
    calls = len(fetcher.calls)
    verifier.verify(*_request(pki, clock, url="https://s3.amazonaws.com/echo.api/cert-0.pem"))
    assert len(fetcher.calls) == calls + 1


def test_no_deprecation_warnings(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, recwarn: pytest.WarningsRecorder
) -> None:
    verifier.verify(*_request(pki, clock))
    assert [w for w in recwarn if issubclass(w.category, DeprecationWarning)] == []


@pytest.mark.parametrize("spelling", [str, str.lower, str.upper])
def test_environ_headers_are_what_werkzeug_reads(
    verifier: RequestVerifier, pki: TestPKI, clock: Clock, spelling: Any
) -> None:
    """The endpoint reads the two headers from the WSGI environ: the values Werkzeug's headers hold."""
    from werkzeug.datastructures import EnvironHeaders
    from werkzeug.test import EnvironBuilder

    headers, body, payload = _request(pki, clock)
    sent = {spelling(name): value for name, value in headers.items()} | {"X-Other": "1"}
    environ = EnvironBuilder(method="POST", data=body, headers=sent).get_environ()
    found = verification.environ_headers(environ)
    werkzeug = EnvironHeaders(environ)
    assert found == {
        name: werkzeug[name] for name in (verification.CERT_URL_HEADER, verification.SIGNATURE_HEADER)
    }
    verifier.verify(found, body, payload)
    assert verification.environ_headers({"HTTP_X_OTHER": "1"}) == {}
