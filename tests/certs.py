"""Throwaway PKI for signing test requests the way Alexa does.

Usage::

    pki = make_pki()
    verifier = RequestVerifier(roots=[pki.root], fetch=pki.fetch)
    body = json.dumps(make_payload()).encode()
    client.post("/alexa", data=body, headers=signed_headers(pki, body))

Every ``make_pki`` option set is generated once per process (RSA key generation
is the slow part), so tests can call it freely.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "ECHO_API_SAN",
    "TEST_SKILL_ID",
    "TestPKI",
    "make_payload",
    "make_pki",
    "sign",
    "signed_headers",
]

ECHO_API_SAN = "echo-api.amazon.com"
TEST_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class TestPKI:
    """A signing chain plus what a verifier needs to trust it."""

    __test__ = False  # not a pytest test class, despite the name

    root: x509.Certificate
    """Trust anchor to configure in the verifier. With ``untrusted=True`` this is
    still the shared test root, which did *not* issue this chain."""
    chain_pem: bytes
    """Leaf then intermediate, PEM: what Amazon serves at ``cert_url``."""
    leaf_key: rsa.RSAPrivateKey
    cert_url: str
    """Unique per option set, so URL-keyed caches never mix chains."""
    leaf: x509.Certificate
    issuer_root: x509.Certificate
    """Root that actually issued the chain (differs from ``root`` if untrusted)."""

    def fetch(self, url: str) -> bytes:
        """A fetcher for ``RequestVerifier(fetch=...)`` that serves only ``cert_url``."""
        if url != self.cert_url:
            raise LookupError(f"test fetcher has no certificate at {url}")
        return self.chain_pem


@functools.cache
def _key(role: str) -> rsa.RSAPrivateKey:
    # One key per role; cached because 2048-bit generation is the slow part.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


_EPOCH = datetime.now(UTC).replace(microsecond=0)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cramp Coach Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ca(
    cn: str, key: rsa.RSAPrivateKey, issuer: x509.Certificate | None, issuer_key: rsa.RSAPrivateKey
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_EPOCH - timedelta(days=30))
        .not_valid_after(_EPOCH + timedelta(days=3650))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@functools.cache
def _hierarchy(tag: str) -> tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey]:
    """(root, intermediate, intermediate key) for an independent hierarchy."""
    root_key, inter_key = _key(f"{tag}-root"), _key(f"{tag}-intermediate")
    root = _ca(f"{tag} Test Root CA", root_key, None, root_key)
    inter = _ca(f"{tag} Test Intermediate CA", inter_key, root, root_key)
    return root, inter, inter_key


@functools.cache
def make_pki(*, san: str = ECHO_API_SAN, expired: bool = False, untrusted: bool = False) -> TestPKI:
    """Build (once per option set) a leaf + intermediate chain.

    - ``san``: the leaf's single DNS subjectAltName.
    - ``expired``: the leaf's validity ended a day ago.
    - ``untrusted``: the chain comes from a separate root that ``.root`` is not.
    """
    trusted_root, _, _ = _hierarchy("trusted")
    issuer_root, inter, inter_key = _hierarchy("rogue" if untrusted else "trusted")
    leaf_key = _key(f"leaf-{san}-{expired}-{untrusted}")
    if expired:
        not_before, not_after = _EPOCH - timedelta(days=20), _EPOCH - timedelta(days=1)
    else:
        not_before, not_after = _EPOCH - timedelta(days=1), _EPOCH + timedelta(days=30)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(san))
        .issuer_name(inter.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # serverAuth is required by cryptography's server verifier; Amazon's leaf has both.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), critical=False
        )
        .sign(inter_key, hashes.SHA256())
    )
    chain_pem = leaf.public_bytes(serialization.Encoding.PEM) + inter.public_bytes(serialization.Encoding.PEM)
    slug = re.sub(
        r"[^a-z0-9]+",
        "-",
        f"{san}-{'expired' if expired else 'valid'}-{'untrusted' if untrusted else 'trusted'}".lower(),
    )
    return TestPKI(
        root=trusted_root,
        chain_pem=chain_pem,
        leaf_key=leaf_key,
        cert_url=f"https://s3.amazonaws.com/echo.api/test-{slug}.pem",
        leaf=leaf,
        issuer_root=issuer_root,
    )


def sign(body: bytes, key: rsa.RSAPrivateKey) -> str:
    """The ``Signature-256`` header value for ``body``."""
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def signed_headers(pki: TestPKI, body: bytes) -> dict[str, str]:
    """Alexa's signature headers for ``body`` (merge in Content-Type yourself)."""
    return {"SignatureCertChainUrl": pki.cert_url, "Signature-256": sign(body, pki.leaf_key)}


def make_payload(
    *,
    request_type: str = "LaunchRequest",
    timestamp: datetime | None = None,
    application_id: str = TEST_SKILL_ID,
    **request_fields: Any,
) -> dict[str, Any]:
    """A minimal Alexa request envelope; ``timestamp`` defaults to now (UTC)."""
    stamp = (timestamp or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "1.0",
        "session": {
            "new": True,
            "sessionId": "amzn1.echo-api.session.test",
            "application": {"applicationId": application_id},
            "user": {"userId": "amzn1.ask.account.TEST"},
        },
        "context": {
            "System": {
                "application": {"applicationId": application_id},
                "user": {"userId": "amzn1.ask.account.TEST"},
                "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
            }
        },
        "request": {
            "type": request_type,
            "requestId": "amzn1.echo-api.request.test",
            "timestamp": stamp,
            "locale": "en-US",
            **request_fields,
        },
    }
