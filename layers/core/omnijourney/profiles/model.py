"""The profile and how each canonical event changes it: pure functions, no I/O.

A profile is a function of the *set* of its events, not of the order they arrive in or of how two
profiles holding them merge: each part keeps what it needs to join in any order, and apply_event and
merge_profiles use the same joins. Every event is stamped `(occurred_at, event_id)`; the later stamp
wins a disagreement.

- Cart: one line per SKU. A line's base is its latest set (a whole cart), remove or order (a removed
  line is kept as a tombstone, so an older add arriving later stays out); single adds after the base
  add their quantities, each counted once. A whole cart (`replace`) also replaces every line older
  than itself, so SKUs absent from it are gone. An order takes its SKUs out as of its time; an add
  after the order is a new wish and brings the SKU back. Two devices' carts merge as the union of
  their lines. Name and price come from the line's latest event. Bounds (deterministic, not
  order-exact): `MAX_CART_LINES` lines, the most recently touched kept; `MAX_CART_ADDS` adds per
  line, older ones folded into the base.
- Consent per channel: the latest consent time wins; a tie goes to `unsubscribed` (the safe
  answer), then to the source name.
- Identifiers: each remembers when it was first seen (the earliest event naming it, so seeing it again
  writes nothing) and is listed in that order, newest last (the address messages go to). Past a
  kind's cap (`MAX_IDENTIFIERS`) the profile keeps the smallest values: arbitrary, but the same in any
  order, as a cap by time cannot be; the identity index still resolves every identifier ever claimed
  (and erasure deletes them all through its `by-customer` index).
  Link-only kinds (`LINK_ONLY`: a Shopify order id, which links a refund) are claimed, never listed.
- Traits: per key, the value of the latest event that set it. Stored traits are capped at
  `MAX_TRAITS` keys and `TRAITS_BUDGET_BYTES` of JSON, a single trait at `TRAIT_BUDGET_BYTES`
  (refused); past the budget the oldest set traits go first (ties by key), so a profile cannot
  outgrow DynamoDB's 400 KB item through traits.
- Orders by order id: the first event's facts with the most final state (`test` > `voided` >
  `cancelled` > `placed`), whatever arrives first. Refunds are kept by refund id, counted once,
  and count for their order whenever it arrives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import to_json

from omnijourney.events import (
    CanonicalEvent,
    Channel,
    ConsentChannel,
    ConsentStatus,
    EventType,
    LineItem,
    OrderState,
)
from omnijourney.identifiers import LINK_ONLY, Identifier, IdentifierKind
from omnijourney.lifecycle import LifecycleConfig

# Anonymous ids pile up (one per browser and device); the most recent ones are enough to resolve.
MAX_IDENTIFIERS = {IdentifierKind.anonymous_id: 20}
MAX_IDENTIFIERS_DEFAULT = 10
RECENT_EVENTS = 25
MAX_CART_LINES = 50
MAX_CART_ADDS = 5
MAX_TRAITS = 100
TRAITS_BUDGET_BYTES = 16 * 1024
TRAIT_BUDGET_BYTES = 4 * 1024
# What is known from before times were kept (profiles stored by earlier versions) counts as oldest.
BEFORE_ANY_EVENT = datetime.min.replace(tzinfo=UTC)
UNTIMED = BEFORE_ANY_EVENT + timedelta(days=1)
# A final state beats `placed` whatever the arrival order; a test order never was one.
ORDER_STATE_RANK = {OrderState.placed: 0, OrderState.cancelled: 1, OrderState.voided: 2, OrderState.test: 3}
# Equal consent times: withdrawing wins, as sending to someone who said stop is the worse mistake.
CONSENT_STATUS_RANK = {ConsentStatus.unknown: 0, ConsentStatus.subscribed: 1, ConsentStatus.unsubscribed: 2}

Stamp = tuple[datetime, str]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CartTouch(Record):
    """One event's mark on a cart line: the item as it set or added it, or None where it removed it."""

    at: AwareDatetime
    event_id: str = ""
    item: LineItem | None = None
    # Where the event listed the item: a whole cart keeps its order.
    position: int = 0

    @property
    def stamp(self) -> tuple[datetime, str, int]:
        return (self.at, self.event_id, self.position)


