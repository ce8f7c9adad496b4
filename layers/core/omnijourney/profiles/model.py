"""The profile and how each canonical event changes it: pure functions, no I/O.

A profile is a function of the *set* of its events, not of the order they arrive in or of how two
profiles holding them merge: each part keeps what it needs to join in any order, and apply_event and
merge_profiles use the same joins. Every event is stamped `(occurred_at, event_id)` (stored as the time and a
short digest of the id); the later stamp wins a disagreement. What a later event took away (a removed cart
line, a dropped trait, a solved ticket) is kept as a tombstone with its stamp, so an older event arriving
later cannot bring it back.

- Cart: one line per SKU. A line's base is its latest set (a whole cart), remove or order (a removed
  line is kept as a tombstone, so an older add arriving later stays out); single adds after the base
  add their quantities, each counted once. A whole cart (`replace`) also replaces every line older
  than itself, so SKUs absent from it are gone. An order takes its SKUs out as of its time; an add
  after the order is a new wish and brings the SKU back. Two devices' carts merge as the union of
  their lines. Name and price come from the line's latest event, the only touch that keeps the whole
  item (the others keep their quantities).
- Consent per channel: the latest consent time wins; a tie goes to `unsubscribed` (the safe
  answer), then to the source name.
- Identifiers: each remembers when it was first seen (the earliest event naming it, so seeing it again
  writes nothing) and is listed in that order, newest last (the address messages go to). Past a
  kind's cap (`MAX_IDENTIFIERS`) the profile keeps the smallest values: arbitrary, but the same in any
  order, as a cap by time cannot be; the identity index still resolves every identifier ever claimed
  (and erasure deletes them all through its `by-customer` index).
  Link-only kinds (`LINK_ONLY`: a Shopify order id, which links a refund) are claimed, never listed
  (profiles stored before listed them; they are dropped when such a profile is loaded).
- Traits: per key, the value of the latest event that set it. Stored traits are capped at
  `MAX_TRAITS` keys and `TRAITS_BUDGET_BYTES` of JSON, a single trait at `TRAIT_BUDGET_BYTES`
  (ingest refuses a bigger one; one a journey sets is dropped); past the budget the oldest set traits
  go first (ties by key), so a profile cannot outgrow DynamoDB's 400 KB item through traits. A dropped
  or evicted key keeps its stamp in `traits_set` with no value in `traits` (a tombstone), so an older
  value never comes back. Against the traits set before it, a key weighs the largest value it ever held
  within `TRAIT_BUDGET_BYTES` (a third element of its stamp where that is more than its value now): a
  value that shrinks keeps the room it took, so it cannot make room for a trait evicted while it was
  large in one arrival order and not in another; which traits stay depends only on the set of events.
- Timezone: the latest event's (where it names a zone Python knows), stamped like a trait.
- Locale: the latest event's language tag (events.locale_tag; which language of a template the customer reads),
  stamped like the timezone.
- Tickets: each takes the status of its latest event: solved, or open for any other status (opened, or
  updated: Zendesk reopens a solved ticket when the requester replies, so an update later than the solve
  reopens it and an older one does not). A solved ticket is kept as a tombstone (`solved_tickets`);
  `opened_at` is the earliest event seen for the ticket, whichever arrived first.
- Orders by order id: the first event's facts with the most final state (`test` > `voided` >
  `cancelled` > `placed`), whatever arrives first. Refunds are kept by refund id, counted once,
  and count for their order whenever it arrives, when they are in the order's currency; a refund in
  another currency is kept in `refunds` but does not reduce the order's revenue (reported apart).
- Deals (a CRM's, HubSpot's) by deal id and their line items by line item id: per property, the value of the
  latest event that set it (equal stamps: the larger value); a line item is on a deal as its latest association
  event says. A won deal (`dealstage` `closedwon`, or HubSpot's `hs_is_closed_won`) is a purchase of its line
  items' SKUs for "already bought"; its amount is revenue in its own currency (a deal naming none: shop.yaml's
  `crm_currency`), lifetime value when that is the shop's (the report's and the scorecard's), apart from orders.
  A deleted deal or line item is a tombstone: `archived` (the CRM API's name for a deleted object) set "true" at
  the deletion's stamp and "false" by a restore, so an older event arriving later does not bring it back; an
  archived deal is neither won nor a purchase, an archived line item sells nothing.
  A deal is shared by its contacts: a deal's own events name only the deal (or its line items), so a profile that
  names nobody, the deal's holder, records them, and every contact the deal was ever associated with gets a copy of
  the holder's deals and line items (app/crm_deals.py). Each contact's association with the deal is stamped like a
  line item's; a deal is a customer's (shown, a purchase, revenue) while the latest association event among the
  customer's own contact ids left it on, so a rep's correction takes it off. Its amount counts once: for the
  customer whose current association is the oldest (then by customer id) among those it is on, in the report as in
  the SQL.
- Stored before stamps were kept (profiles written by earlier versions): traits, the timezone and open
  tickets count as set at the profile's `updated_at`, the latest they can have been set, fixed when the
  profile is loaded (so the same stored profile always gives the same answers).

Bounds, so that a profile stays far below DynamoDB's 400 KB item whatever its events (strings as the sources
limit them; `tests/unit/test_profile_model.py` builds a worst case). Each keeps the newest entries by a total
order, so it is deterministic; it is exact in any arrival order while what it dropped stays older than what it
keeps, and not where an entry moves back (an order whose first telling arrives late, a cart line's touches) or
comes back after it was dropped (a forgotten ticket or trait key set again has lost its earlier history):
- cart: `MAX_CART_LINES` lines, the most recently touched kept; `MAX_CART_ADDS` adds per line, older ones
  folded into the base;
- identifiers: `MAX_IDENTIFIERS` per kind (above);
- traits: the values as above; tombstones within the `MAX_TRAIT_KEYS` keys set most recently, whose names
  take at most `TRAIT_KEYS_BUDGET_BYTES` (an event for an older key is older than all of them and stays out);
- tickets: the `MAX_TICKETS` with the latest stamps, open or solved; subjects cut at `MAX_SUBJECT_CHARS`;
- orders: the newest `MAX_ORDERS` by `(at, order_id)` within `ORDERS_BUDGET_BYTES`, nothing summarised; an
  order keeps its first `MAX_ORDER_SKUS` SKUs and `MAX_ORDER_CODES` discount codes (cut at `MAX_CODE_CHARS`);
- refunds: the newest `MAX_REFUNDS` by `(at, refund_id)` within `REFUNDS_BUDGET_BYTES` (one of an order
  dropped from the profile only waits there for newer refunds to push it out);
- notes: the newest `MAX_NOTES`; offers: one per offer of config/offers.yaml and customer (`offers.present`
  issues no second), so only merges add more: at most `MAX_OFFERS`, the newest;
- actions done: the newest `MAX_ACTIONS_DONE` marks by `(at, action_id)` (`_joined_actions_done`);
- deals: the newest `MAX_DEALS` by their latest stamp, `MAX_DEAL_LINE_ITEMS` line items likewise, and per deal the
  `MAX_DEAL_CONTACTS` contacts with the latest association events;
- `RECENT_EVENTS` event ids.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import to_json

from omnijourney.events import (
    TRAIT_BUDGET_BYTES,
    CanonicalEvent,
    Channel,
    ConsentChannel,
    ConsentStatus,
    EventType,
    LineItem,
    OrderState,
)
from omnijourney.identifiers import LINK_ONLY, Identifier, IdentifierKind
from omnijourney.profiles.lifecycle import LifecycleConfig

# Anonymous ids pile up (one per browser and device). Past a kind's cap the smallest values are kept (the same
# in any order); the identity index still resolves every one ever claimed.
MAX_IDENTIFIERS = {IdentifierKind.anonymous_id: 20}
MAX_IDENTIFIERS_DEFAULT = 10
RECENT_EVENTS = 25
MAX_CART_LINES = 50
MAX_CART_ADDS = 5
MAX_TRAITS = 100
TRAITS_BUDGET_BYTES = 16 * 1024
# A value sent again (Segment sends the device's timezone and context.traits with every event) moves its stamp
# only once this much newer: a returning visitor's page views write no profile, at most one write a week. The
# price, when another value happened in between but arrives after the restatement: it holds until the value is
# next restated a week on (quiet hours in the zone the device had just left, for at most a week).
STAMP_REFRESH = timedelta(days=7)
MAX_TRAIT_KEYS = 150
TRAIT_KEYS_BUDGET_BYTES = 16 * 1024
MAX_TICKETS = 30
MAX_SUBJECT_CHARS = 255
MAX_ORDERS = 200
ORDERS_BUDGET_BYTES = 64 * 1024
MAX_ORDER_SKUS = 50
MAX_ORDER_CODES = 5
MAX_CODE_CHARS = 255
MAX_REFUNDS = 200
REFUNDS_BUDGET_BYTES = 16 * 1024
# As many as a journey's note step keeps (runtime/steps.py); a merge keeps no more.
MAX_NOTES = 10
MAX_OFFERS = 20
# Marks of next best actions done: a few times the notes kept, as a mark outlives the note it marked.
MAX_ACTIONS_DONE = 4 * MAX_NOTES
MAX_DEALS = 50
MAX_DEAL_LINE_ITEMS = 200
# Contacts per deal on its holder: a deal's buying committee, not a mailing list. Those taken off go first, then the
# earliest associated (a contact's own copy keeps its own association whatever the holder drops).
MAX_DEAL_CONTACTS = 100
# The stage HubSpot's default pipeline closes a won deal in; custom pipelines' stages are ids, and HubSpot's own
# `hs_is_closed_won` says which of them is won.
WON_STAGE = "closedwon"
# The property a deletion (true) or a restore (false) sets on a deal or line item, stamped like any other.
ARCHIVED = "archived"
# Identifiers stored before first-seen times were kept count as oldest.
BEFORE_ANY_EVENT = datetime.min.replace(tzinfo=UTC)
UNTIMED = BEFORE_ANY_EVENT + timedelta(days=1)
# A final state beats `placed` whatever the arrival order; a test order never was one.
ORDER_STATE_RANK = {OrderState.placed: 0, OrderState.cancelled: 1, OrderState.voided: 2, OrderState.test: 3}
# Equal consent times: withdrawing wins, as sending to someone who said stop is the worse mistake.
CONSENT_STATUS_RANK = {ConsentStatus.unknown: 0, ConsentStatus.subscribed: 1, ConsentStatus.unsubscribed: 2}

# When an event happened and a digest of its id: two events at one instant are told apart as deterministically
# as by the id itself, in a dozen characters instead of up to 512.
Stamp = tuple[datetime, str]
DIGEST_CHARS = 12
# A trait's stamp, with the largest size its values had where that is more than its value's now (or it has none).
TraitStamp = tuple[AwareDatetime, str] | tuple[AwareDatetime, str, int]


def digest(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()[:DIGEST_CHARS]


def _is_digest(value: str) -> bool:
    # Event ids are namespaced by their source (`shopify:…`), so none looks like a digest.
    return len(value) == DIGEST_CHARS and all(char in "0123456789abcdef" for char in value)


def stamp_of(at: datetime, set_by: str) -> Stamp:
    """The stamp of what `set_by` (an event or journey step id) set at `at`."""
    return (at, digest(set_by))


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CartTouch(Record):
    """One event's mark on a cart line: the item as it set or added it (on the line's latest touch), its quantity
    (on the others), or neither where it removed it."""

    at: AwareDatetime
    # A digest of the event's id (profiles stored before held the id itself, digested when loaded).
    event_id: str = ""
    item: LineItem | None = None
    quantity: int | None = None
    # Where the event listed the item: a whole cart keeps its order.
    position: int = 0

    @field_validator("event_id")
    @classmethod
    def _digested(cls, value: str) -> str:
        return value if not value or _is_digest(value) else digest(value)

    @property
    def stamp(self) -> tuple[datetime, str, int]:
        return (self.at, self.event_id, self.position)

    @property
    def held(self) -> int | None:
        """How many the touch put on the line; None where it removed the line."""
        return self.item.quantity if self.item is not None else self.quantity

    @property
    def bare(self) -> CartTouch:
        """The touch without its item's name and price: what a line keeps of all but its latest touch."""
        if self.item is None:
            return self
        return self.model_copy(update={"item": None, "quantity": self.item.quantity})


