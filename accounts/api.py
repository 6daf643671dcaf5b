"""The accounts domain's JSON API (kernel/api.py builds it; the door runs it)."""

from __future__ import annotations

from ninja import Router

from accounts.mutations import account_delete
from kernel.api import route

router = Router(tags=["account"])

route(
    router,
    "DELETE /account",
    account_delete,
    status=204,
    summary="Delete the signed-in person's account (sensitive: level 4 step-up)",
)
