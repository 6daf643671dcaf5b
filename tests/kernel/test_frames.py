"""The frames the live hub writes straight to a socket are what a WebSocket library
reads (here: websockets, an independent implementation)."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from kernel.live.flow import text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 300_000])
def test_a_text_frame_is_framed_as_rfc_6455_says(size: int) -> None:
    payload = ("é" * size).encode()[:size]
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected
