"""The profile and how each canonical event changes it: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from omnijourney.events import (
    CanonicalEvent,
    Channel,
    ConsentChannel,
    ConsentStatus,
    EventType,
    LineItem,
)
from omnijourney.identifiers import Identifier, IdentifierKind
from omnijourney.lifecycle import LifecycleConfig

# Anonymous ids pile up (one per browser and device); the most recent ones are enough to resolve.
MAX_IDENTIFIERS = {IdentifierKind.anonymous_id: 20}
MAX_IDENTIFIERS_DEFAULT = 10
RECENT_EVENTS = 25


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Cart(Record):
    items: tuple[LineItem, ...]
    channel: Channel
    updated_at: AwareDatetime
    # When a channel last sent the whole cart: single adds and removes from before then are in it already.
    replaced_at: AwareDatetime | None = None
    cart_id: str | None = None


class OrderSummary(Record):
    order_id: str
    channel: Channel
    at: AwareDatetime
    total: Decimal
    currency: str
    skus: tuple[str, ...]
    discount_codes: tuple[str, ...] = ()


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
    traits: dict[str, Any] = Field(default_factory=dict)
    timezone: str | None = None
    consent: dict[ConsentChannel, Consent] = Field(default_factory=dict)
    cart: Cart | None = None
    orders: tuple[OrderSummary, ...] = ()
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
    def last_order_at(self) -> datetime | None:
        return max((order.at for order in self.orders), default=None)

    @property
    def identifier_keys(self) -> list[str]:
        return [f"{kind.value}#{value}" for kind, values in self.identifiers.items() for value in values]

    def ordered_skus(self) -> set[str]:
        return {sku for order in self.orders for sku in order.skus}

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


def with_identifiers(profile: Profile, identifiers: list[Identifier]) -> Profile:
    merged = dict(profile.identifiers)
    for identifier in identifiers:
        values = merged.get(identifier.kind, ())
        if identifier.value in values:
            continue
        limit = MAX_IDENTIFIERS.get(identifier.kind, MAX_IDENTIFIERS_DEFAULT)
        merged[identifier.kind] = (*values, identifier.value)[-limit:]
    return profile if merged == profile.identifiers else profile.model_copy(update={"identifiers": merged})


def apply_event(profile: Profile, event: CanonicalEvent, lifecycle: LifecycleConfig) -> Profile:
    """The profile after `event`. Events that arrive late never overwrite newer state."""
    if event.event_id in profile.recent_events:
        return profile
    original = profile
    update: dict[str, Any] = {}
    profile = with_identifiers(profile, list(event.identifiers))
    if event.timezone and event.timezone != profile.timezone and _known_timezone(event.timezone):
        update["timezone"] = event.timezone
    traits = {**profile.traits, **event.traits}
    if traits != profile.traits:
        update["traits"] = traits
    for change in event.consent:
        current = profile.consent.get(change.channel)
        given_at = change.at or event.occurred_at
        if current is None or (current.status != change.status and current.updated_at <= given_at):
            consent = update.setdefault("consent", dict(profile.consent))
            consent[change.channel] = Consent(status=change.status, updated_at=given_at, source=event.source)
    if event.cart is not None:
        cart = _changed_cart(profile.cart, event, profile.orders)
        if cart != profile.cart:
            update["cart"] = cart
    if event.order is not None and all(order.order_id != event.order.order_id for order in profile.orders):
        update.update(_after_order(profile, event))
    if event.ticket is not None:
        tickets = _changed_tickets(profile.open_tickets, event)
        if tickets != profile.open_tickets:
            update["open_tickets"] = tickets
    changed = profile.model_copy(update=update) if update else profile
    stage = lifecycle.stage_of(changed, event.occurred_at)
    if stage != changed.lifecycle_stage:
        changed = changed.model_copy(update={"lifecycle_stage": stage, "stage_entered_by": event.event_id})
    if changed != original:
        changed = changed.model_copy(
            update={
                "updated_at": max(original.updated_at, event.occurred_at),
                "recent_events": (*original.recent_events, event.event_id)[-RECENT_EVENTS:],
            }
        )
    return changed


def _changed_cart(cart: Cart | None, event: CanonicalEvent, orders: tuple[OrderSummary, ...]) -> Cart | None:
    """Whole carts replace older state; single adds and removes apply in any order, unless a later
    whole cart already reflects them. Nothing a later order bought comes back into the cart."""
    change = event.cart
    assert change is not None
    at = event.occurred_at
    # A cart sent before an order but arriving after it (a retried checkout update) still holds what was bought.
    bought_since = {sku for order in orders if order.at >= at for sku in order.skus}
    if change.action == "replace":
        if cart is not None and at < cart.updated_at:
            return cart
        kept = tuple(item for item in change.items if item.sku not in bought_since)
        return Cart(items=kept, channel=event.channel, updated_at=at, replaced_at=at, cart_id=change.cart_id)
    if cart is not None and cart.replaced_at is not None and at < cart.replaced_at:
        return cart
    items = {item.sku: item for item in (cart.items if cart else ())}
    for item in change.items:
        if change.action == "remove":
            items.pop(item.sku, None)
        elif item.sku in bought_since:
            continue
        elif item.sku in items:
            items[item.sku] = item.model_copy(update={"quantity": items[item.sku].quantity + item.quantity})
        else:
            items[item.sku] = item
    if cart is None:
        return Cart(items=tuple(items.values()), channel=event.channel, updated_at=at, cart_id=change.cart_id)
    return cart.model_copy(
        update={
            "items": tuple(items.values()),
            "channel": event.channel,
            "updated_at": max(at, cart.updated_at),
            "cart_id": change.cart_id or cart.cart_id,
        }
    )


def _after_order(profile: Profile, event: CanonicalEvent) -> dict[str, Any]:
    order = event.order
    assert order is not None
    summary = OrderSummary(
        order_id=order.order_id,
        channel=event.channel,
        at=event.occurred_at,
        total=order.total,
        currency=order.currency,
        skus=tuple(order.skus),
        discount_codes=order.discount_codes,
    )
    update: dict[str, Any] = {"orders": tuple(sorted((*profile.orders, summary), key=lambda o: (o.at, o.order_id)))}
    codes = {code.upper() for code in order.discount_codes}
    if any(offer.code.upper() in codes and offer.status == "live" for offer in profile.offers):
        # The code closes the offer on every channel, whichever one it was used on.
        update["offers"] = tuple(
            offer.model_copy(
                update={"status": "redeemed", "redeemed_at": event.occurred_at, "order_id": order.order_id}
            )
            if offer.code.upper() in codes and offer.status == "live"
            else offer
            for offer in profile.offers
        )
    if profile.cart is not None:
        # Whatever was bought, on any channel, leaves the cart.
        remaining = tuple(item for item in profile.cart.items if item.sku not in order.skus)
        if remaining != profile.cart.items:
            update["cart"] = profile.cart.model_copy(update={"items": remaining}) if remaining else None
    return update


def _changed_tickets(tickets: tuple[OpenTicket, ...], event: CanonicalEvent) -> tuple[OpenTicket, ...]:
    ticket = event.ticket
    assert ticket is not None
    others = tuple(open_ticket for open_ticket in tickets if open_ticket.ticket_id != ticket.ticket_id)
    if event.type is EventType.ticket_solved:
        return others
    existing = next((t for t in tickets if t.ticket_id == ticket.ticket_id), None)
    opened_at = existing.opened_at if existing else event.occurred_at
    return (*others, OpenTicket(ticket_id=ticket.ticket_id, subject=ticket.subject, opened_at=opened_at))


def _without_bought(cart: Cart, orders: Iterable[OrderSummary]) -> Cart | None:
    """A cart less what was ordered after it, on either profile: an order empties its cart, and the other
    profile's older cart must not bring the bought items back."""
    bought = {sku for order in orders if order.at >= cart.updated_at for sku in order.skus}
    items = tuple(item for item in cart.items if item.sku not in bought)
    if items == cart.items:
        return cart
    return cart.model_copy(update={"items": items}) if items else None


