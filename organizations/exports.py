"""Data exports: an organization's (its managers, `organization.export`) and a person's own
account data. A request records a pending `DataExport` and enqueues the task that writes
the ZIP (organizations/export_tasks.py → `exports.build`); once written, `exports.finish`
marks it ready and emails the requester a signed link, valid EXPORT_LINK_HOURS, after
which the periodic prune deletes the file. Downloading checks the link and, again, who is
downloading: a member still allowed to export in that organization (audited as
`export.download`), or, for an account export, the person themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from accounts.audit import record_security_event
from accounts.mail import send_templated_mail
from accounts.models import SecurityEvent, User
from kernel import audit, errors
from kernel.actor import SYSTEM, Actor, Person, System
from kernel.door import call
from kernel.exports import Row
from kernel.functions import action, mutation, query
from kernel.guard import require_app_permission
from kernel.manifest import DOMAINS
from kernel.notifications import notify
from organizations.account_export import account_tables
from organizations.audit import AuditAction, actor_label
from organizations.export_files import write_export
from organizations.export_schemas import DataExportOut, ExportFile, ExportLink, ExportRef
from organizations.export_tasks import build_export
from organizations.models import ApiKey, DataExport, Organization

logger = logging.getLogger(__name__)

LINK_SALT = "organizations.exports.link"
RECENT = 10
"""How many exports the pages and the API list."""


# --- links ---


def link_token(export_id: int) -> str:
    return signing.TimestampSigner(salt=LINK_SALT).sign(str(export_id))


def download_path(export_id: int) -> str:
    return reverse("export_download", args=[link_token(export_id)])


def download_url(export_id: int) -> str:
    return f"{settings.SITE_URL}{download_path(export_id)}"


def export_id_from(token: str) -> int:
    """The export a link names: `not_found` if it was never ours, or has expired (a link
    older than EXPORT_LINK_HOURS says so)."""
    max_age = timedelta(hours=settings.EXPORT_LINK_HOURS)
    try:
        value = signing.TimestampSigner(salt=LINK_SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise errors.not_found(
            "This download link has expired. Request a new export to get a fresh one."
        ) from None
    except signing.BadSignature:
        raise errors.not_found("There is no such export.") from None
    return int(value)


def _out(export: DataExport) -> DataExportOut:
    path = download_path(export.pk) if export.status == DataExport.Status.READY else None
    return DataExportOut(
        id=export.pk,
        kind=export.kind,
        status=export.status,
        requested_by=export.requested_by_label,
        created_at=export.created_at,
        ready_at=export.ready_at,
        expires_at=export.expires_at,
        size=export.size,
        counts=export.counts,
        download_url=f"{settings.SITE_URL}{path}" if path else None,
        download_path=path,
    )


# --- requesting ---


def _require_room(exports: Any, who: str) -> None:
    """One export at a time, and EXPORTS_PER_DAY a day (the request runs SERIALIZABLE, so
    two concurrent requests cannot both pass)."""
    if exports.filter(status=DataExport.Status.PENDING).exists():
        raise errors.conflict(
            f"An export of {who} is being prepared. You will get an email when it is ready."
        )
    day_ago = timezone.now() - timedelta(days=1)
    recent = exports.filter(created_at__gt=day_ago).order_by("created_at")
    if recent.count() >= settings.EXPORTS_PER_DAY:
        first = recent.first()
        wait = int((first.created_at - day_ago).total_seconds()) if first else 3600
        raise errors.rate_limited(
            wait, f"{settings.EXPORTS_PER_DAY} exports a day at most. Try again later."
        )


def _requesting_person(actor: Actor) -> User | None:
    """Who gets the email: the person, or the API key's creator."""
    if actor.api_key_id is not None:
        key = ApiKey.objects.for_actor(actor).filter(pk=actor.api_key_id).first()
        return key.created_by if key is not None else None
    return User.objects.filter(pk=actor.user_id).first() if actor.user_id else None


@mutation(
    "export.request",
    permission="organization.export",
    output=DataExportOut,
    audit=AuditAction.EXPORT_REQUEST,
)
def export_request(*, actor: Actor) -> DataExportOut:
    """Owners and admins (and API keys with the scope): the task writes the ZIP and emails
    the requesting person (an API key's creator) a link."""
    exports = DataExport.objects.filter(
        kind=DataExport.Kind.ORGANIZATION, organization_id=actor.organization_id
    )
    _require_room(exports, "this organization")
    user = _requesting_person(actor)
    export = DataExport.objects.create(
        kind=DataExport.Kind.ORGANIZATION,
        organization_id=actor.organization_id,
        requested_by=user,
        requested_by_label=actor_label(actor, None if actor.api_key_id else user),
        api_key_id=actor.api_key_id,
    )
    build_export.enqueue(export.pk)
    audit.describe(target="the organization's data", target_type="data_export", target_id=export.pk)
    return _out(export)


