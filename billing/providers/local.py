"""The local provider: the whole billing loop without an account anywhere.

Checkout is a page of this site; "paying" there, cancelling, resuming or changing seats
produces a signed event that goes through the same webhook handler (`billing.webhooks.
deliver`), task and mutations as Stripe's and Polar's — run at once rather than by the
worker, since the provider is this very process. Used when no provider keys are
configured, so the README's first command shows plans, limits and their lifting."""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from django.core import signing
from django.urls import reverse
from django.utils.crypto import salted_hmac

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
    whole_number,
)
from billing.plans import Plan, get_plan
from billing.providers.base import (
    INVOICES_SHOWN,
    PERIODS,
    ChangePreview,
    CheckoutRequest,
    CheckoutStarted,
    Invoice,
    WebhookVerificationError,
    estimate_change,
)

SIGNATURE_HEADER: Final = "Local-Signature"
TOLERANCE_SECONDS: Final = 300
CHECKOUT_MAX_AGE: Final = 3600
_SALT: Final = "billing.local"
CURRENCY: Final = "usd"
"""The plans' prices are dollars (billing/plans.py)."""


def signature(body: bytes, timestamp: int) -> str:
    return salted_hmac(_SALT, f"{timestamp}.".encode() + body, algorithm="sha256").hexdigest()


