"""Each error code renders the documented status and shape on every transport."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import RequestFactory
from ninja.errors import ValidationError as NinjaValidationError

from config.api import api
from kernel import errors
from kernel.errors import AppError, ErrorCode
from kernel.rendering import PAGE_HEADINGS, as_app_error, page_error_response, socket_error_frame

# The documented contract (README "Errors"): code → HTTP status.
DOCUMENTED_STATUS = {
    "invalid_input": 422,
    "unauthenticated": 401,
    "plan_limit": 402,
    "forbidden": 403,
    "step_up_required": 403,
    "not_found": 404,
    "conflict": 409,
    "rate_limited": 429,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "server_error": 500,
    "unavailable": 503,
    "suspended": 403,
    "pending_deletion": 403,
    "two_factor_required": 403,
}

FACTORIES = {
    "not_found": lambda: errors.not_found(),
    "forbidden": lambda: errors.forbidden(),
    "invalid_input": lambda: errors.invalid_input(fields={"title": ["Too long."]}),
    "unauthenticated": lambda: errors.unauthenticated(),
    "conflict": lambda: errors.conflict("Already exists."),
    "step_up_required": lambda: errors.step_up_required(),
    "plan_limit": lambda: errors.plan_limit("The Pro plan lifts this limit."),
    "rate_limited": lambda: errors.rate_limited(30),
    "method_not_allowed": lambda: errors.method_not_allowed("PUT"),
    "payload_too_large": lambda: errors.payload_too_large(1024 * 1024),
    "unsupported_media_type": lambda: errors.unsupported_media_type(),
    "server_error": lambda: errors.server_error(),
    "unavailable": lambda: errors.unavailable(),
    "suspended": lambda: errors.suspended("Suspended. Reason: abuse. Contact support."),
    "pending_deletion": lambda: errors.pending_deletion("Scheduled for deletion on 1 May."),
    "two_factor_required": lambda: errors.two_factor_required("Set up two-factor first."),
}


def test_every_code_has_a_factory_and_a_documented_status():
    assert set(DOCUMENTED_STATUS) == {code.value for code in ErrorCode} == set(FACTORIES)


@pytest.mark.parametrize("code", sorted(DOCUMENTED_STATUS))
def test_api_envelope(code, rf: RequestFactory):
    error = FACTORIES[code]()

    response = api.on_exception(rf.get("/api/v1/anything"), error)

    assert response.status_code == DOCUMENTED_STATUS[code]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body == {"error": {"code": code, "message": error.message, "fields": error.fields}}
    assert body["error"]["message"]
    if code == "rate_limited":
        assert response["Retry-After"] == "30"
    if code == "unavailable":
        assert response["Retry-After"] == "5"


@pytest.mark.parametrize("code", sorted(set(DOCUMENTED_STATUS) - {"unauthenticated"}))
def test_page_rendering(code, rf: RequestFactory, db):
    error = FACTORIES[code]()
    request = rf.get("/somewhere")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()

    response = page_error_response(request, error)

    assert response.status_code == DOCUMENTED_STATUS[code]
    html = response.content.decode()
    assert error.message.replace("'", "&#x27;") in html
    assert f"<code>{code}</code>" in html  # small print, for support
    if code not in ("server_error", "unavailable"):
        assert PAGE_HEADINGS[ErrorCode(code)].replace("'", "&#x27;") in html  # in words
    # The site's layout, except where what failed may be what the layout needs.
    assert ("<nav" in html) is (code not in ("server_error", "unavailable"))


def test_unauthenticated_pages_redirect_to_sign_in(rf: RequestFactory):
    response = page_error_response(rf.get("/private/?tab=2"), errors.unauthenticated())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/private/%3Ftab%3D2"


@pytest.mark.parametrize("code", sorted(DOCUMENTED_STATUS))
def test_socket_frame(code):
    error = FACTORIES[code]()
    assert socket_error_frame(error, "sub-1") == {
        "type": "error",
        "id": "sub-1",
        "code": code,
        "message": error.message,
        "fields": error.fields,
    }


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (Http404("missing"), ErrorCode.NOT_FOUND),
        (PermissionDenied(), ErrorCode.FORBIDDEN),
        (ValidationError({"name": ["Required."]}), ErrorCode.INVALID_INPUT),
        (ValidationError("Bad."), ErrorCode.INVALID_INPUT),
        (RuntimeError("boom"), ErrorCode.SERVER_ERROR),
    ],
)
def test_framework_exceptions_map_to_codes(exception, code):
    assert as_app_error(exception).code == code


def test_server_errors_do_not_leak_the_exception(rf: RequestFactory):
    response = api.on_exception(rf.get("/api/v1/x"), RuntimeError("secret detail"))
    assert response.status_code == 500
    assert b"secret detail" not in response.content


def test_ninja_validation_errors_carry_field_errors(rf: RequestFactory):
    error = NinjaValidationError(
        [
            {
                "loc": ("body", "payload", "title"),
                "type": "string_too_long",
                "msg": "String should have at most 200 characters",
                "ctx": {"max_length": 200},
            },
            {
                "loc": ("query", "status"),
                "type": "enum",
                "msg": "Input should be 'open' or 'done'",
                "ctx": {"expected": "'open' or 'done'"},
            },
            {
                "loc": ("body", "payload", "name"),
                "type": "value_error",
                "msg": "Value error, Bad.",
                "ctx": {"error": "Bad."},
            },
        ]
    )
    response = api.on_exception(rf.post("/api/v1/x"), error)
    assert response.status_code == 422
    assert json.loads(response.content)["error"]["fields"] == {  # our words, no library prefix
        "title": ["Use at most 200 characters."],
        "status": ["Choose one of: open, done."],
        "name": ["Bad."],
    }


def test_field_errors_are_copied_not_shared():
    fields = {"name": ["Required."]}
    error = AppError(ErrorCode.INVALID_INPUT, "Bad.", fields=fields)
    fields["name"].append("mutated")
    assert error.fields == {"name": ["Required."]}


# --- through the real HTTP stack -----------------------------------------------------------


def test_anonymous_api_call_is_401_envelope(client, db):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_unknown_api_route_is_404_envelope(client, db):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_page_is_the_404_page(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"There is nothing at this address." in response.content
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("referer", "back"),
    [("http://testserver/organization/", True), ("https://elsewhere.example/", False), ("", False)],
)
def test_an_error_page_offers_back_only_to_this_site(referer, back, rf: RequestFactory, db):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/somewhere", HTTP_REFERER=referer)
    request.user = AnonymousUser()

    html = page_error_response(request, errors.not_found()).content.decode()

    assert ("← Back" in html) is back
    assert html.index("<h1>") < html.index("<code>not_found</code>")  # words before the code