class CartLine(Record):
    sku: str
    # The latest whole cart, remove or order that set the line (item None: removed, a tombstone).
    base: CartTouch | None = None
    # Single adds since the base, each counted once however the events arrive or merge.
    adds: tuple[CartTouch, ...] = ()

    @property
    def item(self) -> LineItem | None:
        touches = [touch for touch in (self.base, *self.adds) if touch is not None and touch.item is not None]
        if not touches:
            return None
        latest = max(touches, key=lambda touch: touch.stamp).item
        assert latest is not None
        quantity = sum(touch.item.quantity for touch in touches if touch.item is not None)
        return latest if latest.quantity == quantity else latest.model_copy(update={"quantity": quantity})

    @property
    def touched(self) -> tuple[datetime, str, int]:
        return max(touch.stamp for touch in (self.base, *self.adds) if touch is not None)

    @property
    def first_touched(self) -> tuple[datetime, str, int]:
        return min(touch.stamp for touch in (self.base, *self.adds) if touch is not None)


class Cart(Record):
    lines: tuple[CartLine, ...] = ()
    # The latest whole cart: every line older than it is replaced by what that cart held.
    replaced: CartTouch | None = None
    # The latest cart event (add, remove, whole cart): where and when the customer last changed the cart.
    channel: Channel | None = None
    updated_at: AwareDatetime | None = None
    updated_by: str = ""
    cart_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_stored_items(cls, data: Any) -> Any:
        """Profiles stored before lines were kept held `items` and `replaced_at`."""
        if not isinstance(data, dict) or "items" not in data:
            return data
        data = dict(data)
        at = data["updated_at"]
        data["lines"] = [
            {"sku": item["sku"], "base": {"at": at, "item": item, "position": position}}
            for position, item in enumerate(data.pop("items"))
        ]
        replaced_at = data.pop("replaced_at", None)
        if replaced_at is not None:
            data["replaced"] = {"at": replaced_at}
        return data

    @property
    def items(self) -> tuple[LineItem, ...]:
        return tuple(item for line in self.lines if (item := line.item) is not None)


class OrderSummary(Record):
    order_id: str
    channel: Channel
    at: AwareDatetime
    total: Decimal
    currency: str
    skus: tuple[str, ...]
    discount_codes: tuple[str, ...] = ()
    state: OrderState = OrderState.placed
    # The sum of the order's refunds (Profile.refunds), whichever arrived first.
    refunded: Decimal = Decimal(0)

    @property
    def revenue(self) -> Decimal:
        return order_revenue(self.state, self.total, self.refunded)

    @property
    def is_purchase(self) -> bool:
        """The customer chose these products: cancelled and refunded orders too, test and voided ones not."""
        return self.state.is_purchase

    @property
    def is_kept(self) -> bool:
        """An order that makes its customer a customer (lifecycle stages): placed and not refunded in full."""
        return self.state is OrderState.placed and (self.refunded < self.total or self.total == 0)


def order_revenue(state: OrderState, total: Decimal, refunded: Decimal) -> Decimal:
    """What an order earned: a placed order's total less its refunds; test, voided and cancelled ones nothing."""
    return max(total - refunded, Decimal(0)) if state is OrderState.placed else Decimal(0)


class RefundSummary(Record):
    refund_id: str
    order_id: str
    amount: Decimal
    currency: str
    at: AwareDatetime


