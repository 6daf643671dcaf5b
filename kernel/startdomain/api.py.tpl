"""/api/v1/${url_prefix}: each operation is a registered function (kernel/api.py builds
it; the door runs it)."""

from __future__ import annotations

from ninja import Router

from kernel.api import route
from ${app} import mutations, queries

router = Router(tags=["${plural_words}"])
ONE = "/${url_prefix}/{int:${ref}}"

route(router, "GET /${url_prefix}", queries.${singular}_list)
route(router, "POST /${url_prefix}", mutations.${singular}_create, status=201, errors=(402,))
route(router, f"GET {ONE}", queries.${singular}_get)
route(router, f"PATCH {ONE}", mutations.${singular}_update, version_header="version")
route(router, f"DELETE {ONE}", mutations.${singular}_delete, status=204)