class CartLine(Record):
    sku: str
    # The latest whole cart, remove or order that set the line (item None: removed, a tombstone).
    base: CartTouch | None = None
    # Single adds since the base, each counted once however the events arrive or merge.
    adds: tuple[CartTouch, ...] = ()

    @property
    def item(self) -> LineItem | None:
        touches = [touch for touch in (self.base, *self.adds) if touch is not None and touch.held is not None]
        if not touches:
            return None
        quantity = sum(touch.held for touch in touches if touch.held is not None)
        latest = max(touches, key=lambda touch: touch.stamp).item or LineItem(sku=self.sku)
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
    # The sum of the order's refunds in its currency (Profile.refunds), whichever arrived first.
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


# An issued offer keeps its discount as text ("10% off", "5 EUR off"): written by discount_text (the offers'
# Discount), read back into its parts by discount_parts, so a screen writes the amount in the shop's own format.
DISCOUNT_TEXT = re.compile(r"^(?:(?P<percent>\d+)% off|(?P<amount>\d+(?:\.\d+)?) (?P<currency>[A-Z]{3}) off)$")


def discount_text(percent: int | None, amount: Decimal | None, currency: str | None) -> str:
    return f"{percent}% off" if percent is not None else f"{amount} {currency} off"


def discount_parts(text: str) -> dict[str, Any]:
    """`percent_off`, or `amount_off` and its `currency`, of a discount discount_text wrote (all None if it reads
    otherwise: the text is then all there is)."""
    read = DISCOUNT_TEXT.match(text)
    percent, amount = (read["percent"], read["amount"]) if read else (None, None)
    parsed = Decimal(amount) if amount else None
    return {
        "percent_off": int(percent) if percent else None,
        "amount_off": (int(parsed) if parsed == parsed.to_integral_value() else float(parsed)) if parsed else None,
        "currency": read["currency"] if read else None,
    }


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
    # The stamp of the ticket's latest event, which left it open: a solve older than that does not close it.
    # None only on a ticket built without one (profiles stored before are given their `updated_at` when loaded).
    set_by: tuple[AwareDatetime, str] | None = None


