"""The consistency guards: may this message go out now, to this customer, as the profile stands?

One pure function over the live profile, the ledger and the shared rules (config/consistency.yaml),
so every journey and channel is held by the same rules, and the rules are testable without AWS.
The first guard that holds a message names the reason written to the ledger.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from omnijourney.channels.targets import Reach, reach
from omnijourney.journeys.contract import Entry
from omnijourney.journeys.language import Goal, Policy, QuietHours, Send
from omnijourney.profiles.model import Profile
from omnijourney.runtime.conditions import Happened, consent_refusal, goal_event, holds, matches
from omnijourney.runtime.consistency import ConsistencyRules, ProductCatalog
from omnijourney.vocabulary import Category, ComposedReason, Reason, exited_on

Status = Literal["send", "suppressed", "deferred", "goal", "exited"]


@dataclass(frozen=True)
class Sent:
    """A ledger entry the guards weigh: a message that went out."""

    at: datetime
    journey: str
    priority: int
    category: str


@dataclass(frozen=True)
class Decision:
    status: Status
    reason: Reason | ComposedReason | None = None
    recipient: str | None = None
    products: tuple[str, ...] = ()
    defer_seconds: int = 0
    converted_on: str | None = None


def promoted_products(send: Send, profile: Profile, catalog: ProductCatalog) -> tuple[str, ...]:
    """The SKUs a message names, as the profile stands now."""
    if send.promotes == "cart":
        return tuple(item.sku for item in profile.cart.items) if profile.cart else ()
    if send.promotes == "last_order":
        return profile.kept_orders[-1].skus if profile.kept_orders else ()
    if send.promotes == "cross_sell":
        last = list(profile.kept_orders[-1].skus) if profile.kept_orders else []
        return tuple(catalog.cross_sell(last, profile.ordered_skus()))
    if send.promotes == "none":
        return ()
    return tuple(send.promotes)


def goal_reached(goal: Goal, profile: Profile, entry: Entry, since: Sequence[Happened]) -> str | None:
    """Where the goal was reached (the converting event's channel, or `profile` for a condition), or None."""
    if goal.when is not None and holds(goal.when, profile, entry):
        return "profile"
    return goal_event(goal, entry, since)


def local_time(profile: Profile, rules: ConsistencyRules) -> ZoneInfo:
    """The customer's timezone (profiles keep only zones that load), else the shop's."""
    return ZoneInfo(profile.timezone) if profile.timezone else rules.quiet_hours.zone


def seconds_until_daytime(now: datetime, zone: ZoneInfo, start: str, end: str) -> int:
    """0 outside the night from `start` to `end` (local), else the seconds until `end`."""
    local = now.astimezone(zone)
    begins, ends = time.fromisoformat(start), time.fromisoformat(end)
    clock = local.time()
    at_night = (begins <= clock or clock < ends) if begins > ends else (begins <= clock < ends)
    if not at_night:
        return 0
    morning = datetime.combine(local.date(), ends, tzinfo=zone)
    if morning <= local:
        morning = datetime.combine(local.date() + timedelta(days=1), ends, tzinfo=zone)
    return _seconds_between(now, morning)


def seconds_until(now: datetime, zone: ZoneInfo, at: str, days: int, *, same_day: bool = False) -> int:
    """Seconds from now to `at` local time, `days` days later (today's `at` if still ahead and days is 0; with
    `same_day`, a moment once today's `at` has passed)."""
    local = now.astimezone(zone)
    target = datetime.combine(local.date() + timedelta(days=days), time.fromisoformat(at), tzinfo=zone)
    if target <= local:
        if same_day:
            return 1  # Step Functions waits at least a second
        target = datetime.combine(target.date() + timedelta(days=1), time.fromisoformat(at), tzinfo=zone)
    return _seconds_between(now, target)


def _seconds_between(now: datetime, later: datetime) -> int:
    # In UTC: Python subtracts two times of one zone by their wall clocks, which is wrong across DST. Rounded up: a
    # deferral computed at a fractional second must not end just before the time it waits for.
    return max(1, math.ceil((later.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))


def decide(
    *,
    journey: Policy,
    send: Send,
    profile: Profile | None,
    entry: Entry,
    since_entry: Sequence[Happened],
    sent: Sequence[Sent],
    rules: ConsistencyRules,
    catalog: ProductCatalog,
    now: datetime,
    held_since: datetime | None = None,
) -> Decision:
    """`held_since`: when this step was first deferred for an open ticket, if it was."""
    if profile is None:
        return Decision("exited", Reason.customer_erased)
    converted_on = goal_reached(journey.goal, profile, entry, since_entry) if journey.goal else None
    if converted_on is not None:
        return Decision("goal", Reason.goal_reached, converted_on=converted_on)
    for match in journey.exit_events:
        if any(matches(match, happened) for happened in since_entry):
            return Decision("exited", exited_on(match.event))
    if any(holds(condition, profile, entry) for condition in journey.exit_conditions):
        return Decision("exited", Reason.exit_condition)
    # Every channel as its reach says: a message or a note as itself, a webhook or a sales task as its target's
    # consent channel, an internal target's by the business guards alone.
    reached = reach(send.channel, send.target, profile)
    recipient = reached.recipient
    products = promoted_products(send, profile, catalog)
    held = _held(send, profile, products, reached, rules)
    if held:
        return Decision("suppressed", held, recipient, products)
    if send.category in rules.open_ticket.holds and profile.open_tickets:
        held_for = now - (held_since or now)
        if held_for >= timedelta(days=rules.open_ticket.give_up_after_days):
            return Decision("suppressed", Reason.open_ticket, recipient, products)
        return Decision("deferred", Reason.open_ticket, recipient, products, rules.open_ticket.recheck_hours * 3600)
    window = journey.settings.quiet_hours
    own = window if isinstance(window, QuietHours) else None
    quiet_channels = own.channels if own is not None and own.channels is not None else rules.quiet_hours.channels
    if window is not False and send.category in rules.quiet_hours.categories and reached.held_as in quiet_channels:
        hours = own or rules.quiet_hours
        wait = seconds_until_daytime(now, local_time(profile, rules), hours.start, hours.end)
        if wait:
            return Decision("deferred", Reason.quiet_hours, recipient, products, wait)
    # An internal target (a CRM, a warehouse) is neither held by the caps nor counted in them.
    if send.category == Category.marketing and reached.reaches_customer:
        limited = _over_cap(journey, sent, rules, now)
        if limited:
            return Decision("suppressed", limited, recipient, products)
    return Decision("send", None, recipient, products)


def _held(
    send: Send, profile: Profile, products: tuple[str, ...], reached: Reach, rules: ConsistencyRules
) -> Reason | None:
    if reached.recipient is None:
        return Reason.no_address
    refused = consent_refusal(profile, reached.consent, send.category, rules) if reached.consent is not None else None
    if refused is not None:
        return refused
    if _names_a_bought_product(send, products, profile, rules):
        return Reason.already_purchased
    if send.category in rules.already_purchased_holds and send.promotes == "cart" and not products:
        return Reason.empty_cart
    return None


def offer_held(
    send: Send, offer_skus: Sequence[str], profile: Profile, rules: ConsistencyRules
) -> Literal[Reason.already_purchased] | None:
    """Why a message may not present an offer on `offer_skus`: an offer promotes its products as much as the
    message does, so it may not name a product the customer has ordered either."""
    return Reason.already_purchased if _names_a_bought_product(send, offer_skus, profile, rules) else None


def _names_a_bought_product(send: Send, skus: Sequence[str], profile: Profile, rules: ConsistencyRules) -> bool:
    return send.category in rules.already_purchased_holds and bool(set(skus) & profile.ordered_skus())


def _over_cap(journey: Policy, sent: Sequence[Sent], rules: ConsistencyRules, now: datetime) -> Reason | None:
    marketing = [entry for entry in sent if entry.category == Category.marketing]
    caps = [(rules.frequency_cap.messages, rules.frequency_cap.days, marketing)]
    if journey.settings.frequency_cap is not None:
        own = [entry for entry in marketing if entry.journey == journey.journey]
        caps.append((journey.settings.frequency_cap.messages, journey.settings.frequency_cap.days, own))
    for messages, days, counted in caps:
        if sum(1 for entry in counted if entry.at > now - timedelta(days=days)) >= messages:
            return Reason.frequency_cap
    window = timedelta(hours=rules.outranked_within_hours)
    if any(entry.priority > journey.priority and entry.at > now - window for entry in marketing):
        return Reason.outranked
    return None
