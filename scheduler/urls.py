"""URL policy shared by every outbound HTTP caller: https everywhere, plain http only on loopback.

Plain http is allowed on loopback so that local stubs (tests, development) work without
certificates; anything that leaves the machine must be encrypted.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (nothing else, not even LAN addresses)."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    # IPv4-mapped forms (::ffff:127.0.0.1) are deliberately not loopback here: keep the rule narrow.
    return address.is_loopback


def require_https_or_loopback(url: str) -> str:
    """Return ``url`` unchanged if it is https, or http to a loopback host; else raise ValueError.

    The error message names only the scheme and host, never the full URL, because webhook URLs
    often carry a token in their path or query.
    """
    if not isinstance(url, str) or not url:
        raise ValueError("URL must be a non-empty string")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port, which we want up front
    except ValueError as exc:
        raise ValueError(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if not host:
        raise ValueError(f"URL has no host (scheme {scheme or '?'!r})")
    if scheme == "https":
        return url
    if scheme == "http":
        if is_loopback_host(host):
            return url
        raise ValueError(f"plain http is only allowed for loopback hosts, not {host!r}; use https")
    raise ValueError(f"unsupported URL scheme {scheme!r} for host {host!r}; use https")
