"""Audit rows declared by mutations and written by the door, never by their bodies.

    @mutation("members.remove", permission="member.remove", audit="member.remove")
    def member_remove(*, actor: Actor, args: MemberTarget) -> None:
        member = ...
        member.delete()
        audit.describe(target=member.user.email, target_type="member", target_id=member.pk)

A mutation that declares `audit=` gets exactly one row for each call that succeeds,
written by the door inside the mutation's transaction after the body returned (so a
rollback leaves none), and one for each call refused (after the rollback, with the
permission and the reason: `function_refused`). The body only says what the row is about;
`unchanged()` says this call changed nothing, so there is nothing to record. Rows go to
the registered audit log (organizations: the organization's log), which records the
actor, the API key that acted, and the operator behind an impersonation or an admin
action.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from kernel.actor import Principal


@dataclass
class Entry:
    """What one audited call did, filled in by its body."""

    action: str
    target: str = ""
    target_type: str = ""
    target_id: str = ""
    organization_id: int | None = None
    """Where the row goes; by default the acting Actor's organization. A Person or an
    operator (System) acting on an organization names it."""
    detail: dict[str, Any] = field(default_factory=dict)
    recorded: bool = True


class AuditLog(Protocol):
    def write(self, principal: Principal, entry: Entry) -> None:
        """Record a successful call (inside its transaction)."""
        ...


_CURRENT: Final[ContextVar[Entry | None]] = ContextVar("kernel_audit_entry", default=None)
_REFUSED: Final[ContextVar[Entry | None]] = ContextVar("kernel_audit_refused", default=None)


def describe(
    *,
    target: object = "",
    target_type: str = "",
    target_id: object = "",
    organization_id: int | None = None,
    action: str | None = None,
    **detail: Any,
) -> None:
    """Say what this call's audit row is about. `action`: when one mutation records one
    of two actions (an operator adding or re-roling a member), the one it did.

    Call it as soon as the target is known (found in the actor's organization): a call
    refused after that records the target too, one refused before it (or `not_found`)
    does not."""
    entry = _require_entry()
    entry.target = str(target)[:254]
    entry.target_type = target_type
    entry.target_id = "" if target_id in ("", None) else str(target_id)
    if organization_id is not None:
        entry.organization_id = organization_id
    entry.action = action or entry.action
    entry.detail.update(detail)


def unchanged() -> None:
    """This call changed nothing (an idempotent no-op): no row."""
    _require_entry().recorded = False


def _require_entry() -> Entry:
    entry = _CURRENT.get()
    if entry is None:
        raise RuntimeError(
            "kernel.audit.describe() is for the body of a mutation that declares audit=..."
        )
    return entry


@contextmanager
def recording(action: str | None) -> Iterator[Entry | None]:
    """Around a mutation's body: collect what `describe` says (None: not audited)."""
    if action is None:
        yield None
        return
    entry = Entry(action)
    token = _CURRENT.set(entry)
    _REFUSED.set(None)
    try:
        yield entry
    except Exception:
        _REFUSED.set(entry)  # what the body knew when it failed, for the refusal's row
        raise
    finally:
        _CURRENT.reset(token)


def start() -> None:
    """A call begins (the door): nothing is left of an earlier one's refusal."""
    _REFUSED.set(None)


def refused() -> Entry | None:
    """What the body of the call just refused had described, if it got that far."""
    return _REFUSED.get()


def write(principal: Principal, entry: Entry | None) -> None:
    """Write the row the body described, through the registered audit log."""
    if entry is None or not entry.recorded:
        return
    from kernel.sources import sources

    log = sources().audit_log
    if log is None:
        return  # no app keeps an audit log
    log.write(principal, entry)
