"""Internal mutations an operator runs from the admin (suspend, restore, purge) check
here that a staff member is behind the call, whom their audit row names."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import User
from kernel import errors
from kernel.actor import Principal, System


def require_operator(actor: Principal) -> System:
    """An internal call made for an active staff member (the admin's `operator`), whom the
    audit row names."""
    if not isinstance(actor, System) or actor.operator_id is None:
        raise errors.forbidden(_("Only an operator can act on an organization."))
    if not User.objects.filter(pk=actor.operator_id, is_staff=True, is_active=True).exists():
        raise errors.forbidden(_("Only an active staff member can act on an organization."))
    return actor