class SolvedTicket(Record):
    """A solved ticket's tombstone: an older event about it does not reopen it, a later update does."""

    ticket_id: str
    opened_at: AwareDatetime
    solved_by: tuple[AwareDatetime, str]
    # The subject the solving event carried (cut at MAX_SUBJECT_CHARS): a follow-up journey's template shows it,
    # looked up by the ticket id its entry carries. None on tombstones stored before, or a solve without one.
    subject: str | None = None


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

    @property
    def action_id(self) -> str:
        """What store staff mark done: the same note on every merge and retry (a digest of what makes it itself)."""
        return digest(f"{self.at.isoformat()}|{self.journey}|{self.text}")


class DoneMark(Record):
    """Staff did a next best action (`Note.action_id`), at the time its event says."""

    action_id: str
    at: AwareDatetime


class StampedProperties(Record):
    """A CRM object's properties by the CRM's own names (None: cleared), each with the stamp of the event that set
    it: the latest wins in any arrival order."""

    properties: dict[str, str | None] = Field(default_factory=dict)
    properties_set: dict[str, tuple[AwareDatetime, str]] = Field(default_factory=dict)

    @property
    def latest(self) -> Stamp:
        return max(self.properties_set.values(), default=(BEFORE_ANY_EVENT, ""))

    @property
    def is_archived(self) -> bool:
        """Deleted in the CRM (and not restored since)."""
        return (self.properties.get(ARCHIVED) or "").lower() == "true"


class DealLineItem(StampedProperties):
    """A product on a deal (HubSpot's line item): `hs_sku`, `name`, `quantity`, `price`."""

    line_item_id: str

    @property
    def sku(self) -> str | None:
        return self.properties.get("hs_sku")


# The trait naming the customer's owner in the CRM (HubSpot's contact owner): who gets a journey's sales tasks.
OWNER_TRAIT = "hubspot_owner_id"


# The stamp of an association's latest event, and whether that event left the two associated.
Association = tuple[AwareDatetime, str, bool]


class Deal(StampedProperties):
    """A sales deal in the CRM, with the line items and the contacts its latest association events left on it."""

    deal_id: str
    first_seen: AwareDatetime
    # Line item id → its association with the deal.
    line_items: dict[str, Association] = Field(default_factory=dict)
    # The CRM's contact id → its association with the deal.
    contacts: dict[str, Association] = Field(default_factory=dict)

    @property
    def stage(self) -> str | None:
        return self.properties.get("dealstage")

    @property
    def amount(self) -> Decimal | None:
        amount = self.properties.get("amount")
        return Decimal(amount) if amount is not None else None

    @property
    def currency(self) -> str | None:
        return self.properties.get("deal_currency_code")

    @property
    def is_won(self) -> bool:
        if self.is_archived:
            return False
        won = self.properties.get("hs_is_closed_won")
        return won.lower() == "true" if won is not None else self.stage == WON_STAGE

    @property
    def line_item_ids(self) -> tuple[str, ...]:
        return tuple(item for item, (_, _, on) in sorted(self.line_items.items()) if on)

    @property
    def latest(self) -> Stamp:
        linked = ((at, by) for at, by, _ in (*self.line_items.values(), *self.contacts.values()))
        return max(super().latest, *linked, (self.first_seen, ""))

    def with_contacts(self, keep: Callable[[str], bool]) -> Deal:
        """The deal with the associations of the contacts `keep` keeps."""
        return self.model_copy(update={"contacts": {key: on for key, on in self.contacts.items() if keep(key)}})

    def association(self, contact_ids: Iterable[str]) -> Association | None:
        """The latest association event among these contacts (a customer's own ids): whether the deal is theirs."""
        return max((self.contacts[contact] for contact in contact_ids if contact in self.contacts), default=None)


