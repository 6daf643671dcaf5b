"""Reads of the accounts domain: a person's own account only."""

from __future__ import annotations

from accounts.models import User
from accounts.schemas import ProfileOut
from kernel.actor import Person
from kernel.functions import query


@query("account.profile", personal=True, output=ProfileOut)
def profile_get(*, actor: Person) -> User:
    """The signed-in person's own profile (there is no user id to pass: never another's)."""
    return User.objects.get(pk=actor.user_id)
