"""The skill's store icons, drawn with the standard library: a crescent moon on a night-blue square.

Alexa wants PNGs of 108 and 512 pixels square. Each shape is a circle's signed distance
(negative inside), so one expression per pixel gives smooth, anti-aliased edges at any size.
Only pixels within a pixel of some circle's edge can be part-covered; each row is cut at those
bands, and the runs between them are filled with one colour, which keeps the 512-pixel icon fast.
"""

from __future__ import annotations

import math
import struct
import zlib
from functools import lru_cache
from itertools import pairwise

SIZES = (108, 512)

_NIGHT = (20, 48, 90)
_MOON = (245, 215, 110)
# Circles as (x, y, radius) in units of the icon's side: the moon is a disc with a bite out of it.
_MOON_DISC = (0.44, 0.52, 0.30)
_MOON_BITE = (0.58, 0.42, 0.25)
_STARS = ((0.74, 0.26, 0.035), (0.84, 0.52, 0.025))
_CIRCLES = (_MOON_DISC, _MOON_BITE, *_STARS)

Circle = tuple[float, float, float]


def _scaled(side: int) -> tuple[Circle, ...]:
    return tuple((x * side, y * side, r * side) for x, y, r in _CIRCLES)


def _distance(x: float, y: float, circle: Circle) -> float:
    cx, cy, r = circle
    return math.hypot(x - cx, y - cy) - r


def _coverage(x: float, y: float, circles: tuple[Circle, ...]) -> float:
    """How much of the pixel centred at (x, y) the moon and stars cover, from 0 to 1."""
    disc, bite, *stars = circles
    crescent = max(_distance(x, y, disc), -_distance(x, y, bite))
    nearest = min(crescent, *(_distance(x, y, star) for star in stars))
    return min(1.0, max(0.0, 0.5 - nearest))


_LEVELS = 255
_PALETTE = [
    bytes(round(n + (m - n) * level / _LEVELS) for n, m in zip(_NIGHT, _MOON, strict=True))
    for level in range(_LEVELS + 1)
]


def _colour(coverage: float) -> bytes:
    return _PALETTE[round(coverage * _LEVELS)]


def _edges(y: float, side: int, circles: tuple[Circle, ...]) -> list[float]:
    """Where, on this row, the one-pixel band around each circle's edge begins and ends."""
    edges: list[float] = []
    for cx, cy, r in circles:
        dy = abs(y - cy)
        for radius in (r - 1.0, r + 1.0):
            if radius > dy:
                half = math.sqrt(radius * radius - dy * dy)
                edges += (cx - half, cx + half)
    return [min(max(edge, 0.0), float(side)) for edge in edges]


def _row(row: int, side: int, circles: tuple[Circle, ...]) -> bytes:
    y = row + 0.5
    edges = _edges(y, side, circles)
    cuts = sorted({0, side} | {min(side, max(0, math.floor(e) + step)) for e in edges for step in (-1, 2)})
    out = bytearray()
    for start, end in pairwise(cuts):
        middle = (start + end) / 2
        in_band = any(abs(_distance(middle, y, circle)) < 1.0 for circle in circles)
        if in_band or any(start <= edge < end for edge in edges):
            for column in range(start, end):
                out += _colour(_coverage(column + 0.5, y, circles))
        else:  # no edge is near: the whole run is sky or moon
            out += _colour(_coverage(middle, y, circles)) * (end - start)
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=len(SIZES))
def icon_png(side: int) -> bytes:
    """The icon as PNG bytes (8-bit RGB); drawn once per size and process."""
    if side not in SIZES:
        raise ValueError(f"no icon of {side} pixels; sizes are {SIZES}")
    circles = _scaled(side)
    # Each scanline starts with its filter type: 0, none.
    pixels = b"".join(b"\x00" + _row(row, side, circles) for row in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(pixels, 9))
        + _chunk(b"IEND", b"")
    )
