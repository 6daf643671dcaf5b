"""Avatars: initials by default, or an uploaded image judged by its bytes.

The browser's filename and content type are never trusted: the first bytes must be a PNG,
JPEG or WebP signature, and the stored file is named (and so served) by what they are.
SVG, HTML and anything else are refused, so an upload can never run script on our
origin. The size limit is settings.AVATAR_MAX_BYTES. Metadata a camera writes (EXIF, with
the place a photo was taken; XMP; IPTC; PNG text) is removed before the file is stored:
an avatar is seen by every teammate.
"""

from __future__ import annotations

import struct
from typing import Annotated, Final

from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import AfterValidator, Base64Bytes

FORMATS: Final = {"png": "PNG", "jpg": "JPEG", "webp": "WebP"}
ACCEPT: Final = "image/png,image/jpeg,image/webp"
"""For the file input's `accept` attribute (a hint; the bytes decide)."""


def image_format(content: bytes) -> str | None:
    """The file extension the bytes are, by their signature; None if not an accepted image."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None


# JPEG segments that carry metadata, not pixels: APP1 (EXIF, XMP) and APP13 (IPTC).
_JPEG_METADATA: Final = frozenset({0xE1, 0xED})
_PNG_METADATA: Final = frozenset({b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"})
_WEBP_METADATA: Final = frozenset({b"EXIF", b"XMP "})


def without_metadata(content: bytes) -> bytes:
    """The image with its metadata removed (pixels untouched). A structure it cannot
    follow is refused: ValueError."""
    kind = image_format(content)
    if kind == "jpg":
        return _jpeg(content)
    if kind == "png":
        return _png(content)
    if kind == "webp":
        return _webp(content)
    raise ValueError(_("Use a PNG, JPEG or WebP image."))


def _jpeg(content: bytes) -> bytes:
    kept, at = [content[:2]], 2
    while at + 4 <= len(content):
        if content[at] != 0xFF:
            raise ValueError(_("This JPEG image is damaged."))
        marker = content[at + 1]
        if marker == 0xDA:  # start of scan: the pixels follow, to the end
            kept.append(content[at:])
            return b"".join(kept)
        (length,) = struct.unpack(">H", content[at + 2 : at + 4])
        end = at + 2 + length
        if length < 2 or end > len(content):
            raise ValueError(_("This JPEG image is damaged."))
        if marker not in _JPEG_METADATA:
            kept.append(content[at:end])
        at = end
    raise ValueError(_("This JPEG image is damaged."))


def _png(content: bytes) -> bytes:
    kept, at = [content[:8]], 8
    while at + 12 <= len(content):
        (length,) = struct.unpack(">I", content[at : at + 4])
        kind, end = content[at + 4 : at + 8], at + 12 + length
        if end > len(content):
            break
        if kind not in _PNG_METADATA:
            kept.append(content[at:end])
        at = end
        if kind == b"IEND":
            return b"".join(kept)
    raise ValueError(_("This PNG image is damaged."))


def _webp(content: bytes) -> bytes:
    kept, at = [], 12
    while at + 8 <= len(content):
        kind = content[at : at + 4]
        (length,) = struct.unpack("<I", content[at + 4 : at + 8])
        end = at + 8 + length + (length & 1)  # chunks are padded to an even size
        if end > len(content) + (length & 1):
            raise ValueError(_("This WebP image is damaged."))
        chunk = content[at:end]
        if kind == b"VP8X" and len(chunk) > 8:  # say there is no EXIF (0x08) or XMP (0x04)
            chunk = chunk[:8] + bytes([chunk[8] & ~0x0C]) + chunk[9:]
        if kind not in _WEBP_METADATA:
            kept.append(chunk)
        at = end
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def max_size_text() -> str:
    size = settings.AVATAR_MAX_BYTES
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def check_image(content: bytes) -> bytes:
    if not content:
        raise ValueError(_("The file is empty."))
    if len(content) > settings.AVATAR_MAX_BYTES:
        raise ValueError(_("Use an image of at most %(size)s.") % {"size": max_size_text()})
    if image_format(content) is None:
        raise ValueError(_("Use a PNG, JPEG or WebP image."))
    return without_metadata(content)


AvatarImage = Annotated[Base64Bytes, AfterValidator(check_image)]
"""An uploaded avatar, base64-encoded in JSON (the page encodes the file it received);
validated, it is the image without its metadata."""
