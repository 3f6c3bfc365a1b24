"""The privacy and terms pages and the store icons, over HTTP through the app."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
from flask.testing import FlaskClient


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG, each CRC checked: a decoder's view, not the encoder's."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        at += 12 + length
    return chunks


@pytest.mark.parametrize("size", [108, 512])
def test_icons_are_square_pngs_of_the_size_alexa_asks_for(client: FlaskClient, size: int) -> None:
    response = client.get(f"/icons/{size}.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "max-age" in response.headers["Cache-Control"]
    chunks = png_chunks(response.data)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (width, height, depth, colour) == (size, size, 8, 2)
    pixels = zlib.decompress(chunks[1][1])
    assert len(pixels) == size * (1 + 3 * size)
    rows = [pixels[r * (1 + 3 * size) + 1 : (r + 1) * (1 + 3 * size)] for r in range(size)]
    colours = {bytes(row[i : i + 3]) for row in rows for i in range(0, len(row), 3)}
    # A picture, not a blank square: the sky, the moon, and the soft edges between them.
    assert len(colours) > 20
    assert rows[0][:3] == bytes((20, 48, 90))


def test_other_icon_sizes_are_not_found(client: FlaskClient) -> None:
    response = client.get("/icons/64.png")
    assert response.status_code == 404
    assert "108 and 512" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/privacy", ("Disabling the skill", "deletes everything", "does not sell")),
        ("/terms", ("not medical advice", "red, hot or swollen", "blood clot", "doctor")),
    ],
)
def test_policy_pages_are_html_and_say_what_matters(client: FlaskClient, path: str, words: Any) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.mimetype_params.get("charset") == "utf-8"
    page = " ".join(response.get_data(as_text=True).split())
    assert page.startswith("<!doctype html>")
    for phrase in words:
        assert phrase in page, phrase