class IssuedOffer(Record):
    """An offer issued to this customer: one code, shown the same on every channel until used or expired."""

    offer: str
    code: str
    discount: str
    skus: tuple[str, ...]
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    issued_by: str
    status: Literal["live", "redeemed"] = "live"
    redeemed_at: AwareDatetime | None = None
    order_id: str | None = None

    def status_at(self, at: datetime) -> str:
        return "expired" if self.status == "live" and self.expires_at <= at else self.status


class OpenTicket(Record):
    ticket_id: str
    subject: str | None
    opened_at: AwareDatetime


class Consent(Record):
    status: ConsentStatus
    updated_at: AwareDatetime
    source: str

    @property
    def precedence(self) -> tuple[datetime, int, str]:
        """The later consent wins; at equal times withdrawing wins, then the source name (one rule everywhere)."""
        return (self.updated_at, CONSENT_STATUS_RANK[self.status], self.source)


class Note(Record):
    """A next best action for store staff or call-center agents, left by a journey."""

    channel: str
    text: str
    journey: str
    at: AwareDatetime


class Profile(Record):
    customer_id: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    identifiers: dict[IdentifierKind, tuple[str, ...]] = Field(default_factory=dict)
    # When each identifier (by key) was first seen: the lists are in that order, whatever the arrival order.
    identifiers_seen: dict[str, AwareDatetime] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    # The event that set each trait, (occurred_at, event_id): the latest wins in any arrival order.
    traits_set: dict[str, tuple[AwareDatetime, str]] = Field(default_factory=dict)
    timezone: str | None = None
    consent: dict[ConsentChannel, Consent] = Field(default_factory=dict)
    cart: Cart | None = None
    orders: tuple[OrderSummary, ...] = ()
    refunds: tuple[RefundSummary, ...] = ()
    open_tickets: tuple[OpenTicket, ...] = ()
    lifecycle_stage: str = ""
    # The event that moved the profile into its stage: a retried event still knows it entered the stage.
    stage_entered_by: str | None = None
    merged_from: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    offers: tuple[IssuedOffer, ...] = ()
    # The last events that changed this profile: re-applying one (a retried batch) changes nothing.
    recent_events: tuple[str, ...] = ()

    @property
    def is_known(self) -> bool:
        return bool(self.identifiers.get(IdentifierKind.email) or self.identifiers.get(IdentifierKind.phone))

    @property
    def kept_orders(self) -> tuple[OrderSummary, ...]:
        """The orders lifecycle stages count: not test, voided, cancelled or refunded in full."""
        return tuple(order for order in self.orders if order.is_kept)

    @property
    def last_order_at(self) -> datetime | None:
        return max((order.at for order in self.kept_orders), default=None)

    @property
    def identifier_keys(self) -> list[str]:
        return [f"{kind.value}#{value}" for kind, values in self.identifiers.items() for value in values]

    def ordered_skus(self) -> set[str]:
        """What the customer bought (for "already bought"): test and voided orders are no purchases."""
        return {sku for order in self.orders if order.is_purchase for sku in order.skus}

    def consent_status(self, channel: ConsentChannel) -> ConsentStatus:
        consent = self.consent.get(channel)
        return consent.status if consent else ConsentStatus.unknown


