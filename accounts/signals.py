"""What accounts tells the apps above it, without importing them."""

from django.dispatch import Signal

step_up_attempted = Signal()
"""An organization-scoped step-up, succeeded or failed (for that organization's audit
log): request, user, action, method, organization_id, success."""

account_deletion_blockers = Signal()
"""Asked before an account is deleted: user. Each receiver returns a list of names of
things the deletion would orphan (shown to the user; the deletion is refused)."""

account_deleting = Signal()
"""Sent inside the deletion's transaction, before the user row goes: user. Receivers
delete what belongs to the user alone."""
