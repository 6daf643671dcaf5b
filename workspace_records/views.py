"""Record pages: the list (filters, a create form), a record (edit), and delete. Forms
work without JavaScript; refusals show next to their field with what was typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy

from kernel.door import call
from kernel.errors import AppError, ErrorCode
from kernel.pages import FormView, filtered
from workspace_records import mutations, queries
from workspace_records.schemas import RecordPageOut


class RecordList(FormView):
    function = mutations.record_create
    template_name = "workspace_records/list.html"
    success_message = gettext_lazy("Record created.")
    success_url = "record_list"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        page, filters = filtered(
            request, queries.record_list, empty=RecordPageOut(records=[], next_cursor=None)
        )
        return {"page": page, "filters": filters}

    def render(
        self, request: HttpRequest, page: Mapping[str, Any], form: Any, status: int = 200
    ) -> HttpResponse:
        if page["filters"].error and status == 200:
            status = page["filters"].error.status
        return super().render(request, page, form, status)


class RecordDetail(FormView):
    function = mutations.record_update
    template_name = "workspace_records/detail.html"
    success_message = gettext_lazy("Saved.")

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        record = call(queries.record_get, request, {"record_id": kwargs["record_id"]})
        return {"record": record}

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        record = page["record"]
        return {
            "title": record.title,
            "body": record.body,
            "status": record.status.value,
            "version": record.version,
        }

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"record_id": kwargs["record_id"]}

    def shown_after_refusal(
        self, request: HttpRequest, error: AppError, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        """A stale edit keeps what the user typed, now on top of the current version (the
        page shows the current values beside it)."""
        shown = request.POST.copy()
        if error.code == ErrorCode.CONFLICT:
            shown["version"] = str(page["record"].version)
        return shown


class RecordDelete(FormView):
    function = mutations.record_delete
    template_name = "workspace_records/delete.html"
    success_message = gettext_lazy("Record deleted.")
    success_url = "record_list"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"record": call(queries.record_get, request, {"record_id": kwargs["record_id"]})}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"record_id": kwargs["record_id"]}
