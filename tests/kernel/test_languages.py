"""Messages translate, codes do not: one refusal in German on every transport (the API
envelope, a socket frame; a form and a flash message with the demo's tests), English by
default."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core.management import call_command

from config.asgi import application
from tests.kernel.live_helpers import HOST, ORIGIN

GERMAN: dict[str, Any] = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogue(django_db_blocker) -> None:
    """The .mo the tests read: compiled from the committed .po, as a deployment does."""
    with django_db_blocker.unblock():
        call_command("compilemessages", locale=["de"], verbosity=0)


def test_the_api_envelope_carries_the_message_in_the_requests_language(api, db):
    english = api.get("/api/v1/nothing-here")
    german = api.get("/api/v1/nothing-here", **GERMAN)
    assert english.status_code == german.status_code == 404
    assert english.json()["error"]["code"] == german.json()["error"]["code"] == "not_found"
    assert english.json()["error"]["message"] == "There is nothing at this address."
    assert german.json()["error"]["message"] == "Unter dieser Adresse gibt es nichts."


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([], "Frames must be JSON objects."),
        ([(b"accept-language", b"de")], "Frames müssen JSON-Objekte sein."),
    ],
)
async def test_a_socket_error_frame_is_in_the_language_of_who_opened_it(headers, message):
    communicator = WebsocketCommunicator(application, "/ws/", headers=[HOST, ORIGIN, *headers])
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data="not json")
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"], frame["message"]) == ("error", "invalid_input", message)
    await communicator.disconnect()
