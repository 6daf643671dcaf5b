"""`{{ membership.role|role_label }}`: a role's name in the reader's language ("Owner",
"Inhaber"); the stored value ("owner") stays the code the API and the database use."""

from __future__ import annotations

from django import template
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from kernel.permissions import Role

register = template.Library()

LABELS: dict[str, Promise] = {
    Role.OWNER: pgettext_lazy("role", "Owner"),
    Role.ADMIN: pgettext_lazy("role", "Admin"),
    Role.MEMBER: pgettext_lazy("role", "Member"),
    Role.VIEWER: pgettext_lazy("role", "Viewer"),
}


@register.filter
def role_label(role: object) -> str:
    """The label of a role code; an unknown value as it is."""
    label = LABELS.get(str(role))
    return str(label) if label is not None else str(role)
