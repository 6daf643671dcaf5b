"""Domain manifests: what each app brings, declared once in `<app>/domain.py`.

    domain = Domain(
        "widgets",
        permissions=[Permission("widgets.read", "See widgets", EVERYONE)],
        limits=[Limit("widgets", "widgets", free=100, raised_by={...})],
        urls=[("widgets/", "widgets.urls")],
        api="widgets.api",
        nav=[Nav("Widgets", "widgets_list", permission="widgets.read")],
        onboarding=[Step("Create your first widget", "widgets_list", done=has_widgets,
                         permission="widgets.create")],
        audit_labels={"widgets.delete": AuditLabel("deleted widget “{target}”", "delete a widget")},
        periodic=[Periodic(widgets.tasks.expire_widgets, every=timedelta(hours=1))],
        notifications=[NotificationKind("widgets.shared", category="organization",
                                        text=gettext_lazy("{name} shared a widget with you."))],
    )

When Django starts (kernel/apps.py), `load()` imports every installed app's manifest,
fills the catalogue, the sensitive actions, the limits, the notification kinds and the
sources, imports the apps'
`queries`, `mutations` and `actions` modules (their decorators register the functions),
and freezes it all. `config/urls.py`, `config/api.py`, the header and the dashboard's
onboarding checklist (config/dashboard.py) use what the manifests list, so adding or
deleting a domain touches nothing in `config/` but `INSTALLED_APPS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Final

from django.apps import apps
from django.urls import URLPattern, URLResolver, include, path

from kernel.actor import Actor
from kernel.audit import AuditLog
from kernel.exports import Export
from kernel.functions import FUNCTIONS
from kernel.limits import LIMITS, Limit
from kernel.notifications import KINDS, NotificationKind
from kernel.permissions import CATALOGUE, Permission
from kernel.sensitive import SENSITIVE_ACTIONS, SensitiveAction
from kernel.sources import SOURCES, Directory, EntitlementSource, StepUpSource
from kernel.tasks import Periodic

FUNCTION_MODULES: Final = ("queries", "mutations", "actions", "tasks")


@dataclass(frozen=True)
class Nav:
    """A link in the header, shown to actors holding `permission`."""

    label: str
    url_name: str
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class Step:
    """A step of a new organization's onboarding checklist (the dashboard's), shown to
    actors holding `permission` and ticked once `done(actor)` says so from real data."""

    label: str
    url_name: str
    done: Callable[[Actor], bool]
    permission: str | None = None
    applies: Callable[[], bool] = lambda: True
    """False where the step means nothing (inviting people when there are no teams)."""
    order: int = 100


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class AuditLabel:
    """An audit action in words, for the audit log and the dashboard's recent activity:
    `done` says what happened ("removed {target}"), `attempt` what a refused call tried
    ("remove a member"; a refused call's target is not recorded)."""

    done: str
    attempt: str
    target: Callable[[str], str] = str
    """How the stored target reads (a code the domain can name, say)."""
    name: str = ""
    """The action in a list of actions (a filter); else `attempt`, capitalised."""

    @property
    def title(self) -> str:
        return self.name or self.attempt[:1].upper() + self.attempt[1:]

    def describe(self, target: str, detail: Mapping[str, object], *, done: bool = True) -> str:
        """`done` (or `attempt`) with `{target}` and the row's detail filled in; a
        missing key reads as nothing rather than failing a page over an old row."""
        values = _Blank({k: str(v) for k, v in detail.items()}, target=self.target(target))
        return (self.done if done else self.attempt).format_map(values)


@dataclass(frozen=True)
class Domain:
    label: str
    """The app's label."""
    permissions: Sequence[Permission] = ()
    sensitive_actions: Sequence[SensitiveAction] = ()
    limits: Sequence[Limit] = ()
    urls: Sequence[tuple[str, str]] = ()
    """(prefix, module) pairs mounted by config/urls.py."""
    api: str | None = None
    """A module with a Ninja `router`, mounted under /api/v1/."""
    nav: Sequence[Nav] = ()
    onboarding: Sequence[Step] = ()
    audit_labels: Mapping[str, AuditLabel] = field(default_factory=dict)
    """The domain's audit actions (by code) in words."""
    directory: Directory | None = None
    entitlements: EntitlementSource | None = None
    step_up: StepUpSource | None = None
    audit_log: AuditLog | None = None
    periodic: Sequence[Periodic] = ()
    """Tasks the worker enqueues on a schedule (pruning, reconciliation)."""
    exports: Export | None = None  # its tables in an organization's data export (kernel/exports.py)
    notifications: Sequence[NotificationKind] = ()
    """The kinds of notification the domain sends (kernel/notifications.py `notify`)."""
    function_modules: Sequence[str] = field(default=FUNCTION_MODULES)


DOMAINS: Final[list[Domain]] = []


def load() -> None:
    """Collect the installed apps' manifests and their functions, then freeze. Idempotent."""
    if CATALOGUE.frozen:
        return
    for config in apps.get_app_configs():
        if find_spec(f"{config.name}.domain") is None:
            continue
        domain: Domain = import_module(f"{config.name}.domain").domain
        _register(domain)
        DOMAINS.append(domain)
    for registry in (CATALOGUE, SENSITIVE_ACTIONS, LIMITS, KINDS):
        registry.freeze()
    for config in apps.get_app_configs():
        domain_of = next((d for d in DOMAINS if d.label == config.label), None)
        for module in domain_of.function_modules if domain_of else ():
            if find_spec(f"{config.name}.{module}") is not None:
                import_module(f"{config.name}.{module}")
    FUNCTIONS.freeze()


def _register(domain: Domain) -> None:
    for permission in domain.permissions:
        CATALOGUE.add(permission.name, permission)
    for action in domain.sensitive_actions:
        SENSITIVE_ACTIONS.add(action.name, action)
    for limit in domain.limits:
        LIMITS.add(limit.kind, limit)
    for kind in domain.notifications:
        KINDS.add(kind.name, kind)
    for source in ("directory", "entitlements", "step_up", "audit_log"):
        provided = getattr(domain, source)
        if provided is not None:
            if getattr(SOURCES, source) is not None:
                raise ValueError(f"Two apps register the {source} ({domain.label} is the second).")
            setattr(SOURCES, source, provided)


def domain_urlpatterns() -> list[URLPattern | URLResolver]:
    """Every manifest's pages, in INSTALLED_APPS order."""
    return [path(prefix, include(module)) for d in DOMAINS for prefix, module in d.urls]


def api_modules() -> list[str]:
    return [d.api for d in DOMAINS if d.api]


def navigation() -> list[Nav]:
    return sorted((entry for d in DOMAINS for entry in d.nav), key=lambda entry: entry.order)


def onboarding_steps() -> list[Step]:
    return sorted((step for d in DOMAINS for step in d.onboarding), key=lambda step: step.order)


def audit_label(action: str) -> AuditLabel | None:
    """The words for an audit action code, from the manifest of the domain that owns it."""
    return next((d.audit_labels[action] for d in DOMAINS if action in d.audit_labels), None)


def periodic_tasks() -> list[Periodic]:
    from kernel.prune import PERIODIC  # the kernel's own: it has no manifest

    return [*PERIODIC, *(periodic for d in DOMAINS for periodic in d.periodic)]
