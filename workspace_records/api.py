"""/api/v1/records: each operation is a registered function (kernel/api.py builds it;
the door runs it)."""

from __future__ import annotations

from ninja import Router

from kernel.api import route
from workspace_records import mutations, queries

router = Router(tags=["records"])
RECORD = "/records/{int:record_id}"

route(
    router, "GET /records", queries.record_list, summary="Records, newest first (cursor-paginated)"
)
route(router, "POST /records", mutations.record_create, status=201, errors=(402,))
route(router, f"GET {RECORD}", queries.record_get)
route(
    router,
    f"PATCH {RECORD}",
    mutations.record_update,
    version_header="version",
    summary="Edit (send the version you edited: If-Match or `version`)",
)
route(router, f"DELETE {RECORD}", mutations.record_delete, status=204)
