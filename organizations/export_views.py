"""Export pages: the request buttons (settings page, account page), the account's
export page, and the download link's view, which streams the file once the door has
checked the link and the person (organizations/exports.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from kernel.door import call
from kernel.errors import not_found
from kernel.pages import ActionView
from organizations import exports
from organizations.models import DataExport

REQUESTED = gettext_lazy(
    "Your export is being prepared. We will email you a download link when it is ready."
)


class ExportRequest(ActionView):
    function = exports.export_request
    success_message = REQUESTED
    back = "organization_settings"


class AccountExportRequest(ActionView):
    function = exports.account_export_request
    success_message = REQUESTED
    back = "account_export"


def section(items: list[Any]) -> dict[str, Any]:
    """What the export sections show, beside the list."""
    return {
        "exports": items,
        "export_pending": any(e.status == DataExport.Status.PENDING for e in items),
        "export_link_hours": settings.EXPORT_LINK_HOURS,
    }


class AccountExportPage(View):
    """The person's exports and the button (the request is AccountExportRequest)."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        items = call(exports.account_export_list, request)  # signed in, or off to sign in
        return render(request, "organizations/_export_account.html", section(items))


def download(request: HttpRequest, token: str) -> FileResponse:
    """The emailed link. Another organization's member, a stranger and a stale link all
    get "not found"; a member whose role may not export gets the refusal."""
    export = DataExport.objects.filter(pk=exports.export_id_from(token)).first()
    if export is None:
        raise not_found(_("There is no such export."))
    if export.kind == DataExport.Kind.ORGANIZATION:
        found = call(
            exports.export_download,
            request,
            {"token": token},
            organization_id=export.organization_id,
        )
    else:
        found = call(exports.account_export_download, request, {"token": token})
    response = FileResponse(
        storages["exports"].open(found.name, "rb"),
        as_attachment=True,
        filename=found.filename,
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response