@query("export.list", permission="organization.export", output=list[DataExportOut])
def export_list(*, actor: Actor) -> list[DataExportOut]:
    """The organization's recent exports, newest first."""
    exports = DataExport.objects.filter(
        kind=DataExport.Kind.ORGANIZATION, organization_id=actor.organization_id
    ).order_by("-created_at", "-pk")[:RECENT]
    return [_out(export) for export in exports]


@mutation(
    "account.export_request",
    personal=True,
    output=DataExportOut,
    unaudited="a person's own data: no organization's; the export row records it",
)
def account_export_request(*, actor: Person) -> DataExportOut:
    """A person's own data, in the same ZIP shape, emailed to them."""
    user = User.objects.get(pk=actor.user_id)
    mine = DataExport.objects.filter(kind=DataExport.Kind.ACCOUNT, requested_by=user)
    _require_room(mine, "your account")
    export = DataExport.objects.create(
        kind=DataExport.Kind.ACCOUNT, requested_by=user, requested_by_label=user.email
    )
    build_export.enqueue(export.pk)
    record_security_event(
        request=None,
        ip_address=actor.auth.client_ip,
        user=user,
        kind="account.export_request",
        result=SecurityEvent.Result.SUCCESS,
        export_id=export.pk,
    )
    return _out(export)


@query("account.export_list", personal=True, output=list[DataExportOut])
def account_export_list(*, actor: Person) -> list[DataExportOut]:
    exports = DataExport.objects.filter(
        kind=DataExport.Kind.ACCOUNT, requested_by_id=actor.user_id
    ).order_by("-created_at", "-pk")[:RECENT]
    return [_out(export) for export in exports]


# --- downloading ---


def _ready(export: DataExport | None) -> DataExport:
    if export is None or export.status == DataExport.Status.PENDING:
        raise errors.not_found("There is no such export.")
    if export.status != DataExport.Status.READY or (
        export.expires_at is not None and export.expires_at <= timezone.now()
    ):
        raise errors.not_found("This export has expired. Request a new one.")
    return export


def _file(export: DataExport) -> ExportFile:
    stamp = timezone.localtime(export.created_at).strftime("%Y-%m-%d")
    return ExportFile(id=export.pk, name=export.file.name, filename=f"export-{stamp}.zip")


@mutation(
    "export.download",
    internal=True,
    permission="organization.export",
    output=ExportFile,
    audit=AuditAction.EXPORT_DOWNLOAD,
)
def export_download(*, actor: Actor, args: ExportLink) -> ExportFile:
    """The download view's check (organizations/export_views.py): the link is valid and
    the actor, in the export's organization, may still export (checked here: the door
    leaves internal functions' permissions to their bodies). An API key with the scope
    downloads only the exports it requested itself."""
    require_app_permission(actor, "organization.export")
    if actor.api_key_id is not None:
        requested = DataExport.objects.filter(api_key_id=actor.api_key_id)
    else:
        requested = DataExport.objects.all()
    export = _ready(
        requested.filter(
            pk=export_id_from(args.token),
            kind=DataExport.Kind.ORGANIZATION,
            organization_id=actor.organization_id,
        ).first()
    )
    audit.describe(
        target="the organization's data",
        target_type="data_export",
        target_id=export.pk,
        created=timezone.localtime(export.created_at).strftime("%Y-%m-%d %H:%M"),
    )
    return _file(export)


@mutation(
    "account.export_download",
    internal=True,
    personal=True,
    output=ExportFile,
    unaudited="a person downloading their own data: no organization's",
)
def account_export_download(*, actor: Person, args: ExportLink) -> ExportFile:
    """Only the person whose data it is."""
    export = _ready(
        DataExport.objects.filter(
            pk=export_id_from(args.token),
            kind=DataExport.Kind.ACCOUNT,
            requested_by_id=actor.user_id,
        ).first()
    )
    record_security_event(
        request=None,
        ip_address=actor.auth.client_ip,
        user=User.objects.get(pk=actor.user_id),
        kind="account.export_download",
        result=SecurityEvent.Result.SUCCESS,
        export_id=export.pk,
    )
    return _file(export)


# --- building (the task) ---


Table = tuple[str, Sequence[str], Iterable[Row]]


def _organization_tables(organization_id: int) -> Iterator[Table]:
    """Every manifest's tables, in INSTALLED_APPS order."""
    for domain in DOMAINS:
        for table in domain.exports.tables if domain.exports else ():
            yield table.name, tuple(table.fields), table.rows(organization_id)


def _manifest(export: DataExport) -> dict[str, Any]:
    about: dict[str, Any]
    if export.organization_id is not None:
        organization = Organization.objects.get(pk=export.organization_id)
        about = {"organization": {"id": organization.pk, "name": organization.name}}
    else:
        about = {"account": {"id": export.requested_by_id, "email": export.requested_by_label}}
    return {
        "format": 1,
        "kind": export.kind,
        **about,
        "requested_by": export.requested_by_label,
        "requested_at": export.created_at,
        "generated_at": timezone.now(),
        "site": settings.SITE_NAME,
    }


