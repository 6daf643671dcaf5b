"""Record pages: list with filters and a create form, detail/edit, delete. Forms work
without JavaScript; errors show next to their field."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from kernel.errors import AppError, ErrorCode
from kernel.guard import has_app_permission, resolve_actor
from workspace_records import mutations, queries
from workspace_records.models import RecordStatus
from workspace_records.queries import RecordOrder

PAGE_ERRORS = (ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN)


def _status_filter(value: str | None) -> RecordStatus | None:
    return RecordStatus(value) if value in RecordStatus.values else None


@login_required
@require_http_methods(["GET", "POST"])
def record_list(request: HttpRequest) -> HttpResponse:
    actor = resolve_actor(request)
    error: AppError | None = None
    form = {"title": "", "body": ""}
    if request.method == "POST":
        form = {"title": request.POST.get("title", ""), "body": request.POST.get("body", "")}
        try:
            mutations.record_create(actor=actor, **form)
        except AppError as failure:
            if failure.code in PAGE_ERRORS:
                raise
            error = failure
        else:
            messages.success(request, "Record created.")
            return redirect("record_list")
    status = _status_filter(request.GET.get("status"))
    search = request.GET.get("q", "").strip()
    page = queries.record_list(
        actor=actor,
        status=status,
        search=search or None,
        order=RecordOrder.OLDEST if request.GET.get("order") == "oldest" else RecordOrder.NEWEST,
        cursor=request.GET.get("cursor") or None,
    )
    return render(
        request,
        "workspace_records/list.html",
        {
            "page": page,
            "statuses": RecordStatus.choices,
            "filters": {"status": status or "", "q": search, "order": request.GET.get("order", "")},
            "form": form,
            "error": error,
            "can_create": has_app_permission(actor, "workspace.records.create"),
        },
        status=error.status if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = resolve_actor(request)
    record = queries.record_get(actor=actor, record_id=record_id)
    error: AppError | None = None
    if request.method == "POST":
        try:
            record = mutations.record_update(
                actor=actor,
                record_id=record_id,
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
                status=request.POST.get("status", ""),
            )
        except AppError as failure:
            if failure.code in PAGE_ERRORS:
                raise
            error = failure
            record.title = request.POST.get("title", "")
        else:
            messages.success(request, "Saved.")
            return redirect("record_detail", record_id=record.pk)
    return render(
        request,
        "workspace_records/detail.html",
        {
            "record": record,
            "statuses": RecordStatus.choices,
            "error": error,
            "can_update": has_app_permission(actor, "workspace.records.update"),
            "can_delete": has_app_permission(actor, "workspace.records.delete"),
        },
        status=error.status if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_delete(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = resolve_actor(request)
    record = queries.record_get(actor=actor, record_id=record_id)
    if request.method == "POST":
        mutations.record_delete(actor=actor, record_id=record_id)
        messages.success(request, f"Deleted “{record.title}”.")
        return redirect("record_list")
    return render(request, "workspace_records/delete.html", {"record": record})


@login_required
@require_POST
def record_status(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = resolve_actor(request)
    mutations.record_set_status(
        actor=actor, record_id=record_id, status=request.POST.get("status", "")
    )
    return redirect("record_list")