def merge_profiles(winner: Profile, loser: Profile) -> Profile:
    """One profile from two: the union of what each knew; where they disagree, the newer fact wins."""
    merged = with_identifiers(winner, [Identifier(kind=k, value=v) for k, vs in loser.identifiers.items() for v in vs])
    consent = dict(merged.consent)
    for channel, theirs in loser.consent.items():
        if channel not in consent or theirs.updated_at > consent[channel].updated_at:
            consent[channel] = theirs
    carts = [cart for cart in (winner.cart, loser.cart) if cart is not None]
    orders = {order.order_id: order for order in (*loser.orders, *winner.orders)}
    tickets = {ticket.ticket_id: ticket for ticket in (*loser.open_tickets, *winner.open_tickets)}
    return merged.model_copy(
        update={
            "created_at": min(winner.created_at, loser.created_at),
            "updated_at": max(winner.updated_at, loser.updated_at),
            "traits": {**loser.traits, **winner.traits},
            "timezone": winner.timezone or loser.timezone,
            "consent": consent,
            "cart": _without_bought(max(carts, key=lambda cart: cart.updated_at), orders.values()) if carts else None,
            "orders": tuple(sorted(orders.values(), key=lambda o: (o.at, o.order_id))),
            "open_tickets": tuple(sorted(tickets.values(), key=lambda t: (t.opened_at, t.ticket_id))),
            "merged_from": tuple(dict.fromkeys((*winner.merged_from, loser.customer_id, *loser.merged_from))),
            "tags": tuple(dict.fromkeys((*winner.tags, *loser.tags))),
            "notes": tuple(sorted({*winner.notes, *loser.notes}, key=lambda note: (note.at, note.journey, note.text))),
            "offers": tuple({offer.code: offer for offer in (*loser.offers, *winner.offers)}.values()),
        }
    )
