"""GET /api/v1/billing: the plan, its status and usage against limits (billing.read)."""

from __future__ import annotations

from ninja import Router

from billing.queries import billing_get
from kernel.api import route

router = Router(tags=["billing"])

route(router, "GET /billing", billing_get, summary="The organization's plan, status and usage")