class Profile(Record):
    customer_id: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    identifiers: dict[IdentifierKind, tuple[str, ...]] = Field(default_factory=dict)
    # When each identifier (by key) was first seen: the lists are in that order, whatever the arrival order.
    identifiers_seen: dict[str, AwareDatetime] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    # The stamp of the event that set each trait: the latest wins in any arrival order. A key with no value in
    # `traits` was dropped or evicted (a tombstone).
    traits_set: dict[str, TraitStamp] = Field(default_factory=dict)
    timezone: str | None = None
    timezone_set: tuple[AwareDatetime, str] | None = None
    locale: str | None = None
    locale_set: tuple[AwareDatetime, str] | None = None
    consent: dict[ConsentChannel, Consent] = Field(default_factory=dict)
    cart: Cart | None = None
    orders: tuple[OrderSummary, ...] = ()
    refunds: tuple[RefundSummary, ...] = ()
    # By opened_at: the newest last.
    open_tickets: tuple[OpenTicket, ...] = ()
    solved_tickets: tuple[SolvedTicket, ...] = ()
    # By first seen, the newest last; their line items by id.
    deals: tuple[Deal, ...] = ()
    deal_line_items: tuple[DealLineItem, ...] = ()
    # A CRM deal's holder (app.crm_deals): it keeps a deal's events and is nobody, whatever it lists.
    crm_holder: bool = False
    lifecycle_stage: str = ""
    # The event that moved the profile into its stage: a retried event still knows it entered the stage.
    stage_entered_by: str | None = None
    merged_from: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    # Next best actions staff marked done, the newest last: done before or after a merge is done.
    actions_done: tuple[DoneMark, ...] = ()
    offers: tuple[IssuedOffer, ...] = ()
    # The last events that changed this profile: re-applying one (a retried batch) changes nothing.
    recent_events: tuple[str, ...] = ()
    # Shared segments (config/segments.yaml) the customer is in, each with what put them in (an event id, or
    # `daily:<local date>`): derived by runtime.conditions.segments_now, never by apply_event, and recomputed after a
    # merge; a retried event still knows the segments it made the customer enter.
    segments: dict[str, str] = Field(default_factory=dict)
    # The customer's next local day on which time alone may move their segments (a birthday, a counted event leaving
    # its window): the hourly evaluation reads nothing of theirs before it. None: time alone moves nothing until an
    # event changes what the segments read; a profile stored before this field is due at once.
    segments_due: date | None = date.min

    @model_validator(mode="before")
    @classmethod
    def _as_stored_before_stamps(cls, data: Any) -> Any:
        """Profiles stored before stamps were kept: their traits, timezone and open tickets count as set at their
        `updated_at` (the latest they can have been), and link-only identifiers they listed are dropped."""
        if not isinstance(data, dict) or "updated_at" not in data:
            return data
        data = dict(data)
        stand_in = (data["updated_at"], "")
        traits_set = dict(data.get("traits_set") or {})
        if any(key not in traits_set for key in data.get("traits") or {}):
            data["traits_set"] = {key: stand_in for key in data["traits"]} | traits_set
        if data.get("timezone") and not data.get("timezone_set"):
            data["timezone_set"] = stand_in
        tickets = data.get("open_tickets") or ()
        if any(isinstance(ticket, dict) and not ticket.get("set_by") for ticket in tickets):
            data["open_tickets"] = [
                {**ticket, "set_by": stand_in} if isinstance(ticket, dict) and not ticket.get("set_by") else ticket
                for ticket in tickets
            ]
        identifiers = data.get("identifiers") or {}
        linking = {kind.value for kind in LINK_ONLY}
        if any(kind in linking for kind in identifiers):
            data["identifiers"] = {kind: values for kind, values in identifiers.items() if kind not in linking}
            data["identifiers_seen"] = {
                key: at for key, at in (data.get("identifiers_seen") or {}).items() if key.split("#")[0] not in linking
            }
        return data

    @property
    def is_known(self) -> bool:
        return bool(self.identifiers.get(IdentifierKind.email) or self.identifiers.get(IdentifierKind.phone))

    @property
    def next_best_actions(self) -> tuple[Note, ...]:
        """The notes staff have not marked done."""
        done = self.done_action_ids
        return tuple(note for note in self.notes if note.action_id not in done)

    @property
    def done_action_ids(self) -> frozenset[str]:
        return frozenset(mark.action_id for mark in self.actions_done)

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
        """What the customer bought (for "already bought"): test and voided orders are no purchases; a won deal is one
        of its line items."""
        return {sku for order in self.orders if order.is_purchase for sku in order.skus} | self.won_deal_skus()

    @property
    def own_deals(self) -> tuple[Deal, ...]:
        """The deals the customer is associated with now (a holder's deals are nobody's: it names no contact)."""
        return tuple(deal for deal in self.deals if (association := self.association_with(deal)) and association[2])

    def association_with(self, deal: Deal) -> Association | None:
        """The latest association event between the deal and any of the customer's own contact ids."""
        return deal.association(self.identifiers.get(IdentifierKind.hubspot_contact_id, ()))

    def won_deal_skus(self) -> set[str]:
        items = {item.line_item_id: item for item in self.deal_line_items}
        return {
            sku
            for deal in self.own_deals
            if deal.is_won
            for item_id in deal.line_item_ids
            if item_id in items and not items[item_id].is_archived and (sku := items[item_id].sku)
        }

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


_Kept = TypeVar("_Kept", bound=Record)


def with_note(profile: Profile, note: Note) -> Profile:
    """The profile with a journey's note for store staff or agents: the newest `MAX_NOTES`, in time order."""
    if note in profile.notes:
        return profile
    return profile.model_copy(update={"notes": _newest({*profile.notes, note}, _note_order, MAX_NOTES)})


