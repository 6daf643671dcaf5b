from __future__ import annotations

from django.conf import settings
from django.db import models

from kernel.permissions import Role
from kernel.tenancy import TenantModel


class Organization(models.Model):
    """The tenant. Every tenant row points here; deleting it deletes them."""

    name = models.CharField(max_length=64)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(TenantModel):
    """A user's role in one organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=[(r.value, r.name.title()) for r in Role])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="organizations_membership_unique"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="membership_org_role")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"

    def has_other_owners(self) -> bool:
        """For the last-owner policy; run it inside a mutation so the answer holds."""
        return (
            Membership.objects.for_organization(self.organization_id)
            .filter(role=Role.OWNER)
            .exclude(pk=self.pk)
            .exists()
        )