@action("exports.build", internal=True)
def export_build(*, actor: System, args: ExportRef) -> None:
    """Write the ZIP of a pending export, then mark it ready (or failed). A repeat (the
    task run twice) finds it no longer pending and does nothing."""
    export = DataExport.objects.filter(pk=args.export_id).first()
    if export is None or export.status != DataExport.Status.PENDING:
        return
    from django.core.files.storage import storages

    tables: Iterator[Table]
    if export.kind == DataExport.Kind.ORGANIZATION:
        assert export.organization_id is not None
        tables = _organization_tables(export.organization_id)
        folder = f"organizations/{export.organization_id}"
    else:
        assert export.requested_by is not None
        tables = iter(account_tables(export.requested_by))
        folder = f"accounts/{export.requested_by_id}"
    try:
        name, size, counts = write_export(
            storages["exports"], f"{folder}/export-{export.pk}.zip", tables, _manifest(export)
        )
    except Exception as error:
        logger.exception("exports: export %s failed", export.pk)
        call(export_fail, SYSTEM, {"export_id": export.pk, "error": type(error).__name__})
        return
    call(
        export_finish,
        SYSTEM,
        {"export_id": export.pk, "name": name, "size": size, "counts": counts},
    )


class _Finished(ExportRef):
    name: str
    size: int
    counts: dict[str, int]


class _Failed(ExportRef):
    error: str


@mutation(
    "exports.finish",
    internal=True,
    unaudited="the task's bookkeeping of an export already audited as requested",
)
def export_finish(*, actor: System, args: _Finished) -> None:
    """Ready: the file, its expiry, and the requester's email with the link (queued in
    this transaction, so sent once it commits)."""
    export = DataExport.objects.select_related("requested_by", "organization").get(
        pk=args.export_id
    )
    if export.status != DataExport.Status.PENDING:
        transaction.on_commit(lambda: _delete_file(args.name))  # a repeat's second file
        return
    now = timezone.now()
    export.status = DataExport.Status.READY
    export.file.name = args.name
    export.size = args.size
    export.counts = args.counts
    export.ready_at = now
    export.expires_at = now + timedelta(hours=settings.EXPORT_LINK_HOURS)
    export.save()
    if export.requested_by is not None:
        _tell_ready(export)
        send_templated_mail(
            "organizations/email/export_ready",
            export.requested_by.email,
            {
                "export": export,
                "organization": export.organization,
                "url": download_url(export.pk),
                "hours": settings.EXPORT_LINK_HOURS,
            },
        )


def _tell_ready(export: DataExport) -> None:
    """The requester hears of it under the bell too (the email holds the download link)."""
    assert export.requested_by_id is not None
    if export.kind == DataExport.Kind.ACCOUNT:
        kind, params, link = "export.account_ready", {}, reverse("account_export")
    else:
        kind, link = "export.ready", reverse("organization_settings")
        params = {"organization": export.organization.name if export.organization else ""}
    notify(
        kind,
        users=[export.requested_by_id],
        organization_id=export.organization_id,
        params=params,
        link=link,
        key=f"export:{export.pk}",
    )


@mutation(
    "exports.fail",
    internal=True,
    unaudited="the task's bookkeeping of an export already audited as requested",
)
def export_fail(*, actor: System, args: _Failed) -> None:
    DataExport.objects.filter(pk=args.export_id, status=DataExport.Status.PENDING).update(
        status=DataExport.Status.FAILED, error=args.error[:254]
    )


@mutation(
    "exports.prune",
    internal=True,
    output=int,
    unaudited="deletes expired export files (retention), no organization's data",
)
def export_prune(*, actor: System) -> int:
    """Expired exports lose their file (deleted once this commits); the row stays, as
    `expired`, until its organization or person goes. Returns how many expired."""
    due = list(
        DataExport.objects.filter(
            status=DataExport.Status.READY, expires_at__lte=timezone.now()
        ).values_list("pk", "file")[: settings.PRUNE_BATCH_SIZE]
    )
    DataExport.objects.filter(pk__in=[pk for pk, _ in due]).update(
        status=DataExport.Status.EXPIRED, file=""
    )
    for _, name in due:
        _delete_file_on_commit(name)
    return len(due)


def _delete_file_on_commit(name: str) -> None:
    transaction.on_commit(lambda: _delete_file(name))


def _delete_file(name: str) -> None:
    from django.core.files.storage import storages

    if name:
        storages["exports"].delete(name)


@receiver(post_delete, sender=DataExport)
def delete_export_file(sender: Any, instance: DataExport, **kwargs: Any) -> None:
    """An organization or account deleted takes its exports' files along."""
    _delete_file_on_commit(instance.file.name or "")
