"""The test domain's manifest: a permission per kind of call, a plan limit, a sensitive
action, a router."""

from kernel.exports import Export
from kernel.limits import Limit
from kernel.manifest import Domain
from kernel.notifications import NotificationKind
from kernel.permissions import EDITORS, EVERYONE, MANAGERS, OWNERS, Permission
from kernel.sensitive import SensitiveAction

domain = Domain(
    "tenant_app",
    permissions=[
        Permission("notes.read", "See test notes", EVERYONE),
        Permission("notes.write", "Write test notes", EDITORS),
        Permission("notes.delete", "Delete test notes", MANAGERS),
        Permission("notes.purge", "Purge every test note", OWNERS),
    ],
    sensitive_actions=[
        SensitiveAction("notes.purge", 3, "purge every note", organization_scoped=True),
    ],
    limits=[Limit("notes", "notes", free=3, raised_by={"feature.pro": 10})],
    api="tests.tenant_app.api",
    exports=Export(excluded={"tenant_app.Note": "a test table"}),
    notifications=[
        NotificationKind("notes.shared", category="organization", text="{name} shared a note."),
        NotificationKind("notes.exported", category="data", text="Your notes export is ready."),
        NotificationKind(
            "notes.billed", category="billing", text="Notes for {organization} billed."
        ),
        NotificationKind("notes.watched", category="security", text="Someone read your notes."),
    ],
)
