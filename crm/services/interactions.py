"""Party interactions (TMF683): the contacts with a customer (calls, emails, visits, chats,
notifications) and the notes on them."""

from collections.abc import Iterable

from django.db import transaction

from crm.choices import (
    INTERACTION_RELATED_ENTITY_TYPES,
    InteractionChannel,
    InteractionDirection,
    InteractionStatus,
)
from crm.models import Customer, PartyInteraction
from telco import clock
from telco.exceptions import DomainError


def check_related_entities(entities: list[dict], types: tuple[str, ...], subject: str) -> None:
    """Each TMF related entity has an id and one of `types` as its `@referredType`."""
    for index, entity in enumerate(entities):
        if not str(entity.get("id", "")).strip():
            raise DomainError("A related entity needs an id.", field=f"relatedEntity[{index}].id")
        if entity.get("@referredType") not in types:
            raise DomainError(
                f"{subject} relates to one of {', '.join(types)}.",
                field=f"relatedEntity[{index}].@referredType",
            )


def new_notes(existing: list[dict], notes: list[dict], *, by: str, now) -> list[dict]:
    """Notes to append, stamped now; a note already on the ticket (same author, date and text,
    as a client echoing the whole array sends it) is not added twice."""
    seen = {(n.get("author"), n.get("date"), n.get("text")) for n in existing}
    added = []
    for note in notes:
        text = str(note.get("text", "")).strip()
        if not text:
            raise DomainError("A note needs a text.", field="note.text")
        if (note.get("author"), note.get("date"), note.get("text")) in seen:
            continue
        added.append({"author": note.get("author") or by, "date": now.isoformat(), "text": text})
    return added


@transaction.atomic
def party_interaction_create(
    *,
    customer: Customer,
    channel: str,
    direction: str,
    reason: str,
    description: str = "",
    subject: str = "",
    interaction_date=None,
    end_date=None,
    related_entities: Iterable[dict] = (),
    notes: list[dict] | None = None,
    status: str = InteractionStatus.COMPLETED,
    recipient: str = "",
    error: str = "",
    by: str = "",
) -> PartyInteraction:
    """Record a contact with the customer (a call, email, visit, chat or notification)."""
    now = clock.now()
    interaction = PartyInteraction(
        customer=customer,
        channel=channel,
        direction=direction,
        reason=reason.strip(),
        subject=subject.strip()[:200],
        description=description.strip(),
        interaction_date=interaction_date or now,
        end_date=end_date,
        related_entities=[dict(entity) for entity in related_entities],
        status=status,
        recipient=recipient,
        error=error,
        created_by=by,
        created_at=now,
    )
    if interaction.channel not in InteractionChannel.values:
        raise DomainError(
            f"The channel is one of {', '.join(InteractionChannel.values)}.", field="channel"
        )
    if interaction.direction not in InteractionDirection.values:
        raise DomainError("The direction is inbound or outbound.", field="direction")
    if not interaction.reason:
        raise DomainError("An interaction needs a reason.", field="reason")
    if len(interaction.reason) > 160:
        raise DomainError("The reason is at most 160 characters.", field="reason")
    if interaction.status not in InteractionStatus.values:
        raise DomainError(f"'{interaction.status}' is not an interaction status.", field="status")
    if interaction.end_date is not None and interaction.end_date < interaction.interaction_date:
        raise DomainError(
            "An interaction ends after it starts.", field="interactionDate.endDateTime"
        )
    check_related_entities(
        interaction.related_entities, INTERACTION_RELATED_ENTITY_TYPES, "An interaction"
    )
    interaction.notes = new_notes([], notes or [], by=by, now=now)
    interaction.save()
    return interaction


@transaction.atomic
def party_interaction_add_notes(
    *, interaction: PartyInteraction, notes: list[dict], by: str = ""
) -> PartyInteraction:
    """Append notes to an interaction (what was said is never rewritten)."""
    interaction = PartyInteraction.objects.select_for_update().get(pk=interaction.pk)
    added = new_notes(interaction.notes, notes, by=by, now=clock.now())
    if added:
        interaction.notes = [*interaction.notes, *added]
        interaction.save(update_fields=["notes"])
    return interaction
