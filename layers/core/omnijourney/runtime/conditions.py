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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from omnijourney.channels.targets import address_for
from omnijourney.events import CanonicalEvent, ConsentChannel, ConsentStatus, EventType, OrderState
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
from omnijourney.profiles.lifecycle import lifecycle
from omnijourney.profiles.model import Profile
from omnijourney.runtime.consistency import ConsistencyRules, consistency
from omnijourney.vocabulary import Category, Reason

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

    def first_day(self, days: int) -> date:
        """The first local day of a window of `days` calendar days ending today."""
        return self.today - timedelta(days=days - 1)


def window_start(now: datetime, zone: ZoneInfo, days: int) -> datetime:
    """The first instant of a window of `days` calendar days in `zone` ending today: local midnight days-1 ago."""
    return datetime.combine(Facts(now, zone).first_day(days), time(), tzinfo=zone)


def as_of(profile: Profile, now: datetime) -> Profile:
    """The profile with its lifecycle stage as of `now`: `at_risk` and `lapsed` come with time alone, while the stored
    stage changes only on events."""
    stage = lifecycle().stage_of(profile, now)
    return profile if stage == profile.lifecycle_stage else profile.model_copy(update={"lifecycle_stage": stage})


def segment_holds(condition: SegmentCondition, profile: Profile, facts: Facts) -> bool:
    """Whether the customer is in a segment defined by `condition`, as of `facts.now`."""
    return holds(condition, as_of(profile, facts.now), None) and _behaviour_and_dates_hold(condition, profile, facts)


def _behaviour_and_dates_hold(condition: SegmentCondition, profile: Profile, facts: Facts) -> bool:
    if condition.did is not None and _times_done(condition.did, facts) < condition.did.at_least:
        return False
    if condition.did_not is not None and _times_done(condition.did_not, facts) > 0:
        return False
    if condition.days_since is not None and not _days_since_hold(condition.days_since, profile, facts):
        return False
    return condition.date is None or _date_holds(condition.date, profile, facts)


def _counted(test: Did | DidNot, facts: Facts) -> list[Happened]:
    """The history entries `test` counts, within its window."""
    first = facts.first_day(test.within_days)
    match = EventMatch(event=test.event, name=test.name, where=test.where)
    return [each for each in facts.history if facts.day_of(each.at) >= first and matches(match, each)]


def _times_done(test: Did | DidNot, facts: Facts) -> int:
    return len(_counted(test, facts))


def _order_days(profile: Profile, facts: Facts) -> tuple[date | None, date | None]:
    """The local days of the first and the last kept order."""
    days = [facts.day_of(order.at) for order in profile.kept_orders]
    return min(days, default=None), max(days, default=None)


def _days_since(test: DaysSince, profile: Profile, facts: Facts) -> Iterator[tuple[Comparison, date | None]]:
    """Each comparison the test gives, with the local day it counts from (None: the customer has none)."""
    first, last = _order_days(profile, facts)
    message = facts.day_of(facts.last_message_at) if facts.last_message_at else None
    for comparison, day in ((test.last_order, last), (test.first_order, first), (test.last_message, message)):
        if comparison is not None:
            yield comparison, day


def _days_since_hold(test: DaysSince, profile: Profile, facts: Facts) -> bool:
    return all(
        day is not None and compares((facts.today - day).days, comparison)
        for comparison, day in _days_since(test, profile, facts)
    )


def _coming(test: DateTest, profile: Profile, facts: Facts) -> date | None:
    """The date a date test looks for, as it comes next (today or later), or None: no such date."""
    if test.trait is not None:
        year, month, day = _date_trait(profile.traits.get(test.trait), facts.zone)
    else:
        first, _ = _order_days(profile, facts)
        year, month, day = (first.year, first.month, first.day) if first else (None, 0, 0)
    if not month:
        return None
    today = facts.today
    if test.every_year or test.anniversary_of is not None:
        coming = _day_in_year(today.year, month, day)
        if coming < today:
            coming = _day_in_year(today.year + 1, month, day)
        # An anniversary comes after the date itself: the first order's own day is no anniversary.
        if year is not None and coming.year <= year:
            return _day_in_year(year + 1, month, day) if test.anniversary_of is not None else None
        return coming
    return date(year, month, day) if year is not None else None  # a one-off date needs its year