def _joined_actions_done(marks: Iterable[DoneMark]) -> tuple[DoneMark, ...]:
    """One mark per action (its latest), the newest `MAX_ACTIONS_DONE` by `(at, action_id)`: the same in any order of
    events and merges, and a mark just made is always kept (with four marks per note kept, one dropped while its note
    is still shown is unlikely)."""
    latest: dict[str, DoneMark] = {}
    for mark in marks:
        if mark.action_id not in latest or mark.at > latest[mark.action_id].at:
            latest[mark.action_id] = mark
    return _newest(latest.values(), _mark_order, MAX_ACTIONS_DONE)


def _mark_order(mark: DoneMark) -> tuple[datetime, str]:
    return mark.at, mark.action_id


def _note_order(note: Note) -> tuple[datetime, str, str]:
    return note.at, note.journey, note.text


def _newest(
    records: Iterable[_Kept],
    key: Callable[[_Kept], Any],
    count: int,
    budget: int | None = None,
    exclude: set[str] | None = None,
) -> tuple[_Kept, ...]:
    """The newest records by `key`, at most `count` and `budget` bytes of JSON (without the fields in `exclude`,
    which change after a record arrives), in `key` order."""
    kept: list[_Kept] = []
    used = 0
    for record in sorted(records, key=key, reverse=True):
        if budget is not None:
            used += len(record.model_dump_json(exclude=exclude).encode())
        if len(kept) == count or (budget is not None and used > budget):
            break
        kept.append(record)
    return tuple(reversed(kept))


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


def without_identifiers(profile: Profile, identifiers: Iterable[Identifier]) -> Profile:
    """The profile that no longer lists `identifiers` (the CRM deleted the record they named)."""
    gone = {identifier.key for identifier in identifiers}
    times = _identifier_times(profile)
    for kind, values in times.items():
        times[kind] = {value: at for value, at in values.items() if f"{kind.value}#{value}" not in gone}
    return _with_identifier_times(profile, times)


# Traits --------------------------------------------------------------------------------------------------


class Trait(NamedTuple):
    stamp: Stamp
    # False: a tombstone (dropped or evicted), whose stamp keeps older values out.
    held: bool
    value: Any
    # The largest size any of its values had within TRAIT_BUDGET_BYTES: what it weighs against older traits.
    weight: int


TraitState = dict[str, Trait]


def _trait_size(key: str, value: Any) -> int:
    return len(to_json({key: value}, fallback=str))


def _trait_set(key: str, value: Any, stamp: Stamp) -> Trait:
    size = _trait_size(key, value)
    return Trait(stamp, True, value, size if size <= TRAIT_BUDGET_BYTES else 0)


def _trait_state(profile: Profile) -> TraitState:
    state: TraitState = {}
    for key, stamped in profile.traits_set.items():
        weight = stamped[2] if len(stamped) == 3 else 0
        if key in profile.traits:
            held = _trait_set(key, profile.traits[key], (stamped[0], stamped[1]))
            state[key] = held._replace(weight=max(held.weight, weight))
        else:
            state[key] = Trait((stamped[0], stamped[1]), False, None, weight)
    for key in profile.traits.keys() - profile.traits_set.keys():  # built without stamps, not loaded
        state[key] = _trait_set(key, profile.traits[key], (profile.updated_at, ""))
    return state


_Key = TypeVar("_Key")
_State = TypeVar("_State")


def _joined_per_key(
    mine: dict[_Key, _State],
    theirs: dict[_Key, _State],
    order: Callable[[_State], Any],
    known_to_both: Callable[[_State, _State, _State], _State],
) -> dict[_Key, _State]:
    """Per key the later of the two states by `order` (total, so the same whichever side holds which), with what
    `known_to_both(later, one, other)` carries over from both: the join traits and tickets share."""
    joined = dict(mine)
    for key, state in theirs.items():
        known = joined.get(key)
        joined[key] = state if known is None else known_to_both(max(known, state, key=order), known, state)
    return joined


def _joined_traits(mine: TraitState, theirs: TraitState) -> TraitState:
    """Per key the value set last, weighing the most either knew. Equal stamps are one event (or stand-ins for
    traits stored before stamps were kept): a value beats a tombstone (the budget evicts it again where it must),
    then the larger value."""
    return _joined_per_key(
        mine,
        theirs,
        lambda t: (t.stamp, t.held, to_json(t.value, fallback=str) if t.held else b""),
        lambda later, one, other: later._replace(weight=max(one.weight, other.weight)),
    )


def _within_budget(state: TraitState) -> TraitState:
    """The keys set most recently, each holding its value while it and every newer key's weight fit the budget."""
    kept: TraitState = {}
    names = weight = weighing = 0
    for key, trait in sorted(state.items(), key=lambda entry: (entry[1].stamp, entry[0]), reverse=True):
        names += len(to_json(key))
        if len(kept) == MAX_TRAIT_KEYS or names > TRAIT_KEYS_BUDGET_BYTES:
            break
        size = _trait_size(key, trait.value) if trait.held else 0
        fits = size <= TRAIT_BUDGET_BYTES and weight + size <= TRAITS_BUDGET_BYTES and weighing < MAX_TRAITS
        kept[key] = trait if fits or not trait.held else trait._replace(held=False, value=None)
        weight += trait.weight
        weighing += trait.weight > 0
    return kept


def _stored_stamp(key: str, trait: Trait) -> TraitStamp:
    at, set_by = trait.stamp
    size = _trait_size(key, trait.value) if trait.held else 0
    return (at, set_by, trait.weight) if trait.weight > size else (at, set_by)


def _with_trait_state(profile: Profile, state: TraitState) -> Profile:
    kept = _within_budget(state)
    traits = {key: kept[key].value for key in sorted(kept) if kept[key].held}
    traits_set = {key: _stored_stamp(key, kept[key]) for key in sorted(kept)}
    if traits == profile.traits and traits_set == profile.traits_set:
        return profile
    return profile.model_copy(update={"traits": traits, "traits_set": traits_set})


