"""Store staff or an agent did a next best action: a canonical event on the profile, through the events queue.

It goes the way every channel's event goes (queue → profile function), so the profile, its history, journeys waiting
for the event and the guards all see it; the profile then lists the action no more.
"""

from __future__ import annotations

from omnijourney.events import CanonicalEvent, Channel, EventType
from omnijourney.identifiers import Identifier, IdentifierKind
from omnijourney.platform import clock
from omnijourney.platform.errors import NotFound

SOURCE = "staff"
# Where the note was meant to be acted on is where the customer was met.
MET_ON = {"in_store": Channel.pos, "call_center": Channel.phone}
# The identifier the event names the customer by: whichever they have first in this order (each is in the identity
# index, which leads to them even after a merge).
NAMED_BY = (
    IdentifierKind.user_id,
    IdentifierKind.email,
    IdentifierKind.phone,
    IdentifierKind.loyalty_id,
    IdentifierKind.shopify_customer_id,
    IdentifierKind.zendesk_user_id,
    IdentifierKind.anonymous_id,
)


def mark_done(customer_id: str, action_id: str, *, staff: str | None = None) -> str:
    """Queue the event that marks the customer's open action `action_id` done, and answer its id; NotFound (and
    nothing queued) for an unknown customer or an action they do not have. The event's id is the action's, so marking
    it twice (two clicks, a retried request) records it once; an action already done queues nothing and answers the
    same id. `staff` is who did it, as the sign-in's opaque subject (never an email): the event's `staff` property."""
    # lazy: pynamodb and the queue's settings load on the first request, not at an API's cold start
    from omnijourney.edge.ingest import enqueue
    from omnijourney.profiles import service

    profile = service.get(customer_id).profile
    event_id = f"{SOURCE}:done:{profile.customer_id}:{action_id}"
    if action_id in profile.done_action_ids:
        return event_id
    note = next((note for note in profile.next_best_actions if note.action_id == action_id), None)
    if note is None:
        raise NotFound(f"customer {profile.customer_id} has no next best action {action_id}", field="action_id")
    kind = next(kind for kind in NAMED_BY if profile.identifiers.get(kind))
    now = clock.now()
    event = CanonicalEvent(
        event_id=event_id,
        source=SOURCE,
        type=EventType.next_best_action_done,
        name="Next Best Action Done",
        channel=MET_ON.get(note.channel, Channel.pos),
        occurred_at=now,
        received_at=now,
        identifiers=(Identifier(kind=kind, value=profile.identifiers[kind][0]),),
        properties={"action": action_id, "journey": note.journey} | ({"staff": staff} if staff else {}),
    )
    enqueue([event])
    return event_id
