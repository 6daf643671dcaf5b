"""What the billing app brings to the kernel (kernel/manifest.py): its permissions, its
pages, the entitlement source that tells the kernel each organization's plan, and the
notifications (billing emails) its managers receive (billing/notices.py)."""

from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy

from billing.entitlements import GrantEntitlements
from billing.models import BillingCustomer, Grant, PlanSubscription, Purchase, Receipt
from billing.plans import FREE
from billing.tasks import reconcile_subscriptions, sync_seats_everywhere, trials
from kernel.actor import Actor
from kernel.exports import Export, ExportTable
from kernel.manifest import FUNCTION_MODULES, AuditLabel, Domain, Nav, Step
from kernel.notifications import NotificationKind
from kernel.permissions import MANAGERS, OWNERS, Permission
from kernel.tasks import Periodic


def plan_chosen(actor: Actor) -> bool:
    return actor.plan != FREE.name


domain = Domain(
    "billing",
    permissions=[
        Permission("billing.read", gettext_lazy("See the plan and invoices"), MANAGERS),
        Permission("billing.manage", gettext_lazy("Change the plan and payment details"), OWNERS),
    ],
    urls=[("billing/", "billing.urls"), ("webhooks/", "billing.webhook_urls")],
    api="billing.api",
    nav=[Nav(gettext_lazy("Billing"), "billing:page", permission="billing.read", order=40)],
    onboarding=[
        Step(
            gettext_lazy("Choose a plan"),
            "billing:plans",
            done=plan_chosen,
            permission="billing.manage",
            order=50,
        )
    ],
    audit_labels={
        "billing.grant_create": AuditLabel(
            gettext_lazy("granted the {target} plan"), gettext_lazy("grant a plan")
        ),
        "billing.grant_revoke": AuditLabel(
            gettext_lazy("revoked a grant of {target}"), gettext_lazy("revoke a grant")
        ),
        "billing.provider_event": AuditLabel(
            gettext_lazy("sent “{target}”: the plan is now {plan}"),
            gettext_lazy("apply a payment event"),
        ),
        "billing.subscription_reconcile": AuditLabel(
            gettext_lazy("corrected the subscription to {status}: the plan is now {plan}"),
            gettext_lazy("correct the subscription"),
        ),
    },
    entitlements=GrantEntitlements(),
    # To the members who manage billing, from the events that change it (billing/notices.py).
    notifications=[
        NotificationKind(
            "billing.payment_received",
            category="billing",
            text=gettext_lazy("{organization} paid {amount}. The receipt is on the invoices page."),
        ),
        NotificationKind(
            "billing.payment_failed",
            category="billing",
            text=gettext_lazy(
                "Payment for {organization} failed. Update your payment method to keep {plan}."
            ),
        ),
        NotificationKind(
            "billing.subscription_ending",
            category="billing",
            text=gettext_lazy(
                "The {plan} subscription of {organization} ends on {date}. You can keep it"
                " from the billing page until then."
            ),
        ),
        NotificationKind(
            "billing.plan_changing",
            category="billing",
            text=gettext_lazy("{organization} changes from {plan} to {new_plan} on {date}."),
        ),
        NotificationKind(
            "billing.plan_changed",
            category="billing",
            text=gettext_lazy("{organization} changed from {plan} to {new_plan}."),
        ),
        NotificationKind(
            "billing.subscription_cancelled",
            category="billing",
            text=gettext_lazy(
                "The {plan} subscription of {organization} has ended. Choose a plan to"
                " subscribe again."
            ),
        ),
        NotificationKind(
            "billing.trial_ending",
            category="billing",
            text=gettext_lazy(
                "The {plan} trial of {organization} ends on {date}. Keep the plan from the "
                "billing page, or the organization returns to the free plan."
            ),
        ),
    ],
    function_modules=(*FUNCTION_MODULES, "reconcile", "trials"),
    periodic=[
        Periodic(reconcile_subscriptions, every=timedelta(hours=settings.BILLING_RECONCILE_HOURS)),
        Periodic(sync_seats_everywhere, every=timedelta(hours=1)),
        Periodic(trials, every=timedelta(minutes=15)),
    ],
    # The provider's ids are references, not secrets: a customer can quote them to it.
    exports=Export(
        tables=[
            ExportTable.of(
                PlanSubscription,
                "billing_subscriptions",
                [
                    "id",
                    "provider",
                    "external_id",
                    "plan",
                    "status",
                    "seats",
                    "current_period_end",
                    "cancel_at_period_end",
                    "trial_end",
                    "ended_at",
                    "created_at",
                ],
            ),
            ExportTable.of(
                Grant,
                "billing_grants",
                [
                    "id",
                    "capability",
                    "plan",
                    "source_type",
                    "expires_at",
                    "revoked_at",
                    "note",
                    "created_at",
                ],
            ),
            ExportTable.of(
                Purchase,
                "billing_purchases",
                ["id", "provider", "external_id", "plan", "paid_at", "refunded_at", "created_at"],
            ),
            ExportTable.of(
                Receipt,
                "billing_receipts",
                ["id", "reference", "amount", "currency", "issued_at", "refunded_at"],
            ),
            ExportTable.of(
                BillingCustomer,
                "billing_customers",
                ["id", "provider", "external_id", "created_at"],
            ),
        ]
    ),
)
