"""Polar, through the official `polar-sdk`: checkouts, customer portal sessions,
cancel/resume, seats, and webhooks verified per Standard Webhooks by the SDK.

API calls go through the SDK's HTTP client and read only the fields we use from the
answers (a tolerant reader: Polar adding a field to an object never breaks billing)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, cast

from django.conf import settings
from polar.base import SyncClientBase, resolve_base_url
from polar.v2026_10.client import SERVERS, Environment, Polar
from polar.webhooks import (
    PolarWebhookError,
    PolarWebhookUnknownTypeError,
    PolarWebhookVerificationError,
    validate_event,
)

from billing import envelope
from billing.events import (
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

PRORATION: Final = "prorate"
SUBSCRIPTION_EVENTS: Final = frozenset(
    {
        "subscription.created",
        "subscription.updated",
        "subscription.active",
        "subscription.canceled",
        "subscription.uncanceled",
        "subscription.revoked",
        "subscription.past_due",
    }
)
ORDER_EVENTS: Final = frozenset({"order.paid", "order.refunded"})


_STATUSES: Final = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "unpaid",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
}


_ORDER_STATUSES: Final = {
    "paid": "paid",
    "partially_refunded": "paid",
    "pending": "open",
    "refunded": "refunded",
    "void": "void",
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


def _scheduled_plan(data: Mapping[str, Any], plan: Plan) -> str:
    """The plan a pending update (a downgrade at the period end) changes to, if any."""
    pending = data.get("pending_update") or {}
    later = plan_for_price("polar", str(pending.get("product_id") or ""))
    return later.code if later is not None and later != plan else ""


def _organization_id(data: Mapping[str, Any]) -> int | None:
    return organization_id(
        (data.get("metadata") or {}).get("organization_id"),
        (data.get("customer") or {}).get("external_id"),
    )


class PolarProvider:
    name = "polar"

    def __init__(self) -> None:
        environment = cast(Environment, settings.POLAR_SERVER)
        base = resolve_base_url(SERVERS, environment, settings.POLAR_API_BASE or None)
        self.client = SyncClientBase(base, Polar.version, settings.POLAR_ACCESS_TOKEN or "unset")

    def _call(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None,
        query: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = self.client.build_request(method, url, query_params=query, body=body)
        response = self.client.send_request(request)
        if response.status_code >= 400:
            raise ProviderError(f"Polar answered {response.status_code}: {response.text[:300]}")
        return dict(response.json())

    # --- calls to Polar --------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        body: dict[str, Any] = {
            "products": [request.plan.price_id("polar")],
            "external_customer_id": str(request.organization_id),
            "customer_email": request.email,
            "customer_name": request.organization_name,
            "success_url": request.success_url,
            "return_url": request.cancel_url,
            "metadata": {"organization_id": request.organization_id, "plan": request.plan.code},
        }
        if request.plan.per_seat:
            body["seats"] = request.seats
        if request.trial_days:
            body |= {"trial_interval": "day", "trial_interval_count": request.trial_days}
        checkout = self._call("POST", "/v1/checkouts/", body)
        return CheckoutStarted(url=str(checkout["url"]))

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        session = self._call(
            "POST", "/v1/customer-sessions/", {"customer_id": customer_id, "return_url": return_url}
        )
        return str(session["customer_portal_url"])

    def cancel(self, *, subscription_id: str, at_period_end: bool) -> None:
        body = {"cancel_at_period_end": True} if at_period_end else {"revoke": True}
        self._call("PATCH", f"/v1/subscriptions/{subscription_id}", body)

    def resume(self, *, subscription_id: str) -> None:
        self._call("PATCH", f"/v1/subscriptions/{subscription_id}", {"cancel_at_period_end": False})

    def change_plan(self, *, subscription_id: str, item_id: str, plan: Plan) -> None:
        self._call(
            "PATCH",
            f"/v1/subscriptions/{subscription_id}",
            {"product_id": plan.price_id(self.name), "proration_behavior": PRORATION},
        )

    def preview_change(
        self, *, subscription_id: str, item_id: str, plan: Plan, seats: int
    ) -> ChangePreview:
        """Polar's API has no proration preview: an estimate from the catalogue's prices
        and the subscription's period as Polar has it (exact=False)."""
        current = self.fetch_subscription(subscription_id=subscription_id)
        return estimate_change(current, plan, seats, now=datetime.now(UTC))

    def set_seats(self, *, subscription_id: str, item_id: str, seats: int) -> None:
        self._call(
            "PATCH",
            f"/v1/subscriptions/{subscription_id}",
            {"seats": seats, "proration_behavior": PRORATION},
        )

    def fetch_subscription(self, *, subscription_id: str) -> SubscriptionState:
        asked = datetime.now(UTC).replace(microsecond=0)
        found = self._call("GET", f"/v1/subscriptions/{subscription_id}", None)
        # Polar's subscription object is what its subscription events carry as `data`.
        read = VerifiedEvent("", "subscription.updated", asked, {"data": found})
        changes = self.changes(read)
        if len(changes) != 1 or not isinstance(changes[0], SubscriptionState):
            raise ProviderError(f"Polar answered no subscription for {subscription_id!r}.")
        return changes[0]

    def invoices(self, *, customer_id: str) -> list[Invoice]:
        """Polar's orders are its invoices; an order whose invoice Polar has generated
        links to it (one more call each: the URL is signed and short-lived)."""
        found = self._call(
            "GET",
            "/v1/orders/",
            None,
            {"customer_id": customer_id, "limit": INVOICES_SHOWN, "sorting": "-created_at"},
        )
        invoices = []
        for order in found.get("items") or []:
            status = _ORDER_STATUSES.get(str(order.get("status")))
            issued_at = _when(order.get("created_at"))
            if status is None or issued_at is None:
                continue  # a draft, or not an order we can read
            pdf = ""
            if order.get("is_invoice_generated"):
                pdf = str(self._call("GET", f"/v1/orders/{order['id']}/invoice", None)["url"])
            invoices.append(
                Invoice(
                    number=str(order.get("invoice_number") or order["id"]),
                    issued_at=issued_at,
                    amount=int(order.get("total_amount") or 0),
                    currency=str(order.get("currency") or ""),
                    status=status,
                    url="",  # Polar's customer portal is the hosted page
                    pdf_url=pdf,
                )
            )
        return invoices

    # --- webhooks -------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        wanted = {"webhook-id", "webhook-timestamp", "webhook-signature"}
        signed = {name.lower(): value for name, value in headers.items() if name.lower() in wanted}
        text = envelope.utf8(body)
        try:
            validate_event(
                text,
                signed,
                settings.POLAR_WEBHOOK_SECRET,
                SUBSCRIPTION_EVENTS | ORDER_EVENTS,
                lambda data: data,
            )
        except PolarWebhookUnknownTypeError:  # verified first: store it, act on nothing
            pass
        except PolarWebhookVerificationError as error:
            raise WebhookVerificationError(str(error)) from None
        except PolarWebhookError:  # verified, but not JSON: the envelope says so
            pass
        return envelope.read(
            envelope.decode(text),
            names={"id": "webhook-id", "type": "type", "occurred_at": "timestamp", "data": "data"},
            id=signed["webhook-id"],  # Standard Webhooks: the message id (a header) is the event's
        )

    def changes(self, event: VerifiedEvent) -> list[Change]:
        data = event.payload.get("data") or {}
        if event.type in SUBSCRIPTION_EVENTS:
            plan = plan_for_price(self.name, str(data.get("product_id", "")))
            if plan is None:
                raise CannotApply(f"Polar product {data.get('product_id')!r} is not in the plans.")
            revoked = event.type == "subscription.revoked"
            return [
                SubscriptionState(
                    provider=self.name,
                    external_id=reference(data.get("id"), "subscription"),
                    organization_id=_organization_id(data),
                    customer_id=reference(data.get("customer_id"), "customer", optional=True),
                    plan=plan,
                    status="canceled"
                    if revoked
                    else _STATUSES.get(str(data.get("status")), "incomplete"),
                    seats=whole_number(data.get("seats") or 1, "seats"),
                    current_period_end=_when(data.get("current_period_end")),
                    cancel_at_period_end=bool(data.get("cancel_at_period_end")),
                    trial_end=_when(data.get("trial_end")),
                    ended_at=_when(data.get("ended_at"))
                    or (event.occurred_at if revoked else None),
                    as_of=event.occurred_at,
                    scheduled_plan=_scheduled_plan(data, plan),
                    creates=event.type == "subscription.created",
                )
            ]
        if event.type == "order.paid":
            return self._order_paid(data, event)
        if (
            event.type == "order.refunded"
            and data.get("status") == "refunded"
            and not data.get("subscription_id")  # a subscription's own events say its end
        ):
            return [
                Refund(
                    provider=self.name,
                    payment_id=reference(data.get("id"), "order"),
                    organization_id=_organization_id(data),
                    customer_id=reference(data.get("customer_id"), "customer", optional=True),
                    refunded_at=event.occurred_at,
                )
            ]
        return []

    def _order_paid(self, data: Mapping[str, Any], event: VerifiedEvent) -> list[Change]:
        """A one-time purchase grants; any paid order is a receipt to tell about."""
        order = reference(data.get("id"), "order")
        organization = _organization_id(data)
        customer = reference(data.get("customer_id"), "customer", optional=True)
        changes: list[Change] = []
        if not data.get("subscription_id"):
            plan = plan_for_price(self.name, str(data.get("product_id", "")))
            if plan is None or not plan.is_one_time:
                return []
            changes.append(
                OneTimePurchase(self.name, order, organization, customer, plan, event.occurred_at)
            )
        amount = data.get("total_amount")
        if amount:
            changes.append(
                PaymentReceived(
                    provider=self.name,
                    reference=order,
                    organization_id=organization,
                    customer_id=customer,
                    amount=whole_number(amount, "amount", maximum=2**62),
                    currency=str(data.get("currency") or ""),
                    paid_at=event.occurred_at,
                    number=str(data.get("invoice_number") or ""),
                )
            )
        return changes