def with_traits(profile: Profile, traits: dict[str, Any], at: datetime, set_by: str) -> Profile:
    """The profile with `traits` as set at `at` by `set_by` (an event or journey step id), within the budget."""
    stamp = stamp_of(at, set_by)
    mine = _trait_state(profile)
    theirs = {
        key: _trait_set(key, value, stamp)
        for key, value in traits.items()
        if not (key in mine and mine[key].held and _restated(mine[key].value, mine[key].stamp, value, at))
    }
    return _with_trait_state(profile, _joined_traits(mine, theirs)) if theirs else profile


def _restated(held: Any, stamp: Stamp, value: Any, at: datetime) -> bool:
    """The value the profile holds, sent again soon after it was set: not worth a write (see STAMP_REFRESH)."""
    return held == value and stamp[0] <= at < stamp[0] + STAMP_REFRESH


def _latest_stamped(*values: tuple[str | None, Stamp | None]) -> tuple[str | None, Stamp | None]:
    """The value (a zone, a locale) stamped last (equal stamps: one event, or stand-ins for zones stored before
    stamps: the larger)."""
    stamped = [(stamp, zone) for zone, stamp in values if zone is not None and stamp is not None]
    if not stamped:
        return None, None
    stamp, zone = max(stamped)
    return zone, stamp


def _timezone_of(profile: Profile) -> tuple[str | None, Stamp | None]:
    if profile.timezone is None:
        return None, None
    return profile.timezone, profile.timezone_set or (profile.updated_at, "")


def _locale_of(profile: Profile) -> tuple[str | None, Stamp | None]:
    return profile.locale, profile.locale_set


def _locale_update(profile: Profile, event: CanonicalEvent) -> dict[str, Any]:
    """The event's locale joined as the timezone is (restated within STAMP_REFRESH: no write)."""
    held, stamp = _locale_of(profile)
    at = event.occurred_at
    if event.locale is None or (stamp is not None and _restated(held, stamp, event.locale, at)):
        return {}
    locale, locale_set = _latest_stamped((held, stamp), (event.locale, stamp_of(at, event.event_id)))
    return {} if (locale, locale_set) == (held, stamp) else {"locale": locale, "locale_set": locale_set}


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


def _touch_order(touch: CartTouch) -> tuple[tuple[datetime, str, int], bool]:
    # One touch known twice: the telling that still has its item, should it be the latest.
    return (touch.stamp, touch.item is not None)


def _settled_line(sku: str, marks: list[CartLine], replaced: CartTouch | None) -> CartLine | None:
    floor = replaced.stamp if replaced is not None else None
    bases = [line.base for line in marks if line.base is not None and (floor is None or line.base.stamp >= floor)]
    base = max(bases, key=_touch_order, default=None)
    after = base.stamp if base is not None else floor
    adds: dict[tuple[datetime, str, int], CartTouch] = {}
    for line in marks:
        for touch in line.adds:
            if after is None or touch.stamp > after:
                known = adds.get(touch.stamp)
                adds[touch.stamp] = touch if known is None else max(known, touch, key=_touch_order)
    ordered = sorted(adds.values(), key=lambda touch: touch.stamp)
    if base is None and not ordered:
        return None
    if len(ordered) > MAX_CART_ADDS:
        folded, ordered = ordered[:-MAX_CART_ADDS], ordered[-MAX_CART_ADDS:]
        quantity = sum(touch.held or 0 for touch in (base, *folded) if touch is not None)
        last = folded[-1]
        base = CartTouch(at=last.at, event_id=last.event_id, quantity=quantity, position=last.position)
    # The latest touch keeps the item, the others only their quantities. Whichever touch is latest here was the
    # latest in any profile that knew it (a later one there would be joined in here too), so it has its item.
    if ordered:
        base = base.bare if base is not None else None
        ordered = [*(touch.bare for touch in ordered[:-1]), ordered[-1]]
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
        skus=tuple(order.skus[:MAX_ORDER_SKUS]),
        discount_codes=tuple(code[:MAX_CODE_CHARS] for code in order.discount_codes[:MAX_ORDER_CODES]),
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
    """Each refund once, however often it was delivered; the newest within their bounds."""
    by_id: dict[str, RefundSummary] = {}
    for refund in refunds:
        known = by_id.get(refund.refund_id)
        by_id[refund.refund_id] = (
            refund if known is None else min(known, refund, key=lambda r: (r.at, r.model_dump_json()))
        )
    return _newest(by_id.values(), lambda refund: (refund.at, refund.refund_id), MAX_REFUNDS, REFUNDS_BUDGET_BYTES)


def _joined_orders(orders: Iterable[OrderSummary], refunds: tuple[RefundSummary, ...]) -> tuple[OrderSummary, ...]:
    """Each order once, the newest within their bounds, each less its refunds in its own currency."""
    by_id: dict[str, OrderSummary] = {}
    for order in orders:
        known = by_id.get(order.order_id)
        by_id[order.order_id] = order if known is None else _same_order(known, order)
    refunded: dict[tuple[str, str], Decimal] = {}
    for refund in refunds:
        key = (refund.order_id, refund.currency.upper())
        refunded[key] = refunded.get(key, Decimal(0)) + refund.amount
    kept = _newest(
        by_id.values(),
        lambda order: (order.at, order.order_id),
        MAX_ORDERS,
        ORDERS_BUDGET_BYTES,
        exclude={"state", "refunded"},
    )

    def less_refunds(order: OrderSummary) -> OrderSummary:
        amount = refunded.get((order.order_id, order.currency.upper()), Decimal(0))
        return order if order.refunded == amount else order.model_copy(update={"refunded": amount})

    return tuple(less_refunds(order) for order in kept)


def _redeemed(offers: tuple[IssuedOffer, ...], order: OrderSummary) -> tuple[IssuedOffer, ...]:
    """The code closes the offer on every channel, whichever one it was used on."""
    codes = {code.upper() for code in order.discount_codes}
    return tuple(
        offer.model_copy(update={"status": "redeemed", "redeemed_at": order.at, "order_id": order.order_id})
        if offer.code.upper() in codes and offer.status == "live"
        else offer
        for offer in offers
    )


