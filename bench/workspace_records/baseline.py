"""A bare endpoint for benchmarks: the records list's SQL through a raw cursor, no auth,
no ORM, no schema. Mounted only when BENCHMARK_ENDPOINTS=true (bench/urls.py)."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse

SQL = (
    'SELECT "id", "title", "status", "body", "version", "created_by_id", "created_at", '
    '"updated_at" FROM "workspace_records_workspacerecord" WHERE "organization_id" = %s '
    'ORDER BY "created_at" DESC, "id" DESC LIMIT 51'
)
COLUMNS = ("id", "title", "status", "body", "version", "created_by_id", "created_at", "updated_at")


def records_raw(request: HttpRequest, organization_id: int) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(SQL, [organization_id])
        rows = cursor.fetchall()[:50]
    records = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    body = json.dumps({"records": records, "next_cursor": None}, default=str)
    return HttpResponse(body, content_type="application/json")
