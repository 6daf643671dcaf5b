from __future__ import annotations

from django.db.models import QuerySet

from kernel.actor import Actor, Person
from kernel.functions import query
from kernel.tenancy import get_for_actor
from tests.tenant_app.models import Note
from tests.tenant_app.schemas import NoteFilters, NoteOut, NoteRef


@query(
    "notes.list",
    permission="notes.read",
    output=list[NoteOut],
    live=True,
    varies_by="permissions",
)
def note_list(*, actor: Actor, args: NoteFilters) -> QuerySet[Note]:
    notes = Note.objects.for_actor(actor).order_by("id")
    return notes.filter(title__contains=args.contains) if args.contains else notes


@query("notes.get", permission="notes.read", output=NoteOut)
def note_get(*, actor: Actor, args: NoteRef) -> Note:
    return get_for_actor(Note, args.note_id, actor)


@query("notes.mine", permission="notes.read", output=list[NoteOut], live=True)
def my_notes(*, actor: Actor) -> QuerySet[Note]:
    """Varies by actor: the notes the actor wrote."""
    return Note.objects.for_actor(actor).filter(created_by_id=actor.user_id).order_by("id")


@query("notes.whoami", personal=True, output=int)
def whoami(*, actor: Person) -> int:
    return actor.user_id


@query("notes.count_everywhere", internal=True, output=int)
def count_everywhere(*, actor: object) -> int:
    return Note.objects.unscoped().count()
