"""GET /api/v1/billing: the plan, its status and usage against limits; GET
/api/v1/billing/invoices: the invoices and receipts (both billing.read)."""

from __future__ import annotations

from ninja import Router

from billing.queries import billing_get, invoice_list
from kernel.api import route

router = Router(tags=["billing"])

route(router, "GET /billing", billing_get, summary="The organization's plan, status and usage")
route(
    router,
    "GET /billing/invoices",
    invoice_list,
    summary="The organization's invoices and receipts, newest first",
)
