"""Journey conditions (audience, branch cases, goals) evaluated against the live profile and the entry.

The entry is what the journey knew when the customer entered: the starting event's fields, kept in
the execution's input so every later step can read them.
"""

from __future__ import annotations

from typing import Any

from omnijourney.events import CanonicalEvent, ConsentChannel, ConsentStatus, EventType, OrderState
from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.language import Comparison, Condition, EventMatch
from omnijourney.profiles.model import Profile

PUSH_ENDPOINT_TRAIT = "push_endpoint_arn"


def entry_of(event: CanonicalEvent, profile: Profile) -> dict[str, Any]:
    """What a journey keeps of the event that started it (JSON, it travels in the execution input)."""
    cart_items = event.cart.items if event.cart else (profile.cart.items if profile.cart else ())
    order = event.order
    return {
        "event_id": event.event_id,
        "type": event.type.value,
        "name": event.name,
        "channel": event.channel.value,
        "source": event.source,
        "at": event.occurred_at.isoformat(),
        "cart_skus": [item.sku for item in cart_items],
        "cart_items": sum(item.quantity for item in cart_items),
        "cart_value": float(sum((item.price or 0) * item.quantity for item in cart_items)),
        "order_skus": order.skus if order else [],
        "order_total": float(order.total) if order else None,
        "order_state": order.state.value if order else None,
        "currency": order.currency if order else None,
        "checkout_url": event.properties.get("checkout_url") or event.properties.get("abandoned_checkout_url"),
        "ticket_subject": event.ticket.subject if event.ticket else None,
        "properties": event.properties,
    }


def event_field(entry: dict[str, Any], name: str) -> Any:
    if name.startswith("properties."):
        return entry.get("properties", {}).get(name.removeprefix("properties."))
    return entry.get(name)


def compares(value: Any, comparison: Comparison) -> bool:
    """Every test the comparison gives holds for `value` (a missing value fails all but `equals: null`)."""
    if "equals" in comparison.model_fields_set and value != comparison.equals:
        return False
    if comparison.one_of is not None and value not in comparison.one_of:
        return False
    if comparison.contains is not None and (value is None or comparison.contains not in value):
        return False
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if comparison.at_least is not None and (number is None or number < comparison.at_least):
        return False
    return comparison.at_most is None or (number is not None and number <= comparison.at_most)


def matches_where(fields: dict[str, Any], where: dict[str, Comparison] | None) -> bool:
    return all(compares(event_field(fields, name), comparison) for name, comparison in (where or {}).items())


def seen_as(event: CanonicalEvent) -> EventType | None:
    """The event's type as journeys see it: an order that is not placed (a test, voided or cancelled one) completes
    no order, so it starts, converts and resumes nothing."""
    unplaced = event.order is not None and event.order.state is not OrderState.placed
    return None if event.type is EventType.order_completed and unplaced else event.type


def event_matches(match: EventMatch, event: CanonicalEvent, profile: Profile) -> bool:
    if seen_as(event) != match.event or (match.name is not None and event.name != match.name):
        return False
    return matches_where(entry_of(event, profile), match.where)


def address_for(profile: Profile, channel: str) -> str | None:
    """Where a message on `channel` goes: the newest address the profile has for it."""
    kinds = {"email": IdentifierKind.email, "sms": IdentifierKind.phone}
    if channel in kinds:
        values = profile.identifiers.get(kinds[channel], ())
        return values[-1] if values else None
    if channel == "push":
        endpoint = profile.traits.get(PUSH_ENDPOINT_TRAIT)
        return str(endpoint) if endpoint else None
    return profile.customer_id  # in-store and call-center notes go onto the profile itself


def reachable(profile: Profile, channel: ConsentChannel) -> bool:
    return address_for(profile, channel.value) is not None and (
        profile.consent_status(channel) != ConsentStatus.unsubscribed
    )


def holds(condition: Condition, profile: Profile, entry: dict[str, Any]) -> bool:
    if condition.lifecycle_stage is not None and profile.lifecycle_stage not in condition.lifecycle_stage:
        return False
    for channel, status in (condition.consent or {}).items():
        if profile.consent_status(channel) != status:
            return False
    if any(not reachable(profile, ConsentChannel(channel)) for channel in condition.reachable_by or []):
        return False
    if condition.orders is not None and not compares(len(profile.kept_orders), condition.orders):
        return False
    if condition.open_ticket is not None and bool(profile.open_tickets) != condition.open_ticket:
        return False
    if condition.tags is not None and not set(condition.tags) <= set(profile.tags):
        return False
    if any(not compares(profile.traits.get(name), test) for name, test in (condition.traits or {}).items()):
        return False
    return matches_where(entry, condition.event)
