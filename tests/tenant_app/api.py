from ninja import Router

from kernel.api import route
from tests.tenant_app import mutations, queries

router = Router(tags=["test notes"])
NOTE = "/test-notes/{int:note_id}"

route(router, "GET /test-notes", queries.note_list)
route(router, "POST /test-notes", mutations.note_create, status=201, errors=(402,))
route(router, f"GET {NOTE}", queries.note_get)
route(router, f"PATCH {NOTE}", mutations.note_update, version_header="version")
route(router, f"DELETE {NOTE}", mutations.note_delete, status=204)
route(router, "POST /test-notes/purge", mutations.note_purge)
route(router, "POST /test-notes/fail", mutations.fail_after_write)
route(router, "GET /test-notes/whoami", queries.whoami)
