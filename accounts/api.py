"""The accounts domain's JSON API (kernel/api.py builds it; the door runs it)."""

from __future__ import annotations

from ninja import Router

from accounts.mutations import account_delete, profile_update
from accounts.queries import profile_get
from kernel.api import route

router = Router(tags=["account"])

route(router, "GET /account/profile", profile_get, summary="The signed-in person's profile")
route(
    router,
    "PATCH /account/profile",
    profile_update,
    summary="Change the signed-in person's profile (fields left out stay as they are)",
)
route(
    router,
    "DELETE /account",
    account_delete,
    status=204,
    summary="Delete the signed-in person's account (sensitive: level 4 step-up)",
)