def _date_holds(test: DateTest, profile: Profile, facts: Facts) -> bool:
    """`is: today` or `within_next_days: N` for the date (each year's day of it, unless `every_year: false`)."""
    coming = _coming(test, profile, facts)
    if coming is None:
        return False
    ahead = (coming - facts.today).days
    return ahead == 0 if test.is_ == "today" else 0 <= ahead <= (test.within_next_days or 0)


def _date_trait(value: Any, zone: ZoneInfo) -> tuple[int | None, int, int]:
    """(year or None, month, day) of a date trait; month 0 when the value is no date. A timestamp
    ("1988-03-14T23:00:00.000Z", as some forms send a birthday picked at local midnight) is read on the customer's
    local day."""
    if isinstance(value, str) and "T" in value:
        with suppress(ValueError):
            local = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if local.tzinfo is not None:
                value = local.astimezone(zone).date().isoformat()
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


def next_change(condition: SegmentCondition, profile: Profile, facts: Facts) -> date | None:
    """The first local day after today on which time alone may move the customer into or out of this segment (None:
    it never will, until an event changes what it reads). Early is safe (an evaluation that finds nothing to do),
    late is not: each part gives every day its answer may turn on."""
    days: list[date] = []
    for test in condition.counted:
        # The day each counted entry leaves the window.
        days += [facts.day_of(each.at) + timedelta(days=test.within_days) for each in _counted(test, facts)]
    if condition.days_since is not None:
        for comparison, day in _days_since(condition.days_since, profile, facts):
            days += [day + timedelta(days=n) for n in _turning_points(comparison)] if day else []
    if condition.date is not None:
        coming = _coming(condition.date, profile, facts)
        if coming is not None:
            days += [coming - timedelta(days=condition.date.within_next_days or 0), coming + timedelta(days=1)]
    if condition.lifecycle_stage is not None and profile.last_order_at is not None:
        last = facts.day_of(profile.last_order_at)
        thresholds = [stage.when.days_since_last_order_at_least for stage in lifecycle().stages]
        # `days since` counts whole 24-hour days from the order's time: the stage turns on that day or the next.
        days += [last + timedelta(days=n + extra) for n in thresholds if n is not None for extra in (0, 1)]
    return min((day for day in days if day > facts.today), default=None)


def _turning_points(comparison: Comparison) -> list[int]:
    """The counts of days at which a comparison of a growing count may change its answer."""
    points = [value for value in (comparison.at_least, comparison.at_most) if isinstance(value, int | float)]
    exact = [comparison.equals] if "equals" in comparison.model_fields_set else []
    exact += list(comparison.one_of or [])
    points += [value for value in exact if isinstance(value, int | float) and not isinstance(value, bool)]
    return sorted({int(value) + extra for value in points for extra in (0, 1)})


@dataclass(frozen=True)
class Membership:
    """The segments a customer is in, each with what put them in, and the next local day time alone may move them."""

    members: dict[str, str]
    next_change: date | None


def segments_now(
    config: SegmentsConfig,
    profile: Profile,
    facts: Facts,
    names: Collection[str],
    cause: str,
    *,
    read: Callable[[], Facts] | None = None,
) -> Membership:
    """The profile's segments with `names` computed again (each after those it refers to): a segment the customer
    is now in and was not is marked with `cause` (the event id, or the evaluation of their local day, that put them
    in), one they stay in keeps its mark, one they left is dropped, as is one config/segments.yaml no longer defines.
    With `read`, `facts` holds only the time and zone, and `read` gives the history and last message: it is called
    only for a segment whose profile conditions hold and that counts events or asks for days since a message."""
    members = {name: mark for name, mark in profile.segments.items() if name in config.segments}
    staged = as_of(profile, facts.now)
    changes: list[date] = []
    for name in config.order:
        if name not in names:
            continue
        condition = config.segments[name].when
        current = profile.model_copy(update={"segments": members})
        inside = holds(condition, staged.model_copy(update={"segments": members}), None)
        if inside:
            reads_more = condition.counted or (condition.days_since and condition.days_since.last_message)
            known = read() if read is not None and reads_more else facts
            inside = _behaviour_and_dates_hold(condition, current, known)
            changes += [day for day in [next_change(condition, current, known)] if day is not None]
        elif condition.lifecycle_stage is not None:
            changes += [day for day in [next_change(condition, current, facts)] if day is not None]
        if not inside:
            members.pop(name, None)
        elif name not in members:
            members[name] = cause
    return Membership(members, min(changes, default=None))
