"""Small images built byte by byte (there is no imaging library in the project)."""

from __future__ import annotations

import struct
import zlib


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(size: int = 96, rgb: tuple[int, int, int] = (79, 70, 229), *, text: bytes = b"") -> bytes:
    """A real (solid colour) PNG a browser draws; `text`: a tEXt chunk (metadata)."""
    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + (png_chunk(b"tEXt", text) if text else b"")
        + png_chunk(b"IDAT", zlib.compress(row * size))
        + png_chunk(b"IEND", b"")
    )


def jpeg_segment(marker: int, data: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data


def jpeg(*, exif: bytes = b"") -> bytes:
    """A JPEG's structure (JFIF header, optional EXIF segment, a scan): enough for the
    checks, not meant to be drawn."""
    return (
        b"\xff\xd8"
        + jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + (jpeg_segment(0xE1, b"Exif\x00\x00" + exif) if exif else b"")
        + jpeg_segment(0xDB, b"\x00" + bytes(64))
        + jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x12\x34\x56"
        + b"\xff\xd9"
    )