def _known_timezone(name: str) -> bool:
    """Channels send what devices report; a zone Python cannot load would break every local-time rule later."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def new_profile(customer_id: str, at: datetime) -> Profile:
    return Profile(customer_id=customer_id, created_at=at, updated_at=at)


# Identifiers ---------------------------------------------------------------------------------------------

IdentifierTimes = dict[IdentifierKind, dict[str, datetime]]


def _identifier_times(profile: Profile) -> IdentifierTimes:
    # Identifiers stored without a time keep their stored order, before every timed one.
    return {
        kind: {
            value: profile.identifiers_seen.get(f"{kind.value}#{value}", BEFORE_ANY_EVENT + timedelta(microseconds=n))
            for n, value in enumerate(values)
        }
        for kind, values in profile.identifiers.items()
    }


def _seen(times: IdentifierTimes, kind: IdentifierKind, value: str, at: datetime) -> None:
    values = times.setdefault(kind, {})
    values[value] = min(values.get(value, at), at)


def _with_identifier_times(profile: Profile, times: IdentifierTimes) -> Profile:
    """Per kind up to the kind's cap (the smallest values), in the order they were first seen."""
    identifiers: dict[IdentifierKind, tuple[str, ...]] = {}
    seen: dict[str, datetime] = {}
    for kind in IdentifierKind:
        if not times.get(kind):
            continue
        limit = MAX_IDENTIFIERS.get(kind, MAX_IDENTIFIERS_DEFAULT)
        capped = sorted(times[kind].items())[:limit]
        kept = sorted(capped, key=lambda entry: (entry[1], entry[0]))
        identifiers[kind] = tuple(value for value, _ in kept)
        seen |= {f"{kind.value}#{value}": at for value, at in kept if at > UNTIMED}
    if identifiers == profile.identifiers and seen == profile.identifiers_seen:
        return profile
    return profile.model_copy(update={"identifiers": identifiers, "identifiers_seen": seen})


def with_identifiers(profile: Profile, identifiers: Iterable[Identifier], at: datetime) -> Profile:
    """The profile that also knows `identifiers`, seen at `at`."""
    times = _identifier_times(profile)
    for identifier in identifiers:
        if identifier.kind not in LINK_ONLY:
            _seen(times, identifier.kind, identifier.value, at)
    return _with_identifier_times(profile, times)


# Traits --------------------------------------------------------------------------------------------------

TraitState = dict[str, tuple[Stamp, Any]]


def _trait_state(profile: Profile) -> TraitState:
    return {key: (profile.traits_set.get(key, (BEFORE_ANY_EVENT, "")), value) for key, value in profile.traits.items()}


def _joined_traits(mine: TraitState, theirs: TraitState) -> TraitState:
    """Per key the value set last; `mine` keeps a tie (only traits stored before times were kept can tie)."""
    joined = dict(mine)
    for key, (stamp, value) in theirs.items():
        if key not in joined or stamp > joined[key][0]:
            joined[key] = (stamp, value)
    return joined


def _within_budget(state: TraitState) -> TraitState:
    sizes = {key: len(to_json({key: value}, fallback=str)) for key, (_, value) in state.items()}
    kept = {key: entry for key, entry in state.items() if sizes[key] <= TRAIT_BUDGET_BYTES}
    total = sum(sizes[key] for key in kept)
    for key in sorted(kept, key=lambda key: (kept[key][0], key)):
        if len(kept) <= MAX_TRAITS and total <= TRAITS_BUDGET_BYTES:
            break
        total -= sizes[key]
        del kept[key]
    return kept


def _with_trait_state(profile: Profile, state: TraitState) -> Profile:
    kept = _within_budget(state)
    traits = {key: kept[key][1] for key in sorted(kept)}
    traits_set = {key: kept[key][0] for key in sorted(kept) if kept[key][0][0] != BEFORE_ANY_EVENT}
    if traits == profile.traits and traits_set == profile.traits_set:
        return profile
    return profile.model_copy(update={"traits": traits, "traits_set": traits_set})


def with_traits(profile: Profile, traits: dict[str, Any], at: datetime, set_by: str) -> Profile:
    """The profile with `traits` as set at `at` by `set_by` (an event or journey step id), within the budget."""
    # Two events that set a trait at the same instant are told apart by a short digest of their ids: as
    # deterministic as the id itself, and a dozen characters per trait in the stored profile instead of ~60.
    stamp = (at, hashlib.sha256(set_by.encode()).hexdigest()[:12])
    return _with_trait_state(profile, _joined_traits(_trait_state(profile), {k: (stamp, v) for k, v in traits.items()}))


# Cart ----------------------------------------------------------------------------------------------------


