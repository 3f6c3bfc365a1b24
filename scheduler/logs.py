"""Logging helpers shared by the skill and the worker: untrusted text made safe, users named by hash.

Anything that came from a request (a requestId, a slot value, a user id) may hold newlines, control
characters, lone surrogates or kilobytes of junk. ``safe`` turns it into one short printable line,
so a log line can never be forged or flooded. ``user_ref`` names a user by a short stable hash, the
same in the skill and in the worker, so one person can be followed without logging their id.
"""

from __future__ import annotations

import hashlib

# Long enough for any real Alexa id (requestIds are ~70 characters); junk past it is cut.
DEFAULT_LIMIT = 120
_ELLIPSIS = "…"


def safe(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """``value`` as one printable line of at most ``limit`` characters (plus a length note if cut).

    Control and other non-printable characters become backslash escapes; so do lone surrogates,
    which would otherwise make the log handler fail to encode the line.
    """
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    if cut:
        text = text[:limit]
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char.isprintable() and not 0xD800 <= code <= 0xDFFF:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    escaped = "".join(out)
    if cut:
        total = len(value) if isinstance(value, str) else len(str(value))
        escaped += f"{_ELLIPSIS}({total} chars)"
    return escaped


def user_ref(alexa_user_id: str | None) -> str:
    """A short, stable, non-reversible name for a user in logs: ``u-`` and 12 hex digits."""
    if not alexa_user_id:
        return "u-none"
    digest = hashlib.sha256(alexa_user_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"u-{digest[:12]}"