def _joined_offers(offers: Iterable[IssuedOffer]) -> tuple[IssuedOffer, ...]:
    """Each code once (redeemed where either profile saw it used), the newest within their bound."""
    by_code: dict[str, IssuedOffer] = {}
    for offer in offers:
        known = by_code.get(offer.code)
        by_code[offer.code] = (
            offer if known is None else max(known, offer, key=lambda o: (o.status == "redeemed", o.model_dump_json()))
        )
    return _newest(by_code.values(), lambda offer: (offer.issued_at, offer.code), MAX_OFFERS)


# Deals ---------------------------------------------------------------------------------------------------

_Stamped = TypeVar("_Stamped", bound=StampedProperties)


def _joined_properties(one: _Stamped, other: _Stamped) -> _Stamped:
    """Per property the value of the later stamp (equal stamps, one event told twice or two at one instant: the
    larger value), so the same whichever side holds which."""
    joined = _joined_per_key(_told(one), _told(other), lambda told: (told[0], told[1] or ""), lambda later, *_: later)
    properties = {name: value for name, (_, value) in joined.items()}
    return one.model_copy(update={"properties": properties, "properties_set": {n: s for n, (s, _) in joined.items()}})


def _told(record: StampedProperties) -> dict[str, tuple[Stamp, str | None]]:
    """Per property its stamp and value."""
    return {name: (stamp, record.properties.get(name)) for name, stamp in record.properties_set.items()}


def _joined_associations(one: dict[str, Association], other: dict[str, Association]) -> dict[str, Association]:
    """Per associated id the latest association event (equal stamps: on wins), the same whichever side holds which."""
    return dict(sorted(_joined_per_key(one, other, lambda association: association, lambda later, *_: later).items()))


def _latest_associations(associations: dict[str, Association], count: int) -> dict[str, Association]:
    """The `count` associations still on with the latest events, then those taken off."""
    kept = sorted(associations.items(), key=lambda pair: (pair[1][2], pair[1], pair[0]), reverse=True)[:count]
    return dict(sorted(kept))


def _same_deal(one: Deal, other: Deal) -> Deal:
    joined = _joined_properties(one, other)
    return joined.model_copy(
        update={
            "first_seen": min(one.first_seen, other.first_seen),
            "line_items": _joined_associations(one.line_items, other.line_items),
            "contacts": _latest_associations(_joined_associations(one.contacts, other.contacts), MAX_DEAL_CONTACTS),
        }
    )


def _joined_deals(deals: Iterable[Deal]) -> tuple[Deal, ...]:
    by_id: dict[str, Deal] = {}
    for deal in deals:
        known = by_id.get(deal.deal_id)
        by_id[deal.deal_id] = deal if known is None else _same_deal(known, deal)
    newest = _newest(by_id.values(), lambda deal: (deal.latest, deal.deal_id), MAX_DEALS)
    return tuple(sorted(newest, key=lambda deal: (deal.first_seen, deal.deal_id)))


def _joined_line_items(items: Iterable[DealLineItem]) -> tuple[DealLineItem, ...]:
    by_id: dict[str, DealLineItem] = {}
    for item in items:
        known = by_id.get(item.line_item_id)
        by_id[item.line_item_id] = item if known is None else _joined_properties(known, item)
    newest = _newest(by_id.values(), lambda item: (item.latest, item.line_item_id), MAX_DEAL_LINE_ITEMS)
    return tuple(sorted(newest, key=lambda item: item.line_item_id))


def _deals_update(profile: Profile, event: CanonicalEvent) -> dict[str, Any]:
    """The event's deal and line item joined into the profile's."""
    stamp = stamp_of(event.occurred_at, event.event_id)
    update: dict[str, Any] = {}
    change = event.deal
    if change is not None:
        told = Deal(
            deal_id=change.deal_id,
            first_seen=event.occurred_at,
            properties=dict(change.properties),
            properties_set=dict.fromkeys(change.properties, stamp),
            line_items=_associations(change.line_items_added, change.line_items_removed, stamp),
            contacts=_associations(change.contacts_added, change.contacts_removed, stamp),
        )
        deals = _joined_deals((*profile.deals, told))
        if deals != profile.deals:
            update["deals"] = deals
    item = event.line_item
    if item is not None:
        told_item = DealLineItem(
            line_item_id=item.line_item_id,
            properties=dict(item.properties),
            properties_set=dict.fromkeys(item.properties, stamp),
        )
        items = _joined_line_items((*profile.deal_line_items, told_item))
        if items != profile.deal_line_items:
            update["deal_line_items"] = items
    return update


def _associations(added: Iterable[str], removed: Iterable[str], stamp: Stamp) -> dict[str, Association]:
    return {key: (*stamp, True) for key in added} | {key: (*stamp, False) for key in removed}


def with_holders_deals(profile: Profile, holder: Profile) -> Profile:
    """The profile with a copy of the holder's deals that name any of its contact ids, on or off (the holder keeps
    a deal's events: its events name only the deal), with its own associations only (the deal's other contacts are
    other customers), and of their line items."""
    contact_ids = set(profile.identifiers.get(IdentifierKind.hubspot_contact_id, ()))
    shared = [copy for deal in holder.deals if (copy := deal.with_contacts(contact_ids.__contains__)).contacts]
    item_ids = {item for deal in shared for item in deal.line_items}
    items = [item for item in holder.deal_line_items if item.line_item_id in item_ids]
    deals = _joined_deals((*profile.deals, *shared))
    line_items = _joined_line_items((*profile.deal_line_items, *items))
    if (deals, line_items) == (profile.deals, profile.deal_line_items):
        return profile
    return profile.model_copy(update={"deals": deals, "deal_line_items": line_items})


def as_crm_holder(before: Profile | None, after: Profile, event: CanonicalEvent) -> Profile:
    """A profile recording a CRM deal's events as its holder (a `derive` of profiles.service.record_event)."""
    return after if after.crm_holder else after.model_copy(update={"crm_holder": True})


def without_deal_contacts(holder: Profile, contact_ids: Iterable[str]) -> Profile:
    """The holder's deals with no trace of these contacts (erased: their ids go everywhere)."""
    gone = set(contact_ids)
    deals = tuple(deal.with_contacts(lambda contact: contact not in gone) for deal in holder.deals)
    return holder if deals == holder.deals else holder.model_copy(update={"deals": deals})


