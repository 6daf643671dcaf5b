"""Avatars: initials by default, or an uploaded image judged by its bytes.

The browser's filename and content type are never trusted: the first bytes must be a PNG,
JPEG or WebP signature, and the stored file is named (and so served) by what they are.
SVG, HTML and anything else are refused, so an upload can never run script on our
origin. The size limit is settings.AVATAR_MAX_BYTES.
"""

from __future__ import annotations

from typing import Annotated, Final

from django.conf import settings
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


def max_size_text() -> str:
    size = settings.AVATAR_MAX_BYTES
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def check_image(content: bytes) -> bytes:
    if not content:
        raise ValueError("The file is empty.")
    if len(content) > settings.AVATAR_MAX_BYTES:
        raise ValueError(f"Use an image of at most {max_size_text()}.")
    if image_format(content) is None:
        raise ValueError("Use a PNG, JPEG or WebP image.")
    return content


AvatarImage = Annotated[Base64Bytes, AfterValidator(check_image)]
"""An uploaded avatar, base64-encoded in JSON (the page encodes the file it received)."""