def _cart_of(event: CanonicalEvent) -> Cart | None:
    """The event's own mark on a cart, joined into the profile's like any other cart."""
    at, event_id = event.occurred_at, event.event_id
    change = event.cart
    lines: list[CartLine] = []
    replaced = None
    if change is not None:
        for position, item in enumerate(change.items):
            if change.action == "add":
                lines.append(
                    CartLine(sku=item.sku, adds=(CartTouch(at=at, event_id=event_id, item=item, position=position),))
                )
            else:
                kept = item if change.action == "replace" else None
                lines.append(
                    CartLine(sku=item.sku, base=CartTouch(at=at, event_id=event_id, item=kept, position=position))
                )
        if change.action == "replace":
            replaced = CartTouch(at=at, event_id=event_id)
    order = event.order
    if order is not None and event.type is EventType.order_completed and order.state.is_purchase:
        # Whatever was bought, on any channel, leaves the cart as of the order; a later add brings it back.
        lines += [
            CartLine(sku=sku, base=CartTouch(at=at, event_id=event_id, position=position))
            for position, sku in enumerate(order.skus)
        ]
    if change is None and not lines:
        return None
    return Cart(
        lines=tuple(lines),
        replaced=replaced,
        channel=event.channel if change is not None else None,
        updated_at=at if change is not None else None,
        updated_by=event_id if change is not None else "",
        cart_id=change.cart_id if change is not None else None,
    )


def _settled_line(sku: str, marks: list[CartLine], replaced: CartTouch | None) -> CartLine | None:
    floor = replaced.stamp if replaced is not None else None
    bases = [line.base for line in marks if line.base is not None and (floor is None or line.base.stamp >= floor)]
    base = max(bases, key=lambda touch: touch.stamp, default=None)
    after = base.stamp if base is not None else floor
    adds = {touch.stamp: touch for line in marks for touch in line.adds if after is None or touch.stamp > after}
    ordered = sorted(adds.values(), key=lambda touch: touch.stamp)
    if base is None and not ordered:
        return None
    if len(ordered) > MAX_CART_ADDS:
        folded, ordered = ordered[:-MAX_CART_ADDS], ordered[-MAX_CART_ADDS:]
        last = folded[-1]
        assert last.item is not None
        quantity = sum(touch.item.quantity for touch in (base, *folded) if touch is not None and touch.item is not None)
        base = last.model_copy(update={"item": last.item.model_copy(update={"quantity": quantity})})
    return CartLine(sku=sku, base=base, adds=tuple(ordered))


def _joined_carts(mine: Cart | None, theirs: Cart | None) -> Cart | None:
    """The union of both carts' lines, each SKU settled by its latest marks."""
    carts = [cart for cart in (mine, theirs) if cart is not None]
    if not carts:
        return None
    replaced = max((cart.replaced for cart in carts if cart.replaced is not None), key=lambda t: t.stamp, default=None)
    latest = max(carts, key=lambda cart: (cart.updated_at or BEFORE_ANY_EVENT, cart.updated_by))
    marks: dict[str, list[CartLine]] = {}
    for cart in carts:
        for mark in cart.lines:
            marks.setdefault(mark.sku, []).append(mark)
    settled = [line for sku, group in marks.items() if (line := _settled_line(sku, group, replaced)) is not None]
    newest = sorted(settled, key=lambda line: (line.touched, line.sku), reverse=True)[:MAX_CART_LINES]
    return Cart(
        lines=tuple(sorted(newest, key=lambda line: (line.first_touched, line.sku))),
        replaced=replaced,
        channel=latest.channel,
        updated_at=latest.updated_at,
        updated_by=latest.updated_by,
        cart_id=latest.cart_id,
    )


# Orders and refunds --------------------------------------------------------------------------------------


