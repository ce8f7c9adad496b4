"""Journey conditions (audience, branch cases, goals) evaluated against the live profile and the entry.

The entry is what the journey knew when the customer entered (journeys.contract.Entry), kept in the
execution's input so every later step can read it. Goals, exits and awaited events are matched here, once, against
`Happened`: a live event, an order on the profile or an entry of the customer's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from omnijourney.events import CanonicalEvent, ConsentChannel, ConsentStatus, EventType, OrderState
from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.contract import Entry, EntryKeeps, entry_of
from omnijourney.journeys.language import Comparison, Condition, EventMatch, Goal
from omnijourney.profiles.model import Profile

PUSH_ENDPOINT_TRAIT = "push_endpoint_arn"


@dataclass(frozen=True)
class Happened:
    """Something the customer did, in the one shape goals, exits and awaited events are matched against: a live
    event (`occurred`), an order on the profile or an entry of the history (the step function's `since_entry`).
    `fields` are what a `where` reads (language.EVENT_FIELDS, `order_skus`, `properties`); it stays in memory."""

    type: str
    name: str | None
    at: datetime
    fields: Mapping[str, JsonValue]


def occurred(event: CanonicalEvent, profile: Profile) -> Happened:
    """A live event as journeys see it (`seen_as`), with every field and property a `where` may test."""
    seen = seen_as(event)
    everything = EntryKeeps(properties=frozenset(event.properties))
    fields = entry_of(event, profile, everything).model_dump(mode="json")
    return Happened(seen.value if seen else "", event.name, event.occurred_at, fields)


def event_field(fields: Entry | Mapping[str, JsonValue], name: str) -> JsonValue:
    if isinstance(fields, Entry):
        return fields.field(name)
    if name.startswith("properties."):
        properties = fields.get("properties")
        return properties.get(name.removeprefix("properties.")) if isinstance(properties, dict) else None
    return fields.get(name)


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


def matches_where(fields: Entry | Mapping[str, JsonValue], where: dict[str, Comparison] | None) -> bool:
    return all(compares(event_field(fields, name), comparison) for name, comparison in (where or {}).items())


def seen_as(event: CanonicalEvent) -> EventType | None:
    """The event's type as journeys see it: an order that is not placed (a test, voided or cancelled one) completes
    no order, so it starts, converts and resumes nothing."""
    unplaced = event.order is not None and event.order.state is not OrderState.placed
    return None if event.type is EventType.order_completed and unplaced else event.type


def matches(match: EventMatch, happened: Happened) -> bool:
    """Whether `happened` is the event `match` names (an exit, an awaited event): one test for live events and
    for the customer's record since entering."""
    name_fits = match.name is None or match.name == happened.name
    return happened.type == match.event.value and name_fits and matches_where(happened.fields, match.where)


def goal_event(goal: Goal, entry: Entry, happened: Iterable[Happened]) -> str | None:
    """The channel of the first of `happened` that reaches the goal's event (with the entry's cart or order
    among its SKUs when the goal says `includes`), or None."""
    if goal.event is None:
        return None
    wanted = set(entry.cart_skus if goal.includes == "cart" else entry.order_skus) if goal.includes else set()
    for each in happened:
        if each.type != goal.event.value or not matches_where(each.fields, goal.where):
            continue
        skus = each.fields.get("order_skus")
        if wanted <= {str(sku) for sku in (skus if isinstance(skus, list) else [])}:
            return str(each.fields.get("channel") or "unknown")
    return None


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


def holds(condition: Condition, profile: Profile, entry: Entry) -> bool:
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
