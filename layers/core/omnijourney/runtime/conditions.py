"""Journey conditions (audience, branch cases, goals, exits) evaluated against the live profile and the entry, and
the shared segments' membership (journeys.segments) computed from the profile, its history and today's date.

The entry is what the journey knew when the customer entered (journeys.contract.Entry), kept in the
execution's input so every later step can read it. Goals, exits and awaited events are matched here, once, against
`Happened`: a live event, an order on the profile or an entry of the customer's history.

A journey's `segment` condition reads the membership kept on the profile; what the customer did and when (`did`,
`did_not`, `days_since`, `date`) is read only when membership is computed, with `Facts` (the history within the
longest window, the last message, today in the customer's timezone).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from omnijourney.events import CanonicalEvent, ConsentChannel, ConsentStatus, EventType, OrderState
from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.contract import Entry, EntryKeeps, entry_of
from omnijourney.journeys.language import (
    Comparison,
    Condition,
    DateTest,
    DaysSince,
    Did,
    DidNot,
    EventMatch,
    Goal,
    SegmentCondition,
)
from omnijourney.journeys.segments import SegmentsConfig
from omnijourney.profiles.model import Profile
from omnijourney.runtime.consistency import ConsistencyRules, consistency
from omnijourney.vocabulary import Category, Reason

PUSH_ENDPOINT_TRAIT = "push_endpoint_arn"
# A date trait: "1990-03-14" (a time after it is ignored) or "--03-14", a day of the year without one (ISO 8601).
DATE_TRAIT = re.compile(r"^(?:(\d{4})|-)-(\d{2})-(\d{2})")


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


def consent_refusal(
    profile: Profile, channel: ConsentChannel, category: Category, rules: ConsistencyRules
) -> Reason | None:
    """Why the consent rules of config/consistency.yaml refuse a message of `category` on `channel` now (an opt-out
    that holds the category; marketing where an opt-in is needed and not given), or None: one rule for the guards
    at every send and for `reachable_by`."""
    consent = profile.consent_status(channel)
    if consent == ConsentStatus.unsubscribed and category in rules.consent.opt_out_holds.get(channel, []):
        return Reason.opted_out
    needs_opt_in = channel in rules.consent.marketing_needs_opt_in
    if category == Category.marketing and needs_opt_in and consent != ConsentStatus.subscribed:
        return Reason.no_consent
    return None


def reachable(profile: Profile, channel: ConsentChannel, category: Category = Category.marketing) -> bool:
    """A message of `category` may go out on `channel` now: the profile has the address and the consent rules allow
    it (the same rule the guards apply at send time)."""
    return address_for(profile, channel.value) is not None and (
        consent_refusal(profile, channel, category, consistency()) is None
    )


def holds(condition: Condition, profile: Profile, entry: Entry | None) -> bool:
    """Whether the profile (and the entry, for `event`) meets every key of the condition; without an entry (a
    segment's membership) an `event` test fails."""
    if condition.lifecycle_stage is not None and profile.lifecycle_stage not in condition.lifecycle_stage:
        return False
    for channel, status in (condition.consent or {}).items():
        if profile.consent_status(channel) != status:
            return False
    category = condition.reachable_for or Category.marketing
    if any(not reachable(profile, ConsentChannel(channel), category) for channel in condition.reachable_by or []):
        return False
    if condition.orders is not None and not compares(len(profile.kept_orders), condition.orders):
        return False
    if condition.open_ticket is not None and bool(profile.open_tickets) != condition.open_ticket:
        return False
    if condition.tags is not None and not set(condition.tags) <= set(profile.tags):
        return False
    if any(not compares(profile.traits.get(name), test) for name, test in (condition.traits or {}).items()):
        return False
    if not in_segments(condition, profile.segments):
        return False
    return matches_where(entry if entry is not None else {}, condition.event)


def in_segments(condition: Condition, members: Collection[str]) -> bool:
    if condition.segment is not None and condition.segment not in members:
        return False
    tests = condition.segments
    if tests is None:
        return True
    return (not tests.any_of or any(name in members for name in tests.any_of)) and not any(
        name in members for name in tests.none_of
    )


# Segments ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a segment's behaviour and date conditions read beside the profile: today in the customer's timezone,
    what they did within the longest window (history entries and the event being recorded, once each), and when the
    last message went out to them."""

    now: datetime
    zone: ZoneInfo
    history: Sequence[Happened] = ()
    last_message_at: datetime | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def day_of(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


def window_start(now: datetime, zone: ZoneInfo, days: int) -> datetime:
    """The first instant of a window of `days` calendar days in `zone` ending today: local midnight days-1 ago."""
    first = now.astimezone(zone).date() - timedelta(days=days - 1)
    return datetime.combine(first, time(), tzinfo=zone)


def segment_holds(condition: SegmentCondition, profile: Profile, facts: Facts) -> bool:
    """Whether the customer is in a segment defined by `condition`, as of `facts.now`."""
    if not holds(condition, profile, None):
        return False
    if condition.did is not None and _times_done(condition.did, facts) < condition.did.at_least:
        return False
    if condition.did_not is not None and _times_done(condition.did_not, facts) > 0:
        return False
    if condition.days_since is not None and not _days_since_hold(condition.days_since, profile, facts):
        return False
    return condition.date is None or _date_holds(condition.date, profile, facts)


def _times_done(test: Did | DidNot, facts: Facts) -> int:
    first = facts.today - timedelta(days=test.within_days - 1)
    match = EventMatch(event=test.event, name=test.name, where=test.where)
    return sum(1 for each in facts.history if facts.day_of(each.at) >= first and matches(match, each))


def _days_since_hold(test: DaysSince, profile: Profile, facts: Facts) -> bool:
    orders = [order.at for order in profile.kept_orders]
    since = {
        "last_order": max(orders, default=None),
        "first_order": min(orders, default=None),
        "last_message": facts.last_message_at,
    }
    for key, at in since.items():
        comparison: Comparison | None = getattr(test, key)
        if comparison is None:
            continue
        if at is None or not compares((facts.today - facts.day_of(at)).days, comparison):
            return False
    return True


def _date_holds(test: DateTest, profile: Profile, facts: Facts) -> bool:
    """`is: today` or `within_next_days: N` for the date (each year's day of it, unless `every_year: false`)."""
    if test.trait is not None:
        year, month, day = _date_trait(profile.traits.get(test.trait))
    else:
        orders = [order.at for order in profile.kept_orders]
        first = facts.day_of(min(orders)) if orders else None
        year, month, day = (first.year, first.month, first.day) if first else (None, 0, 0)
    if not month:
        return False
    today = facts.today
    if test.every_year or test.anniversary_of is not None:
        coming = _day_in_year(today.year, month, day)
        if coming < today:
            coming = _day_in_year(today.year + 1, month, day)
        # An anniversary comes after the date itself: the first order's own day is no anniversary.
        if year is not None and coming.year <= year:
            return False
    elif year is None:
        return False  # a one-off date needs its year
    else:
        coming = date(year, month, day)
    ahead = (coming - today).days
    return ahead == 0 if test.is_ == "today" else 0 <= ahead <= (test.within_next_days or 0)


def _date_trait(value: Any) -> tuple[int | None, int, int]:
    """(year or None, month, day) of a date trait; month 0 when the value is no date."""
    found = DATE_TRAIT.match(value) if isinstance(value, str) else None
    if found is None:
        return None, 0, 0
    year, month, day = found.groups()
    try:
        date(int(year) if year else 2000, int(month), int(day))  # 2000 is a leap year: --02-29 is a day
    except ValueError:
        return None, 0, 0
    return (int(year) if year else None), int(month), int(day)


def _day_in_year(year: int, month: int, day: int) -> date:
    """That day in `year`; 29 February is the 28th in a year without one."""
    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def segments_now(
    config: SegmentsConfig, profile: Profile, facts: Facts, names: Collection[str], cause: str
) -> dict[str, str]:
    """The profile's segments with `names` computed again (each after those it refers to): a segment the customer
    is now in and was not is marked with `cause` (the event id, or the daily evaluation, that put them in), one
    they stay in keeps its mark, one they left is dropped."""
    members = dict(profile.segments)
    for name in config.order:
        if name not in names:
            continue
        inside = segment_holds(config.segments[name].when, profile.model_copy(update={"segments": members}), facts)
        if not inside:
            members.pop(name, None)
        elif name not in members:
            members[name] = cause
    return members
