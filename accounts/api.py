from __future__ import annotations

from django.contrib.auth import logout
from django.http import HttpRequest
from ninja import Router, Status

from accounts.deletion import account_delete
from accounts.models import User
from kernel import errors
from kernel.ninja import ERROR_RESPONSE_SCHEMA

router = Router(tags=["account"])

_ERRORS = {
    str(status): {
        "description": description,
        "content": {"application/json": {"schema": ERROR_RESPONSE_SCHEMA}},
    }
    for status, description in [
        (401, "Not signed in"),
        (403, "`step_up_required`: re-authenticate in the web app first (API keys never can)"),
        (409, "`conflict`: the only owner of an organization with other members"),
    ]
}


@router.delete(
    "/account",
    response={204: None},
    summary="Delete the signed-in user's account (sensitive: level 4 step-up)",
    openapi_extra={"responses": _ERRORS},
)
def delete_account(request: HttpRequest) -> Status[None]:
    user = request.user
    if not isinstance(user, User):
        raise errors.unauthenticated()
    account_delete(request=request, user=user)
    logout(request)
    return Status(204, None)
