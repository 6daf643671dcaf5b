from __future__ import annotations

from kernel.actor import Actor
from kernel.functions import mutation
from kernel.limits import require_within_limit
from kernel.tenancy import get_for_actor
from kernel.versions import require_version, save_version
from tests.tenant_app.models import Note
from tests.tenant_app.schemas import NoteCreate, NoteOut, NoteRef, NoteUpdate

TEST_DOMAIN = "the kernel's test domain: its tests count rows and queries without audit rows"


@mutation(
    "notes.create", unaudited=TEST_DOMAIN, permission="notes.write", output=NoteOut, counts="notes"
)
def note_create(*, actor: Actor, args: NoteCreate) -> Note:
    require_within_limit(actor, "notes", used=Note.objects.for_actor(actor).count())
    return Note.objects.create(
        organization_id=actor.organization_id, title=args.title, created_by_id=actor.user_id
    )


@mutation("notes.update", unaudited=TEST_DOMAIN, permission="notes.write", output=NoteOut)
def note_update(*, actor: Actor, args: NoteUpdate) -> Note:
    note = get_for_actor(Note, args.note_id, actor)
    require_version(note, args.version)
    note.title = args.title
    save_version(note)
    return note


@mutation("notes.delete", unaudited=TEST_DOMAIN, permission="notes.delete")
def note_delete(*, actor: Actor, args: NoteRef) -> None:
    get_for_actor(Note, args.note_id, actor).delete()


@mutation(
    "notes.purge",
    unaudited=TEST_DOMAIN,
    permission="notes.purge",
    step_up="notes.purge",
    output=int,
)
def note_purge(*, actor: Actor) -> int:
    deleted, _ = Note.objects.for_actor(actor).delete()
    return deleted


@mutation("notes.fail_after_write", unaudited=TEST_DOMAIN, permission="notes.write")
def fail_after_write(*, actor: Actor, args: NoteCreate) -> None:
    """Writes, then fails: nothing of it may stay (nor an idempotency record)."""
    Note.objects.create(organization_id=actor.organization_id, title=args.title)
    raise RuntimeError("failed after the write")


@mutation("notes.reset", unaudited=TEST_DOMAIN, internal=True, output=int)
def note_reset(*, actor: object) -> int:
    deleted, _ = Note.objects.unscoped().delete()
    return deleted
