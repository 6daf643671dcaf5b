"""Stripe, through the official SDK: customers, Checkout Sessions (subscription mode, or
payment mode for a lifetime plan), Billing Portal sessions, cancel/resume, seats, and
webhooks verified with Stripe's signature scheme."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import stripe
from django.conf import settings

from billing import envelope
from billing.events import (
    CannotApply,
    Change,
    InvoicePaid,
    OneTimePurchase,
    PaymentReceived,
    Refund,
    SubscriptionState,
    VerifiedEvent,
    organization_id,
    reference,
    whole_number,
)
from billing.plans import Plan, get_plan, plan_for_price
from billing.providers.base import (
    INVOICES_SHOWN,
    ChangePreview,
    CheckoutRequest,
    CheckoutStarted,
    Invoice,
    WebhookVerificationError,
)

TOLERANCE_SECONDS: Final = 300
PRORATION: Final = "create_prorations"
"""Seat changes are charged (or credited) pro rata on the next invoice."""
CHANGE_PRORATION: Final = "always_invoice"
"""A plan change charges the prorated difference at once: what its preview shows."""

_STATUSES: Final = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "unpaid",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
    "paused": "unpaid",
}


_INVOICE_STATUSES: Final = {
    "paid": "paid",
    "open": "open",
    "uncollectible": "open",  # written off by the merchant, still unpaid
    "void": "void",
}


LATEST_SECONDS: Final = 253_402_300_799
"""The end of year 9999: the last second a datetime holds."""


def _when(timestamp: Any) -> datetime | None:
    if not timestamp:
        return None
    return datetime.fromtimestamp(whole_number(timestamp, "time", maximum=LATEST_SECONDS), UTC)


def _amount(value: Any) -> int:
    """An amount in minor units; 0 when there is none."""
    return whole_number(value, "amount", maximum=2**62) if value else 0


def _organization_id(*metadata: Any) -> int | None:
    return organization_id(*((candidate or {}).get("organization_id") for candidate in metadata))


class StripeProvider:
    name = "stripe"

    def __init__(self) -> None:
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY or "sk_unset",
            base_addresses=base,  # type: ignore[arg-type]
        )

    # --- calls to Stripe -------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        metadata = {"organization_id": str(request.organization_id), "plan": request.plan.code}
        customer_id, created = request.customer_id, None
        if customer_id is None:
            customer = self.client.v1.customers.create(
                {"name": request.organization_name, "email": request.email, "metadata": metadata}
            )
            customer_id = created = customer.id
        line = {"price": request.plan.price_id("stripe"), "quantity": request.seats}
        params: dict[str, Any] = {
            "customer": customer_id,
            "line_items": [line],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": str(request.organization_id),
            "metadata": metadata,
        }
        if request.plan.is_one_time:
            params |= {"mode": "payment", "payment_intent_data": {"metadata": metadata}}
        else:
            subscription: dict[str, Any] = {"metadata": metadata}
            if request.trial_days:
                subscription["trial_period_days"] = request.trial_days
            params |= {"mode": "subscription", "subscription_data": subscription}
        session = self.client.v1.checkout.sessions.create(params)  # type: ignore[arg-type]
        return CheckoutStarted(url=str(session.url), customer_id=created)

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        session = self.client.v1.billing_portal.sessions.create(
            {"customer": customer_id, "return_url": return_url}
        )
        return str(session.url)

    def cancel(self, *, subscription_id: str, at_period_end: bool) -> None:
        if at_period_end:
            self.client.v1.subscriptions.update(subscription_id, {"cancel_at_period_end": True})
        else:
            self.client.v1.subscriptions.cancel(subscription_id)

    def resume(self, *, subscription_id: str) -> None:
        self.client.v1.subscriptions.update(subscription_id, {"cancel_at_period_end": False})

    def change_plan(self, *, subscription_id: str, item_id: str, plan: Plan) -> None:
        self.client.v1.subscriptions.update(
            subscription_id,
            {
                "items": [{"id": item_id, "price": plan.price_id(self.name)}],
                "proration_behavior": CHANGE_PRORATION,
            },
        )

    def preview_change(
        self, *, subscription_id: str, item_id: str, plan: Plan, seats: int
    ) -> ChangePreview:
        """Stripe's own preview of the invoice the change creates (Invoice.create_preview,
        with the change's proration), and the new price per period."""
        price_id = plan.price_id(self.name)
        item: dict[str, Any] = {"id": item_id, "price": price_id}
        if plan.per_seat:
            item["quantity"] = seats
        params: dict[str, Any] = {
            "subscription": subscription_id,
            "subscription_details": {"items": [item], "proration_behavior": CHANGE_PRORATION},
        }
        invoice = self.client.v1.invoices.create_preview(params)  # type: ignore[arg-type]
        price = self.client.v1.prices.retrieve(price_id)
        return ChangePreview(
            amount_due_now=int(invoice.amount_due),
            currency=str(invoice.currency),
            next_amount=int(price.unit_amount or 0) * (seats if plan.per_seat else 1),
            exact=True,
        )

    def set_seats(self, *, subscription_id: str, item_id: str, seats: int) -> None:
        self.client.v1.subscriptions.update(
            subscription_id,
            {"items": [{"id": item_id, "quantity": seats}], "proration_behavior": PRORATION},
        )

    def fetch_subscription(self, *, subscription_id: str) -> SubscriptionState:
        # Stamped to the second, as Stripe stamps events: a later event in the same second wins.
        asked = datetime.now(UTC).replace(microsecond=0)
        found = self.client.v1.subscriptions.retrieve(subscription_id)
        read = VerifiedEvent("", "customer.subscription.retrieved", asked, {})
        return self._subscription(found.to_dict(), read)

    def invoices(self, *, customer_id: str) -> list[Invoice]:
        found = self.client.v1.invoices.list({"customer": customer_id, "limit": INVOICES_SHOWN})
        return [
            Invoice(
                number=str(invoice.get("number") or invoice["id"]),
                issued_at=datetime.fromtimestamp(int(invoice["created"]), UTC),
                amount=int(invoice.get("total") or 0),
                currency=str(invoice.get("currency") or ""),
                status=_INVOICE_STATUSES[str(invoice.get("status"))],
                url=str(invoice.get("hosted_invoice_url") or ""),
                pdf_url=str(invoice.get("invoice_pdf") or ""),
            )
            for invoice in (item.to_dict() for item in found.data)
            if invoice.get("status") in _INVOICE_STATUSES  # drafts are not invoices yet
        ]

    # --- webhooks -------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        header = headers.get("Stripe-Signature", "")
        text = envelope.utf8(body)  # Stripe signs the text: no text, nothing to verify
        try:
            stripe.WebhookSignature.verify_header(
                text, header, settings.STRIPE_WEBHOOK_SECRET, TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise WebhookVerificationError(str(error)) from None
        # Stripe's check rejects old timestamps only; a future one is as suspicious.
        signed_at = next(  # the timestamp Stripe's check read: the first t=
            part.split("=", 2)[1] for part in header.split(",") if part.startswith("t=")
        )
        if int(signed_at) > time.time() + TOLERANCE_SECONDS:
            raise WebhookVerificationError("The signature's timestamp is in the future.")
        return envelope.read(
            envelope.decode(text),
            names={"id": "id", "type": "type", "occurred_at": "created", "data": "data"},
            model=envelope.ObjectEnvelope,
        )

    def changes(self, event: VerifiedEvent) -> list[Change]:
        obj = event.payload.get("data", {}).get("object", {})
        if event.type.startswith("customer.subscription."):
            return [self._subscription(obj, event)]
        if event.type == "invoice.paid":
            return self._invoice_paid(obj, event)
        if event.type == "checkout.session.completed" and obj.get("mode") == "payment":
            plan = get_plan(str((obj.get("metadata") or {}).get("plan", "")))
            if obj.get("payment_status") != "paid" or plan is None:
                return []
            payment = reference(obj.get("payment_intent"), "payment")
            organization = _organization_id(
                obj.get("metadata"), {"organization_id": obj.get("client_reference_id")}
            )
            customer = reference(obj.get("customer"), "customer", optional=True)
            purchase = OneTimePurchase(
                self.name, payment, organization, customer, plan, event.occurred_at
            )
            amount = _amount(obj.get("amount_total"))
            if not amount:
                return [purchase]
            receipt = PaymentReceived(
                self.name, payment, organization, customer, amount,
                str(obj.get("currency") or ""), event.occurred_at,
            )  # fmt: skip
            return [purchase, receipt]
        if event.type == "charge.refunded" and obj.get("refunded"):
            return [
                Refund(
                    provider=self.name,
                    payment_id=reference(obj.get("payment_intent"), "payment"),
                    organization_id=_organization_id(obj.get("metadata")),
                    customer_id=reference(obj.get("customer"), "customer", optional=True),
                    refunded_at=event.occurred_at,
                )
            ]
        return []

    def _subscription(self, obj: dict[str, Any], event: VerifiedEvent) -> SubscriptionState:
        item = (obj.get("items") or {}).get("data", [{}])[0]
        price_id = str((item.get("price") or {}).get("id", ""))
        plan = plan_for_price(self.name, price_id)
        if plan is None:
            raise CannotApply(f"Stripe price {price_id!r} is not in the plan catalogue.")
        deleted = event.type == "customer.subscription.deleted"
        return SubscriptionState(
            provider=self.name,
            external_id=reference(obj.get("id"), "subscription"),
            organization_id=_organization_id(obj.get("metadata")),
            customer_id=reference(obj.get("customer"), "customer", optional=True),
            plan=plan,
            status="canceled" if deleted else _STATUSES.get(obj.get("status", ""), "incomplete"),
            seats=whole_number(item.get("quantity") or 1, "quantity"),
            current_period_end=_when(
                item.get("current_period_end") or obj.get("current_period_end")
            ),
            cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
            trial_end=_when(obj.get("trial_end")),
            ended_at=_when(obj.get("ended_at")) or (event.occurred_at if deleted else None),
            item_id=reference(item.get("id"), "subscription item", optional=True),
            as_of=event.occurred_at,
            creates=event.type == "customer.subscription.created",
        )

    def _invoice_paid(self, obj: dict[str, Any], event: VerifiedEvent) -> list[Change]:
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        subscription_id = details.get("subscription") or obj.get("subscription")
        lines = (obj.get("lines") or {}).get("data") or []
        if not subscription_id or not lines:
            return []  # a one-off invoice: nothing to extend
        line = lines[0]
        price = ((line.get("pricing") or {}).get("price_details") or {}).get("price") or (
            line.get("price") or {}
        ).get("id", "")
        period_end = _when(line["period"]["end"])
        if period_end is None:
            raise CannotApply("The invoice's line has no period end.")
        organization = _organization_id(
            details.get("metadata"), (obj.get("subscription_details") or {}).get("metadata")
        )
        changes: list[Change] = [
            InvoicePaid(
                provider=self.name,
                subscription_id=reference(subscription_id, "subscription"),
                organization_id=organization,
                plan=plan_for_price(self.name, str(price)),
                period_end=period_end,
            )
        ]
        amount = _amount(obj.get("amount_paid"))
        if amount:  # a trial's $0 invoice is no receipt worth telling anyone about
            changes.append(
                PaymentReceived(
                    provider=self.name,
                    reference=reference(obj.get("id"), "invoice"),
                    organization_id=organization,
                    customer_id=reference(obj.get("customer"), "customer", optional=True),
                    amount=amount,
                    currency=str(obj.get("currency") or ""),
                    paid_at=event.occurred_at,
                    number=str(obj.get("number") or ""),
                )
            )
        return changes
