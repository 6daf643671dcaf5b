from __future__ import annotations

from django.contrib.auth import logout
from django.http import HttpRequest
from ninja import Router, Status

from accounts.deletion import account_delete
from accounts.models import User
from kernel import errors
from kernel.ninja import error_responses

router = Router(tags=["account"])


@router.delete(
    "/account",
    response={204: None},
    summary="Delete the signed-in user's account (sensitive: level 4 step-up)",
    openapi_extra=error_responses(401, 403, 409, 429),
)
def delete_account(request: HttpRequest) -> Status[None]:
    user = request.user
    if not isinstance(user, User):
        raise errors.unauthenticated()
    account_delete(request=request, user=user)
    logout(request)
    return Status(204, None)
