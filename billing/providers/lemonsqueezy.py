"""Lemon Squeezy, through its JSON:API REST API with httpx: checkouts, the customer
portal, plan changes, cancel/resume, seats (the subscription item's quantity), and
webhooks verified with the webhook's signing secret.

No SDK: the official one is JavaScript; the unofficial Python ones are thin and cover
little of what we call (docs/billing.md). The handful of calls are written here and read
only the fields we use from the answers (a tolerant reader).

Its webhooks differ from Stripe's and Polar's in two ways that matter here:

  * no event id: an event is known by its body (`lsq_` + the body's SHA-256), so a
    redelivery — the same body — is a duplicate;
  * no signed timestamp: the signature (hex HMAC-SHA256 of the raw body, `X-Signature`)
    never expires. The time of an event is its object's `updated_at`, which orders it
    against others (billing/processing.py) and decides staleness: older than
    LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS, or more than five minutes ahead, is refused as a
    stale signature (a replay). The age limit stays below the events' retention
    (billing/checks.py), so a replay of anything accepted is still a known duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from django.conf import settings

from billing import envelope
from billing.events import (
    ID_MAX,
    CannotApply,
    Change,
    OneTimePurchase,
    PaymentReceived,
    Refund,
    SubscriptionState,
    VerifiedEvent,
    organization_id,
    reference,
    whole_number,
)
from billing.plans import Plan, plan_for_price
from billing.providers.base import (
    INVOICES_SHOWN,
    ChangePreview,
    CheckoutRequest,
    CheckoutStarted,
    Invoice,
    ProviderError,
    WebhookVerificationError,
    estimate_change,
)

API_BASE: Final = "https://api.lemonsqueezy.com"
JSON_API: Final = "application/vnd.api+json"
TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)
SIGNATURE_HEADER: Final = "X-Signature"
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
PRORATED: Final = {"invoice_immediately": False, "disable_prorations": False}
"""Plan and seat changes are charged (or credited) pro rata on the next invoice."""

SUBSCRIPTION_EVENTS: Final = frozenset(
    {
        "subscription_created",
        "subscription_updated",
        "subscription_cancelled",
        "subscription_resumed",
        "subscription_expired",
        "subscription_paused",
        "subscription_unpaused",
    }
)
"""Events whose `data` is the subscription itself."""

_STATUSES: Final = {
    "on_trial": "trialing",
    "active": "active",
    "cancelled": "active",  # a grace period: valid until ends_at, then `expired`
    "past_due": "past_due",
    "unpaid": "unpaid",
    "paused": "unpaid",  # payment collection paused: nothing granted meanwhile
    "expired": "canceled",
}


_INVOICE_STATUSES: Final = {
    "paid": "paid",
    "partial_refund": "paid",
    "pending": "open",
    "void": "void",
    "refunded": "refunded",
}
_ORDER_STATUSES: Final = {
    "paid": "paid",
    "partial_refund": "paid",
    "pending": "open",
    "failed": "void",
    "refunded": "refunded",
}


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CannotApply(f"The event's time {value!r} is not ISO 8601 with a time zone.")
    return moment


def _id(value: Any, what: str, *, optional: bool = False) -> str:
    """Lemon Squeezy's ids: numbers in attributes (`"customer_id": 7`), strings in
    JSON:API's `id` ("7"). Ours are text either way."""
    if optional and value in (None, ""):
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(whole_number(value, what, maximum=ID_MAX))
    return reference(value, what)


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of the body, or {} when it is not one (the envelope then says why)."""
    return value if isinstance(value, dict) else {}


def _number(configured: str) -> int | str:
    """A variant or store id as Lemon Squeezy's attributes take it (a number)."""
    return int(configured) if configured.isascii() and configured.isdigit() else configured


def event_id(body: bytes) -> str:
    """The id of an event that has none: its body's digest, 192 bits of SHA-256 (short
    enough for the audit log's target id)."""
    return f"lsq_{hashlib.sha256(body).hexdigest()[:48]}"


