"""accounts/avatars.py: what an upload is, by its bytes, and what is kept of it."""

from __future__ import annotations

import struct

import pytest

from accounts.avatars import image_format, without_metadata
from tests.accounts.images import jpeg, png


def webp_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def webp(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (png(2), "png"),
        (jpeg(), "jpg"),
        (webp(webp_chunk(b"VP8L", b"\x2f\x00")), "webp"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"<!doctype html><script>", None),
        (b"", None),
    ],
)
def test_the_bytes_say_what_an_image_is(content, kind):
    assert image_format(content) == kind


def test_webp_loses_its_exif_and_xmp_and_says_so():
    flags = bytes([0x0C]) + b"\x00" * 9  # VP8X: "has EXIF", "has XMP"
    pixels = webp_chunk(b"VP8L", b"\x2f\x00\x00")
    located = webp(
        webp_chunk(b"VP8X", flags),
        pixels,
        webp_chunk(b"EXIF", b"GPS 48.8584 N"),
        webp_chunk(b"XMP ", b"<x:xmpmeta/>"),
    )
    assert without_metadata(located) == webp(webp_chunk(b"VP8X", b"\x00" * 10), pixels)


def test_a_jpeg_cut_short_is_refused():
    with pytest.raises(ValueError, match="damaged"):
        without_metadata(jpeg()[:20])