def _order_of(event: CanonicalEvent) -> OrderSummary | None:
    order = event.order
    if order is None:
        return None
    cancelled = event.type is EventType.order_cancelled and order.state is OrderState.placed
    return OrderSummary(
        order_id=order.order_id,
        channel=event.channel,
        at=event.occurred_at,
        total=order.total,
        currency=order.currency,
        skus=tuple(order.skus),
        discount_codes=order.discount_codes,
        state=OrderState.cancelled if cancelled else order.state,
    )


def _refund_of(event: CanonicalEvent) -> RefundSummary | None:
    refund = event.refund
    if refund is None:
        return None
    return RefundSummary(
        refund_id=refund.refund_id,
        order_id=refund.order_id,
        amount=refund.amount,
        currency=refund.currency,
        at=event.occurred_at,
    )


def _same_order(one: OrderSummary, other: OrderSummary) -> OrderSummary:
    """One order told twice (placed, then cancelled): the first telling's facts, the most final state."""
    first = min(one, other, key=lambda order: (order.at, order.model_dump_json(exclude={"state", "refunded"})))
    state = max(one.state, other.state, key=ORDER_STATE_RANK.__getitem__)
    return first if first.state is state else first.model_copy(update={"state": state})


def _joined_refunds(refunds: Iterable[RefundSummary]) -> tuple[RefundSummary, ...]:
    """Each refund once, however often it was delivered."""
    by_id: dict[str, RefundSummary] = {}
    for refund in refunds:
        known = by_id.get(refund.refund_id)
        by_id[refund.refund_id] = (
            refund if known is None else min(known, refund, key=lambda r: (r.at, r.model_dump_json()))
        )
    return tuple(sorted(by_id.values(), key=lambda refund: (refund.at, refund.refund_id)))


def _joined_orders(orders: Iterable[OrderSummary], refunds: tuple[RefundSummary, ...]) -> tuple[OrderSummary, ...]:
    by_id: dict[str, OrderSummary] = {}
    for order in orders:
        known = by_id.get(order.order_id)
        by_id[order.order_id] = order if known is None else _same_order(known, order)
    refunded: dict[str, Decimal] = {}
    for refund in refunds:
        refunded[refund.order_id] = refunded.get(refund.order_id, Decimal(0)) + refund.amount
    settled = (
        order
        if order.refunded == refunded.get(order.order_id, 0)
        else order.model_copy(update={"refunded": refunded.get(order.order_id, Decimal(0))})
        for order in by_id.values()
    )
    return tuple(sorted(settled, key=lambda order: (order.at, order.order_id)))


def _redeemed(offers: tuple[IssuedOffer, ...], order: OrderSummary) -> tuple[IssuedOffer, ...]:
    """The code closes the offer on every channel, whichever one it was used on."""
    codes = {code.upper() for code in order.discount_codes}
    return tuple(
        offer.model_copy(update={"status": "redeemed", "redeemed_at": order.at, "order_id": order.order_id})
        if offer.code.upper() in codes and offer.status == "live"
        else offer
        for offer in offers
    )


# Events and merges ---------------------------------------------------------------------------------------