# Tickets -------------------------------------------------------------------------------------------------


class TicketState(NamedTuple):
    # The ticket's latest event, which set its status.
    stamp: Stamp
    solved: bool
    subject: str | None
    # The earliest event seen for the ticket.
    opened_at: datetime


def _ticket_states(profile: Profile) -> dict[str, TicketState]:
    opened = {
        ticket.ticket_id: TicketState(
            ticket.set_by or (profile.updated_at, ""), False, ticket.subject, ticket.opened_at
        )
        for ticket in profile.open_tickets
    }
    solved = {
        ticket.ticket_id: TicketState(ticket.solved_by, True, ticket.subject, ticket.opened_at)
        for ticket in profile.solved_tickets
    }
    return _joined_tickets(opened, solved)


def _joined_tickets(mine: dict[str, TicketState], theirs: dict[str, TicketState]) -> dict[str, TicketState]:
    """Per ticket the status of its latest event (equal stamps: one event, or stand-ins for tickets stored before
    stamps were kept: solved, then the larger subject) and its earliest time."""
    return _joined_per_key(
        mine,
        theirs,
        lambda t: (t.stamp, t.solved, t.subject or ""),
        lambda later, one, other: later._replace(opened_at=min(one.opened_at, other.opened_at)),
    )


def _ticket_of(event: CanonicalEvent) -> dict[str, TicketState]:
    ticket = event.ticket
    assert ticket is not None
    subject = ticket.subject[:MAX_SUBJECT_CHARS] if ticket.subject is not None else None
    solved = event.type is EventType.ticket_solved
    return {
        ticket.ticket_id: TicketState(stamp_of(event.occurred_at, event.event_id), solved, subject, event.occurred_at)
    }


def _tickets_update(profile: Profile, states: dict[str, TicketState]) -> dict[str, Any]:
    """The open tickets (by opened_at) and solved tombstones of the `MAX_TICKETS` tickets stamped last."""
    newest = sorted(states.items(), key=lambda entry: (entry[1].stamp, entry[0]), reverse=True)[:MAX_TICKETS]
    open_tickets = tuple(
        sorted(
            (
                OpenTicket(ticket_id=ticket_id, subject=state.subject, opened_at=state.opened_at, set_by=state.stamp)
                for ticket_id, state in newest
                if not state.solved
            ),
            key=lambda ticket: (ticket.opened_at, ticket.ticket_id),
        )
    )
    solved_tickets = tuple(
        sorted(
            (
                SolvedTicket(
                    ticket_id=ticket_id, opened_at=state.opened_at, solved_by=state.stamp, subject=state.subject
                )
                for ticket_id, state in newest
                if state.solved
            ),
            key=lambda ticket: (ticket.solved_by, ticket.ticket_id),
        )
    )
    update: dict[str, Any] = {}
    if open_tickets != profile.open_tickets:
        update["open_tickets"] = open_tickets
    if solved_tickets != profile.solved_tickets:
        update["solved_tickets"] = solved_tickets
    return update


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
    zone_held, zone_stamp = _timezone_of(profile)
    restated = zone_stamp is not None and _restated(zone_held, zone_stamp, event.timezone, at)
    if event.timezone and not restated and _known_timezone(event.timezone):
        zone, stamp = _latest_stamped(_timezone_of(profile), (event.timezone, stamp_of(at, event.event_id)))
        if (zone, stamp) != (profile.timezone, profile.timezone_set):
            update |= {"timezone": zone, "timezone_set": stamp}
    update |= _locale_update(profile, event)
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
        # A purchase new to the profile redeems its codes (one too old for the profile to keep is not new).
        new = {o.order_id for o in orders} - {o.order_id for o in profile.orders}
        if order is not None and order.is_purchase and order.order_id in new:
            offers = _redeemed(profile.offers, order)
            if offers != profile.offers:
                update["offers"] = offers
    done = event.properties.get("action") if event.type is EventType.next_best_action_done else None
    if isinstance(done, str):
        marks = _joined_actions_done((*profile.actions_done, DoneMark(action_id=done, at=event.occurred_at)))
        if marks != profile.actions_done:
            update["actions_done"] = marks
    if event.ticket is not None:
        update |= _tickets_update(profile, _joined_tickets(_ticket_states(profile), _ticket_of(event)))
    update |= _deals_update(profile, event)
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
    zone, zone_set = _latest_stamped(_timezone_of(winner), _timezone_of(loser))
    locale, locale_set = _latest_stamped(_locale_of(winner), _locale_of(loser))
    refunds = _joined_refunds((*winner.refunds, *loser.refunds))
    notes = _newest({*winner.notes, *loser.notes}, _note_order, MAX_NOTES)
    return merged.model_copy(
        update={
            "created_at": min(winner.created_at, loser.created_at),
            "updated_at": max(winner.updated_at, loser.updated_at),
            "timezone": zone,
            "timezone_set": zone_set,
            "locale": locale,
            "locale_set": locale_set,
            "consent": consent,
            "cart": _joined_carts(winner.cart, loser.cart),
            "orders": _joined_orders((*winner.orders, *loser.orders), refunds),
            "refunds": refunds,
            "deals": _joined_deals((*winner.deals, *loser.deals)),
            "deal_line_items": _joined_line_items((*winner.deal_line_items, *loser.deal_line_items)),
            **_tickets_update(winner, _joined_tickets(_ticket_states(winner), _ticket_states(loser))),
            "merged_from": tuple(dict.fromkeys((*winner.merged_from, loser.customer_id, *loser.merged_from))),
            "tags": tuple(dict.fromkeys((*winner.tags, *loser.tags))),
            "notes": notes,
            "actions_done": _joined_actions_done((*winner.actions_done, *loser.actions_done)),
            "offers": _joined_offers((*winner.offers, *loser.offers)),
            # Either side's segments count as entered already (no second entry); recomputed after the merge.
            "segments": loser.segments | winner.segments,
        }
    )