class LemonSqueezyProvider:
    name = "lemonsqueezy"

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Accept": JSON_API,
            "Content-Type": JSON_API,
            "Authorization": f"Bearer {settings.LEMONSQUEEZY_API_KEY or 'unset'}",
        }
        with httpx.Client(
            base_url=settings.LEMONSQUEEZY_API_BASE or API_BASE, headers=headers, timeout=TIMEOUT
        ) as client:
            response = client.request(
                method,
                path,
                content=json.dumps(body) if body is not None else None,
                params=query,
            )
        if response.status_code >= 400:
            raise ProviderError(
                f"Lemon Squeezy answered {response.status_code}: {response.text[:300]}"
            )
        if not response.content:  # DELETE may answer with nothing
            return {}
        return dict(response.json())

    def _update(self, kind: str, object_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
        body = {"data": {"type": kind, "id": object_id, "attributes": attributes}}
        return self._call("PATCH", f"/v1/{kind}/{object_id}", body)

    # --- calls to Lemon Squeezy --------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        variant = request.plan.price_id(self.name)
        checkout_data: dict[str, Any] = {
            "name": request.organization_name,
            # Comes back in every event's meta.custom_data: whose subscription it is.
            "custom": {"organization_id": str(request.organization_id), "plan": request.plan.code},
        }
        if request.email:
            checkout_data["email"] = request.email
        if request.plan.per_seat:
            checkout_data["variant_quantities"] = [
                {"variant_id": _number(variant), "quantity": request.seats}
            ]
        body = {
            "data": {
                "type": "checkouts",
                "attributes": {
                    "checkout_data": checkout_data,
                    # Lemon Squeezy has no "cancelled" return address: only success's.
                    "product_options": {
                        "redirect_url": request.success_url,
                        "enabled_variants": [_number(variant)],
                    },
                    # The variant's own trial only when the plan picker started one.
                    "checkout_options": {"skip_trial": not request.trial_days},
                },
                "relationships": {
                    "store": {"data": {"type": "stores", "id": settings.LEMONSQUEEZY_STORE_ID}},
                    "variant": {"data": {"type": "variants", "id": variant}},
                },
            }
        }
        checkout = self._call("POST", "/v1/checkouts", body)
        url = (checkout.get("data") or {}).get("attributes", {}).get("url")
        if not url:
            raise ProviderError("Lemon Squeezy answered a checkout without a URL.")
        return CheckoutStarted(url=str(url))  # the customer is made at payment: see events

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        """The customer's portal (signed by Lemon Squeezy, valid for a day; it has no
        return address, so `return_url` is unused)."""
        customer = self._call("GET", f"/v1/customers/{customer_id}")
        urls = (customer.get("data") or {}).get("attributes", {}).get("urls") or {}
        if not urls.get("customer_portal"):
            raise ProviderError(f"Lemon Squeezy has no portal for customer {customer_id!r}.")
        return str(urls["customer_portal"])

    def cancel(self, *, subscription_id: str, at_period_end: bool) -> None:
        """Lemon Squeezy cancels at the period's end only (status `cancelled` until
        `ends_at`, then `expired`): nothing more is charged either way. The billing page
        does not offer "now" (billing.providers.ENDS_AT_PERIOD_END_ONLY); a deleted
        organization's subscription is cancelled so."""
        self._call("DELETE", f"/v1/subscriptions/{subscription_id}")

    def resume(self, *, subscription_id: str) -> None:
        self._update("subscriptions", subscription_id, {"cancelled": False})

    def change_plan(self, *, subscription_id: str, item_id: str, plan: Plan) -> None:
        self._update(
            "subscriptions",
            subscription_id,
            {"variant_id": _number(plan.price_id(self.name)), **PRORATED},
        )

    def preview_change(
        self, *, subscription_id: str, item_id: str, plan: Plan, seats: int
    ) -> ChangePreview:
        """Lemon Squeezy's API has no proration preview: an estimate from the catalogue's
        prices and the subscription's period as Lemon Squeezy has it (exact=False)."""
        current = self.fetch_subscription(subscription_id=subscription_id)
        return estimate_change(current, plan, seats, now=datetime.now(UTC))

    def set_seats(self, *, subscription_id: str, item_id: str, seats: int) -> None:
        if not item_id:  # not known from an event yet: the subscription names it
            item_id = self.fetch_subscription(subscription_id=subscription_id).item_id
        self._update("subscription-items", item_id, {"quantity": seats, **PRORATED})

    def fetch_subscription(self, *, subscription_id: str) -> SubscriptionState:
        asked = datetime.now(UTC).replace(microsecond=0)
        found = self._call("GET", f"/v1/subscriptions/{subscription_id}")
        # The API's subscription is what subscription events carry as `data`, without
        # the checkout's custom data (reconciliation knows the organization).
        read = VerifiedEvent("", "subscription_updated", asked, {"data": found.get("data")})
        changes = self.changes(read)
        if len(changes) != 1 or not isinstance(changes[0], SubscriptionState):
            raise ProviderError(f"Lemon Squeezy answered no subscription for {subscription_id!r}.")
        return changes[0]

    def invoices(self, *, customer_id: str) -> list[Invoice]:
        """The customer's subscription invoices and one-time orders (the lifetime plan),
        newest first. Lemon Squeezy lists invoices by subscription, not by customer: the
        customer's subscriptions and orders come with it (`include`), then each
        subscription's newest invoices. A subscription's first order is not listed: its
        payment is the subscription's first invoice."""
        customer = self._call(
            "GET", f"/v1/customers/{customer_id}", query={"include": "subscriptions,orders"}
        )
        included = [item for item in customer.get("included") or [] if isinstance(item, dict)]
        found = [
            invoice
            for order in included
            if order.get("type") == "orders"
            and (invoice := self._order_invoice(_object(order.get("attributes")), order))
        ]
        subscriptions = sorted(
            {str(item.get("id")) for item in included if item.get("type") == "subscriptions"}
        )
        for subscription_id in subscriptions:
            listed = self._call(
                "GET",
                "/v1/subscription-invoices",
                query={
                    "filter[store_id]": settings.LEMONSQUEEZY_STORE_ID,
                    "filter[subscription_id]": subscription_id,
                    "page[size]": str(INVOICES_SHOWN),
                },
            )
            for item in listed.get("data") or []:
                attributes = _object(_object(item).get("attributes"))
                status = _INVOICE_STATUSES.get(str(attributes.get("status")))
                issued_at = _when(attributes.get("created_at"))
                if status is None or issued_at is None:
                    continue  # not one we can read
                found.append(
                    Invoice(
                        number=str(item.get("id")),
                        issued_at=issued_at,
                        amount=int(attributes.get("total") or 0),
                        currency=str(attributes.get("currency") or ""),
                        status=status,
                        url=str(_object(attributes.get("urls")).get("invoice_url") or ""),
                    )
                )
        found.sort(key=lambda invoice: invoice.issued_at, reverse=True)
        return found[:INVOICES_SHOWN]

    def _order_invoice(self, attributes: dict[str, Any], order: dict[str, Any]) -> Invoice | None:
        item = _object(attributes.get("first_order_item"))
        plan = plan_for_price(self.name, str(item.get("variant_id") or ""))
        status = _ORDER_STATUSES.get(str(attributes.get("status")))
        issued_at = _when(attributes.get("created_at"))
        if plan is None or not plan.is_one_time or status is None or issued_at is None:
            return None
        return Invoice(
            number=str(attributes.get("order_number") or order.get("id")),
            issued_at=issued_at,
            amount=int(attributes.get("total") or 0),
            currency=str(attributes.get("currency") or ""),
            status=status,
            url=str(_object(attributes.get("urls")).get("receipt") or ""),
        )

    # --- webhooks -------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        secret = settings.LEMONSQUEEZY_WEBHOOK_SECRET.encode()
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        given = headers.get(SIGNATURE_HEADER, "").strip().lower().encode("utf-8", "replace")
        if not given or not hmac.compare_digest(expected.encode(), given):  # bytes: any text
            raise WebhookVerificationError("The X-Signature does not match the body.")
        payload = envelope.decode(envelope.utf8(body))
        meta, data = _object(payload.get("meta")), _object(payload.get("data"))
        attributes = _object(data.get("attributes"))
        event = envelope.read(
            payload,
            names={
                "id": SIGNATURE_HEADER,
                "type": "meta.event_name",
                "occurred_at": "data.attributes.updated_at",
                "data": "data",
            },
            id=event_id(body),
            type=meta.get("event_name"),
            occurred_at=attributes.get("updated_at") or attributes.get("created_at"),
        )
        now = datetime.now(UTC)
        oldest = now - timedelta(hours=settings.LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS)
        if not oldest <= event.occurred_at <= now + FUTURE_TOLERANCE:
            raise WebhookVerificationError(
                f"Stale: the event's updated_at {event.occurred_at.isoformat()} is outside"
                f" the last {settings.LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS} hours."
            )
        return event

    def changes(self, event: VerifiedEvent) -> list[Change]:
        meta = event.payload.get("meta") or {}
        custom = meta.get("custom_data") or {}
        data = event.payload.get("data") or {}
        attributes = data.get("attributes") or {}
        if event.type in SUBSCRIPTION_EVENTS:
            if data.get("type") != "subscriptions":
                raise CannotApply(f"A {event.type} event about {data.get('type')!r}.")
            return [self._subscription(data, custom, event)]
        if event.type in {"order_created", "order_refunded"}:
            return self._order(data, custom, event)
        if event.type == "subscription_payment_success" and attributes.get("status") == "paid":
            invoice = _id(data.get("id"), "invoice")
            return self._received(invoice, invoice, attributes, custom, event)
        # subscription_payment_failed/recovered: the subscription_updated that comes with
        # each (past_due, active again) is what changes our state.
        return []

    def _order(
        self, data: dict[str, Any], custom: dict[str, Any], event: VerifiedEvent
    ) -> list[Change]:
        """A one-time purchase (the lifetime plan): granted when paid, revoked when fully
        refunded. A subscription's own order is left to its subscription's events, and its
        payment to the subscription's first invoice."""
        attributes = data.get("attributes") or {}
        item = attributes.get("first_order_item") or {}
        plan = plan_for_price(self.name, _id(item.get("variant_id"), "variant", optional=True))
        if plan is None or not plan.is_one_time:
            return []
        order = _id(data.get("id"), "order")
        organization = organization_id(custom.get("organization_id"))
        customer = _id(attributes.get("customer_id"), "customer", optional=True)
        status = attributes.get("status")
        if event.type == "order_refunded":
            if status != "refunded":
                return []  # a partial refund keeps the plan
            refunded_at = _when(attributes.get("refunded_at")) or event.occurred_at
            return [Refund(self.name, order, organization, customer, refunded_at)]
        if status != "paid":
            return []
        purchase = OneTimePurchase(
            self.name, order, organization, customer, plan, event.occurred_at
        )
        number = str(attributes.get("order_number") or order)
        return [purchase, *self._received(order, number, attributes, custom, event)]

    def _received(
        self,
        reference_id: str,
        number: str,
        attributes: dict[str, Any],
        custom: dict[str, Any],
        event: VerifiedEvent,
    ) -> list[Change]:
        """A receipt for money that arrived (an order's or an invoice's total)."""
        total = attributes.get("total")
        if not total:
            return []
        return [
            PaymentReceived(
                provider=self.name,
                reference=reference_id,
                organization_id=organization_id(custom.get("organization_id")),
                customer_id=_id(attributes.get("customer_id"), "customer", optional=True),
                amount=whole_number(total, "total", maximum=2**62),
                currency=str(attributes.get("currency") or ""),
                paid_at=event.occurred_at,
                number=number,
            )
        ]

    def _subscription(
        self, data: dict[str, Any], custom: dict[str, Any], event: VerifiedEvent
    ) -> SubscriptionState:
        attributes = data.get("attributes") or {}
        variant = _id(attributes.get("variant_id"), "variant")
        plan = plan_for_price(self.name, variant)
        if plan is None:
            raise CannotApply(f"Lemon Squeezy variant {variant!r} is not in the plan catalogue.")
        raw_status = str(attributes.get("status", ""))
        item = attributes.get("first_subscription_item") or {}
        ends_at, expired = _when(attributes.get("ends_at")), raw_status == "expired"
        cancelled = raw_status == "cancelled" or bool(attributes.get("cancelled"))
        return SubscriptionState(
            provider=self.name,
            external_id=_id(data.get("id"), "subscription"),
            organization_id=organization_id(custom.get("organization_id")),
            customer_id=_id(attributes.get("customer_id"), "customer", optional=True),
            plan=plan,
            status=_STATUSES.get(raw_status, "incomplete"),
            seats=whole_number(item.get("quantity") or 1, "quantity"),
            current_period_end=(ends_at if cancelled or expired else None)
            or _when(attributes.get("renews_at")),
            cancel_at_period_end=cancelled and not expired,
            trial_end=_when(attributes.get("trial_ends_at")),
            ended_at=(ends_at or event.occurred_at) if expired else None,
            item_id=_id(item.get("id"), "subscription item", optional=True),
            as_of=event.occurred_at,
            creates=event.type == "subscription_created",
        )