def apply_event(profile: Profile, event: CanonicalEvent, lifecycle: LifecycleConfig) -> Profile:
    """The profile after `event`: the same whatever order the profile's events arrive in."""
    if event.event_id in profile.recent_events:
        return profile
    original = profile
    at = event.occurred_at
    profile = with_identifiers(profile, event.identifiers, at)
    if event.traits:
        profile = with_traits(profile, event.traits, at, event.event_id)
    update: dict[str, Any] = {}
    if event.timezone and event.timezone != profile.timezone and _known_timezone(event.timezone):
        update["timezone"] = event.timezone
    for change in event.consent:
        given = Consent(status=change.status, updated_at=change.at or at, source=event.source)
        current = update.get("consent", profile.consent).get(change.channel)
        if current is None or given.precedence > current.precedence:
            update.setdefault("consent", dict(profile.consent))[change.channel] = given
    marked = _cart_of(event)
    if marked is not None:
        cart = _joined_carts(profile.cart, marked)
        if cart != profile.cart:
            update["cart"] = cart
    order, refund = _order_of(event), _refund_of(event)
    if order is not None or refund is not None:
        refunds = _joined_refunds((*profile.refunds, refund) if refund is not None else profile.refunds)
        orders = _joined_orders((*profile.orders, order) if order is not None else profile.orders, refunds)
        if (refunds, orders) != (profile.refunds, profile.orders):
            update |= {"refunds": refunds, "orders": orders}
        if order is not None and order.is_purchase and all(o.order_id != order.order_id for o in profile.orders):
            offers = _redeemed(profile.offers, order)
            if offers != profile.offers:
                update["offers"] = offers
    if event.ticket is not None:
        tickets = _changed_tickets(profile.open_tickets, event)
        if tickets != profile.open_tickets:
            update["open_tickets"] = tickets
    changed = profile.model_copy(update=update) if update else profile
    stage = lifecycle.stage_of(changed, at)
    if stage != changed.lifecycle_stage:
        changed = changed.model_copy(update={"lifecycle_stage": stage, "stage_entered_by": event.event_id})
    if changed != original:
        changed = changed.model_copy(
            update={
                "updated_at": max(original.updated_at, at),
                "recent_events": (*original.recent_events, event.event_id)[-RECENT_EVENTS:],
            }
        )
    return changed


def _changed_tickets(tickets: tuple[OpenTicket, ...], event: CanonicalEvent) -> tuple[OpenTicket, ...]:
    ticket = event.ticket
    assert ticket is not None
    others = tuple(open_ticket for open_ticket in tickets if open_ticket.ticket_id != ticket.ticket_id)
    if event.type is EventType.ticket_solved:
        return others
    existing = next((t for t in tickets if t.ticket_id == ticket.ticket_id), None)
    opened_at = existing.opened_at if existing else event.occurred_at
    return (*others, OpenTicket(ticket_id=ticket.ticket_id, subject=ticket.subject, opened_at=opened_at))


def merge_profiles(winner: Profile, loser: Profile) -> Profile:
    """One profile from two, joined exactly as their events would have been on one profile."""
    times = _identifier_times(winner)
    for kind, values in _identifier_times(loser).items():
        for value, at in values.items():
            _seen(times, kind, value, at)
    merged = _with_identifier_times(winner, times)
    merged = _with_trait_state(merged, _joined_traits(_trait_state(winner), _trait_state(loser)))
    consent = dict(winner.consent)
    for channel, theirs in loser.consent.items():
        if channel not in consent or theirs.precedence > consent[channel].precedence:
            consent[channel] = theirs
    refunds = _joined_refunds((*winner.refunds, *loser.refunds))
    tickets = {ticket.ticket_id: ticket for ticket in (*loser.open_tickets, *winner.open_tickets)}
    return merged.model_copy(
        update={
            "created_at": min(winner.created_at, loser.created_at),
            "updated_at": max(winner.updated_at, loser.updated_at),
            "timezone": winner.timezone or loser.timezone,
            "consent": consent,
            "cart": _joined_carts(winner.cart, loser.cart),
            "orders": _joined_orders((*winner.orders, *loser.orders), refunds),
            "refunds": refunds,
            "open_tickets": tuple(sorted(tickets.values(), key=lambda t: (t.opened_at, t.ticket_id))),
            "merged_from": tuple(dict.fromkeys((*winner.merged_from, loser.customer_id, *loser.merged_from))),
            "tags": tuple(dict.fromkeys((*winner.tags, *loser.tags))),
            "notes": tuple(sorted({*winner.notes, *loser.notes}, key=lambda note: (note.at, note.journey, note.text))),
            "offers": tuple({offer.code: offer for offer in (*loser.offers, *winner.offers)}.values()),
        }
    )