class LocalProvider:
    name = "local"

    # --- "calls" -------------------------------------------------------------------------

    def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted:
        if request.trial_days:
            plan, days = request.plan, request.trial_days
            self.start_trial(request.organization_id, plan, request.seats, days)
            return CheckoutStarted(  # this site's own page, like the local checkout's
                url=reverse("billing:page") + "?trial=started",
                customer_id=f"cus_local_{request.organization_id}",
            )
        token = signing.dumps(
            {"org": request.organization_id, "plan": request.plan.code, "seats": request.seats},
            salt=_SALT,
        )
        return CheckoutStarted(
            url=reverse("billing:local_checkout", args=[token]),
            customer_id=f"cus_local_{request.organization_id}",
        )

    def read_checkout(self, token: str) -> tuple[int, Plan, int]:
        """(organization, plan, seats) of a checkout link; BadSignature if forged/old."""
        data = signing.loads(token, salt=_SALT, max_age=CHECKOUT_MAX_AGE)
        plan = get_plan(str(data["plan"]))
        if plan is None or plan.is_free:
            raise signing.BadSignature("unknown plan")
        return int(data["org"]), plan, int(data["seats"])

    def pay(self, organization_id: int, plan: Plan, seats: int) -> None:
        """The local checkout page's "Pay": the provider tells us, by webhook, with the
        payment it took (its receipt)."""
        payment = {
            "id": f"pay_local_{secrets.token_hex(6)}",
            "amount": plan.price_cents * (seats if plan.per_seat else 1),
            "currency": CURRENCY,
        }
        if plan.is_one_time:
            self._emit(
                "payment.succeeded",
                {**payment, "organization_id": organization_id, "plan": plan.code},
            )
            return
        now = datetime.now(UTC)
        self._emit(
            "subscription.updated",
            {
                "id": f"sub_local_{secrets.token_hex(6)}",
                "organization_id": organization_id,
                "plan": plan.code,
                "status": "active",
                "seats": seats,
                "current_period_end": (now + PERIODS[str(plan.interval)]).isoformat(),
                "cancel_at_period_end": False,
                "payment": payment,
            },
        )

    def start_trial(self, organization_id: int, plan: Plan, seats: int, days: int) -> None:
        """A local trial: trialing at once, no payment asked. Like a provider's trial
        without a card it ends with the trial (cancel at period end) unless the plan is
        kept before then (`resume`); `end_trial` settles it when the time comes."""
        trial_end = (datetime.now(UTC) + timedelta(days=days)).isoformat()
        self._emit(
            "subscription.updated",
            {
                "id": f"sub_local_{secrets.token_hex(6)}",
                "organization_id": organization_id,
                "plan": plan.code,
                "status": "trialing",
                "seats": seats,
                "trial_end": trial_end,
                "current_period_end": trial_end,
                "cancel_at_period_end": True,
            },
        )

    def end_trial(self, *, subscription_id: str) -> None:
        """The trial's end (billing.tasks.trials): back to free, or on to the paid plan if
        it was kept (its first paid period was added when it was)."""
        from billing.models import PlanSubscription

        current = PlanSubscription.objects.unscoped().get(  # by the provider's own id
            provider=self.name, external_id=subscription_id
        )
        if current.cancel_at_period_end:
            ended = current.trial_end or datetime.now(UTC)
            self._update(subscription_id, status="canceled", ended_at=ended.isoformat())
        else:
            self._update(subscription_id, status="active")

    def refund(self, payment_id: str) -> None:
        self._emit("payment.refunded", {"id": payment_id})

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        return return_url  # the billing page itself has the controls

    def cancel(self, *, subscription_id: str, at_period_end: bool) -> None:
        if not at_period_end:
            self._update(subscription_id, status="canceled", ended_at=datetime.now(UTC).isoformat())
            return
        trial_end = self._trial_end(subscription_id)
        if trial_end is not None:  # a trial kept, given up again: it ends with the trial
            self._update(
                subscription_id, cancel_at_period_end=True, current_period_end=trial_end.isoformat()
            )
        else:
            self._update(subscription_id, cancel_at_period_end=True)

    def resume(self, *, subscription_id: str) -> None:
        trial_end = self._trial_end(subscription_id)
        if trial_end is None:
            self._update(subscription_id, cancel_at_period_end=False)
            return
        # Keeping a trial's plan "pays" (a test payment) for the first period after it.
        plan = get_plan(self._row(subscription_id).plan)
        period = PERIODS[str(plan.interval)] if plan else PERIODS["month"]
        self._update(
            subscription_id,
            cancel_at_period_end=False,
            current_period_end=(trial_end + period).isoformat(),
        )

    def _trial_end(self, subscription_id: str) -> datetime | None:
        """A trialing subscription's trial end, else None."""
        current = self._row(subscription_id)
        return current.trial_end if current.status == "trialing" else None

    def _row(self, subscription_id: str) -> Any:
        from billing.models import PlanSubscription

        return PlanSubscription.objects.unscoped().get(  # by the provider's own id
            provider=self.name, external_id=subscription_id
        )

    def change_plan(self, *, subscription_id: str, item_id: str, plan: Plan) -> None:
        self._update(subscription_id, plan=plan.code)

    def preview_change(
        self, *, subscription_id: str, item_id: str, plan: Plan, seats: int
    ) -> ChangePreview:
        """The local provider's prices are the catalogue's: its estimate is the charge."""
        current = self.fetch_subscription(subscription_id=subscription_id)
        return estimate_change(current, plan, seats, now=datetime.now(UTC), exact=True)

    def set_seats(self, *, subscription_id: str, item_id: str, seats: int) -> None:
        self._update(subscription_id, seats=seats)

    def fetch_subscription(self, *, subscription_id: str) -> SubscriptionState:
        """The local provider keeps no state of its own: ours is the truth."""
        from billing.models import PlanSubscription

        current = PlanSubscription.objects.unscoped().get(  # by the provider's own id
            provider=self.name, external_id=subscription_id
        )
        plan = get_plan(current.plan)
        if plan is None:
            raise LookupError(f"The local subscription's plan {current.plan!r} is unknown.")
        return SubscriptionState(
            provider=self.name,
            external_id=current.external_id,
            organization_id=current.organization_id,
            customer_id=f"cus_local_{current.organization_id}",
            plan=plan,
            status=current.status,
            seats=current.seats,
            current_period_end=current.current_period_end,
            cancel_at_period_end=current.cancel_at_period_end,
            trial_end=current.trial_end,
            ended_at=current.ended_at,
            item_id=current.item_id,
            as_of=current.state_as_of or datetime.now(UTC),
        )

    def invoices(self, *, customer_id: str) -> list[Invoice]:
        """Its own receipts, written when a payment here was applied."""
        from billing.models import BillingCustomer, Receipt

        organization_id = (
            BillingCustomer.objects.unscoped()  # by the provider's customer id
            .filter(provider=self.name, external_id=customer_id)
            .values_list("organization_id", flat=True)
            .first()
        )
        if organization_id is None:
            return []
        receipts = Receipt.objects.for_organization(organization_id).order_by("-issued_at", "-pk")
        return [
            Invoice(
                number=receipt.number,
                issued_at=receipt.issued_at,
                amount=receipt.amount,
                currency=receipt.currency,
                status="refunded" if receipt.refunded_at else "paid",
                url="",
            )
            for receipt in receipts[:INVOICES_SHOWN]
        ]

    def _update(self, subscription_id: str, **changes: Any) -> None:
        current = self._row(subscription_id)
        self._emit(
            "subscription.updated",
            {
                "id": current.external_id,
                "organization_id": current.organization_id,
                "plan": current.plan,
                "status": current.status,
                "seats": current.seats,
                "current_period_end": current.current_period_end.isoformat()
                if current.current_period_end
                else None,
                "cancel_at_period_end": current.cancel_at_period_end,
                "trial_end": current.trial_end.isoformat() if current.trial_end else None,
                **changes,
            },
        )

    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        from billing.tasks import process_event
        from billing.webhooks import deliver

        now = time.time()
        body = json.dumps(
            {
                "id": f"evt_local_{secrets.token_hex(8)}",
                "type": event_type,
                "created": now,
                "data": data,
            }
        ).encode()
        headers = {SIGNATURE_HEADER: f"t={int(now)},v1={signature(body, int(now))}"}
        delivery = deliver(self.name, body, headers)
        if delivery.enqueued is not None:
            # We are the provider and the site at once: apply it now, so that the page
            # after "Pay" shows the plan. The task queued with it then finds it done.
            process_event.call(delivery.enqueued)

    # --- webhooks -------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        parts = dict(
            part.split("=", 1)
            for part in headers.get(SIGNATURE_HEADER, "").split(",")
            if "=" in part
        )
        if not parts.get("t", "").isdigit() or "v1" not in parts:
            raise WebhookVerificationError("Missing or malformed signature.")
        timestamp = int(parts["t"])
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise WebhookVerificationError("The signature's timestamp is outside the tolerance.")
        if not hmac.compare_digest(signature(body, timestamp), parts["v1"]):
            raise WebhookVerificationError("The signature does not match.")
        return envelope.read(
            envelope.decode(envelope.utf8(body)),
            names={"id": "id", "type": "type", "occurred_at": "created", "data": "data"},
        )

    def changes(self, event: VerifiedEvent) -> list[Change]:
        data = event.payload["data"]
        if event.type == "payment.refunded":
            return [
                Refund(
                    provider=self.name,
                    payment_id=str(data["id"]),
                    organization_id=None,
                    customer_id="",
                    refunded_at=event.occurred_at,
                )
            ]
        if event.type not in {"subscription.updated", "payment.succeeded"}:
            return []
        plan = get_plan(str(data["plan"]))
        if plan is None:
            raise CannotApply(f"Unknown plan {data['plan']!r} in a local event.")
        organization_id = whole_number(data["organization_id"], "organization id", maximum=ID_MAX)
        customer_id = f"cus_local_{organization_id}"
        one_time = event.type == "payment.succeeded"
        receipt = self._receipt(data if one_time else data.get("payment"), organization_id, event)
        receipts = [receipt] if receipt else []
        if one_time:
            purchase = OneTimePurchase(
                self.name, str(data["id"]), organization_id, customer_id, plan, event.occurred_at
            )
            return [purchase, *receipts]
        period_end, ended = data.get("current_period_end"), data.get("ended_at")
        trial_end = data.get("trial_end")
        return [
            SubscriptionState(
                provider=self.name,
                external_id=str(data["id"]),
                organization_id=organization_id,
                customer_id=customer_id,
                plan=plan,
                status=str(data["status"]),
                seats=whole_number(data["seats"], "seats"),
                current_period_end=datetime.fromisoformat(period_end) if period_end else None,
                cancel_at_period_end=bool(data["cancel_at_period_end"]),
                trial_end=datetime.fromisoformat(trial_end) if trial_end else None,
                ended_at=datetime.fromisoformat(ended) if ended else None,
                as_of=event.occurred_at,
            ),
            *receipts,
        ]

    def _receipt(
        self, payment: Any, organization_id: int, event: VerifiedEvent
    ) -> PaymentReceived | None:
        """The payment an event carries ("Pay (test)"), if any: our receipt of it."""
        if not payment or not payment.get("amount"):
            return None
        return PaymentReceived(
            provider=self.name,
            reference=str(payment["id"]),
            organization_id=organization_id,
            customer_id=f"cus_local_{organization_id}",
            amount=whole_number(payment["amount"], "amount"),
            currency=str(payment["currency"]),
            paid_at=event.occurred_at,
        )
