from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from kernel.ninja import ERROR_RESPONSE_SCHEMA, request_actor
from organizations import queries
from organizations.schemas import ActorContextOut

router = Router(tags=["organizations"])


@router.get(
    "/me",
    response=ActorContextOut,
    summary="The caller: user, active organization, role and permissions",
    openapi_extra={
        "responses": {
            "401": {
                "description": "Not signed in",
                "content": {"application/json": {"schema": ERROR_RESPONSE_SCHEMA}},
            }
        }
    },
)
def me(request: HttpRequest) -> queries.ActorContext:
    return queries.actor_context_get(actor=request_actor(request))
