"""What an organization's status and policies allow, checked once for every actor the
resolver builds (kernel/actors.py): a request, an API key, a socket's re-check, a job,
and the re-read inside a mutation. No transport checks these itself.

    suspended          nobody acts in it: `suspended`, with the operator's reason
    pending_deletion   nobody acts in it: `pending_deletion`; its owners may restore it
                       (a personal mutation, organizations.restore, which asks no Actor)
    require_two_factor a person without two-factor: `two_factor_required` (API keys are
                       not people: the network allowlist is their rule)
    api_key_networks   an API key from elsewhere: `forbidden`
"""

from __future__ import annotations

import ipaddress
from typing import Final

from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kernel import errors
from kernel.actor import Actor
from kernel.sources import OrganizationState, OrganizationStatus, sources

ACTIVE: Final = OrganizationState(0)


def admit(actor: Actor, state: OrganizationState) -> Actor:
    """`actor`, if its organization lets it act now; else the AppError saying why."""
    if state.status is OrganizationStatus.SUSPENDED:
        raise errors.suspended(suspended_message(state))
    if state.status is OrganizationStatus.PENDING_DELETION:
        raise errors.pending_deletion(
            pending_deletion_message(state), organization_id=state.organization_id
        )
    if actor.api_key_id is not None:
        _require_key_network(actor, state)
    elif state.require_two_factor and actor.user_id is not None:
        _require_two_factor(actor.user_id)
    return actor


def _require_key_network(actor: Actor, state: OrganizationState) -> None:
    """The organization's API key allowlist, against the address the request came from
    (kernel/client_ip.py, behind TRUSTED_PROXIES)."""
    if not state.api_key_networks:
        return
    address = actor.auth.client_ip
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        ip = None
    if ip is None or not any(ip in ipaddress.ip_network(n) for n in state.api_key_networks):
        raise errors.forbidden(
            _("This organization's API keys cannot be used from %(address)s.")
            % {"address": address or _("an unknown address")}
        )


def _require_two_factor(user_id: int) -> None:
    """Read on each resolution while the policy is on (one indexed query), so setting up
    two-factor lets the person in at once, and removing it shuts them out at once."""
    step_up = sources().step_up
    if step_up is None or step_up.has_two_factor(user_id):
        return
    raise errors.two_factor_required(
        _(
            "This organization requires two-factor authentication. "
            "Set it up on your account, then come back."
        ),
        action_url=step_up.two_factor_url(),
    )


def suspended_message(state: OrganizationState) -> str:
    contact = _("Contact %(email)s to have it reactivated.") % {"email": settings.SUPPORT_EMAIL}
    if state.reason:
        reason = _("Reason: %(reason)s.") % {"reason": state.reason.rstrip(".")}
        return _("This organization is suspended.") + f" {reason} {contact}"
    return _("This organization is suspended.") + f" {contact}"


def pending_deletion_message(state: OrganizationState) -> str:
    if state.deletion_due_at:
        return _(
            "This organization is scheduled for deletion on %(date)s. "
            "Its owners can restore it until then."
        ) % {"date": date_format(state.deletion_due_at, "d F Y")}
    return _("This organization is scheduled for deletion. Its owners can restore it until then.")
