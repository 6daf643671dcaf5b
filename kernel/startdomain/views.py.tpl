"""${title} pages: the list (with a create form) and one (edit, delete). Forms work
without JavaScript; refusals show next to their field with what was typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from kernel.door import call
from kernel.errors import AppError, ErrorCode
from kernel.pages import FormView, filtered
from ${app} import mutations, queries


class ListPage(FormView):
    function = mutations.${singular}_create
    template_name = "${app}/list.html"
    success_message = gettext_lazy("Created.")
    success_url = "${app}_list"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        rows, filters = filtered(request, queries.${singular}_list, empty=[])
        return {"rows": rows, "filters": filters}


class DetailPage(FormView):
    function = mutations.${singular}_update
    template_name = "${app}/detail.html"
    success_message = gettext_lazy("Saved.")

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"row": call(queries.${singular}_get, request, {"${ref}": kwargs["${ref}"]})}

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        row = page["row"]
        return {"name": row.name, "notes": row.notes, "version": row.version}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"${ref}": kwargs["${ref}"]}

    def shown_after_refusal(
        self, request: HttpRequest, error: AppError, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        shown = request.POST.copy()
        if error.code == ErrorCode.CONFLICT:  # keep what was typed, on the current version
            shown["version"] = str(page["row"].version)
        return shown


class DeletePage(FormView):
    function = mutations.${singular}_delete
    template_name = "${app}/delete.html"
    success_message = gettext_lazy("Deleted.")
    success_url = "${app}_list"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"row": call(queries.${singular}_get, request, {"${ref}": kwargs["${ref}"]})}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"${ref}": kwargs["${ref}"]}
