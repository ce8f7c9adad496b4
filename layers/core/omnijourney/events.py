"""The canonical event: every channel's payload is parsed into this, and nothing else crosses into the domain."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, to_json

from omnijourney.identifiers import Identifier

SCHEMA = "omnijourney.event/1"

# What an event may carry (docs/sources/README.md#limits). Every source builds its events through this model, so
# each limit is enforced here once; a vendor value beyond one is a 400 naming the field, never a 2xx that the profile
# function (DynamoDB's 400 KB item, pydantic's serialisation depth) would fail on later.
MAX_JSON_DEPTH = 32  # nesting of a delivery's JSON, and of traits or properties
MAX_BAG_KEYS = 100  # keys of traits, and of properties
MAX_BAG_BYTES = 16 * 1024  # traits, and properties, serialised as compact UTF-8 JSON
MAX_STRING_CHARS = 8 * 1024  # any string in an event but its identifiers
# A SKU or a product name (a line's, an order's, a refund's): every cart line, order and refund on a profile holds
# them, so 8 KiB each would let a few orders outgrow DynamoDB's item.
MAX_PRODUCT_CHARS = 255
# One trait as JSON: what a profile keeps of one (profiles.model), so what is accepted here is never dropped there.
TRAIT_BUDGET_BYTES = 4 * 1024
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# How far ahead of its arrival an event may say it happened: device clocks that are wrong by days still get in,
# a year 9999 does not.
MAX_AHEAD = timedelta(days=7)
OUT_OF_RANGE = f"is before {EARLIEST:%Y-%m-%d} or after the year 9999 in UTC"


class EventType(StrEnum):
    identify = "identify"
    alias = "alias"
    page_viewed = "page_viewed"
    product_viewed = "product_viewed"
    cart_updated = "cart_updated"
    checkout_started = "checkout_started"
    order_completed = "order_completed"
    # An order's current state (Shopify's orders/updated): joins the order the profile holds, the most final state
    # winning (a void seen only here), and is never an order completed for journeys.
    order_updated = "order_updated"
    order_cancelled = "order_cancelled"
    order_refunded = "order_refunded"
    ticket_opened = "ticket_opened"
    ticket_updated = "ticket_updated"
    ticket_solved = "ticket_solved"
    consent_changed = "consent_changed"
    message_received = "message_received"
    message_delivered = "message_delivered"
    message_bounced = "message_bounced"
    message_complained = "message_complained"
    message_opened = "message_opened"
    message_clicked = "message_clicked"
    tracked = "tracked"
    # Store staff or an agent did a next best action a journey left on the profile (`properties.action`: its id).
    next_best_action_done = "next_best_action_done"
    # A CRM deal changed (HubSpot: its stage, amount, owner, line items): `deal` says what.
    deal_updated = "deal_updated"
    # The CRM deleted a record of the customer (a duplicate HubSpot contact): its identifiers are unlinked, the
    # customer stays.
    identifier_removed = "identifier_removed"
    # The customer asked to be forgotten (HubSpot's GDPR delete): the profile function erases them.
    erasure_requested = "erasure_requested"


class Channel(StrEnum):
    web = "web"
    app = "app"
    email = "email"
    sms = "sms"
    push = "push"
    pos = "pos"
    phone = "phone"
    support = "support"
    # The sales CRM (HubSpot): contacts and deals.
    crm = "crm"


class ConsentChannel(StrEnum):
    email = "email"
    sms = "sms"
    push = "push"


class ConsentStatus(StrEnum):
    subscribed = "subscribed"
    unsubscribed = "unsubscribed"
    unknown = "unknown"


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LineItem(Model):
    sku: str
    name: str | None = None
    quantity: int = Field(default=1, ge=0)
    price: Decimal | None = None


class CartChange(Model):
    """`replace` carries the whole cart (Cart Viewed, a checkout); `add`/`remove` one change to it."""

    action: Literal["add", "remove", "replace"]
    items: tuple[LineItem, ...]
    cart_id: str | None = None


class OrderState(StrEnum):
    """Where an order stands. Only placed orders are revenue (less their refunds); test and voided orders are
    not purchases either, while a cancelled or refunded one still tells that the customer chose the product."""

    placed = "placed"
    cancelled = "cancelled"
    voided = "voided"
    test = "test"

    @property
    def is_purchase(self) -> bool:
        """The customer chose these products (the "already bought" rule): cancelled orders too."""
        return self not in (OrderState.test, OrderState.voided)


class Order(Model):
    order_id: str
    total: Decimal
    currency: str
    items: tuple[LineItem, ...]
    location_id: str | None = None
    discount_codes: tuple[str, ...] = ()
    state: OrderState = OrderState.placed

    @property
    def skus(self) -> list[str]:
        return [item.sku for item in self.items]


class Refund(Model):
    """Money given back on an order: revenue less `amount`; the order stays a purchase of its products."""

    refund_id: str
    order_id: str
    amount: Decimal = Field(ge=0)
    currency: str
    skus: tuple[str, ...] = ()


class Ticket(Model):
    ticket_id: str
    subject: str | None = None
    status: str


class DealChange(Model):
    """What one CRM event says of a deal: the properties it set, by the CRM's own names (HubSpot's `dealstage`,
    `amount`...; None: cleared), the line items it associated with the deal or took off it, and the contacts (by the
    CRM's contact id) likewise."""

    deal_id: str
    properties: dict[str, str | None] = Field(default_factory=dict)
    line_items_added: tuple[str, ...] = ()
    line_items_removed: tuple[str, ...] = ()
    contacts_added: tuple[str, ...] = ()
    contacts_removed: tuple[str, ...] = ()


class LineItemChange(Model):
    """What one CRM event says of a line item (a product on a deal): the properties it set (HubSpot's `hs_sku`,
    `name`, `quantity`, `price`)."""

    line_item_id: str
    properties: dict[str, str | None] = Field(default_factory=dict)


class ConsentChange(Model):
    channel: ConsentChannel
    status: ConsentStatus
    # When the customer gave or withdrew it, where the vendor says (Shopify's consent_updated_at): a later
    # sync of an old consent must not undo a newer opt-out. Default: when the event occurred.
    at: AwareDatetime | None = None

    @field_validator("at")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        if value is not None:
            in_utc(value)
        return value


class Message(Model):
    """A message this platform (or the vendor) sent, that delivery feedback refers to."""

    message_id: str
    recipient: str | None = None
    detail: str | None = None
    link: str | None = None
    tags: dict[str, list[str]] = Field(default_factory=dict)


class CanonicalEvent(Model):
    """One thing a customer did or that happened to them, from any channel.

    `event_id` is the source's own id, namespaced by source, and is what duplicates are recognised by.
    """

    schema_: Literal["omnijourney.event/1"] = Field(default="omnijourney.event/1", alias="schema")
    event_id: str = Field(min_length=3, max_length=512)
    source: str
    type: EventType
    name: str = Field(description="The source's own name for it, e.g. 'Product Added' or 'orders/create'")
    channel: Channel
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    identifiers: tuple[Identifier, ...] = ()
    # Alias calls: identifiers the customer was known by before (Segment's previousId).
    previous_ids: tuple[str, ...] = ()
    traits: dict[str, Any] = Field(default_factory=dict)
    timezone: str | None = None
    # The customer's language as a BCP 47 tag ("de-DE"), from what the channel reports; one that is not a language
    # tag is dropped, not refused (devices send "C", "POSIX", "und").
    locale: str | None = None
    cart: CartChange | None = None
    order: Order | None = None
    refund: Refund | None = None
    ticket: Ticket | None = None
    deal: DealChange | None = None
    line_item: LineItemChange | None = None
    consent: tuple[ConsentChange, ...] = ()
    message: Message | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    # The delivery it came in (`correlation_id_of`), to follow one customer's path in logs and traces. Absent on
    # messages queued before it existed: `correlation` derives one from the event itself.
    correlation_id: str | None = Field(default=None, max_length=64)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("occurred_at", "received_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return in_utc(value)

    @field_validator("locale", mode="before")
    @classmethod
    def _language_tag(cls, value: Any) -> str | None:
        return locale_tag(value)

    @field_validator(
        "name", "previous_ids", "timezone", "cart", "order", "refund", "ticket", "deal", "line_item", "message"
    )
    @classmethod
    def _strings_within_budget(cls, value: Any, info: ValidationInfo) -> Any:
        # Checked here, not on each part's model: the sources build the parts themselves, and only the event's
        # errors become a 400 naming the field (stored profiles, which hold these parts too, load as they are).
        if not at_ingest(info):
            return value
        if isinstance(value, CartChange | Order | Refund):
            _check_products(value)
        _walk(value, info.field_name or "", 1)
        return value

    @field_validator("traits", "properties")
    @classmethod
    def _within_budget(cls, bag: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if not at_ingest(info):
            return bag
        check_bag(bag, info.field_name or "")
        if info.field_name == "traits":
            _check_each_trait(bag)
        return bag

    @model_validator(mode="after")
    def _not_far_ahead(self, info: ValidationInfo) -> CanonicalEvent:
        if at_ingest(info) and self.occurred_at > self.received_at + MAX_AHEAD:
            raise PydanticCustomError(
                "timestamp_ahead",
                "occurred_at {occurred_at} is more than {days} days after the event was received",
                {"occurred_at": self.occurred_at.isoformat(), "days": MAX_AHEAD.days},
            )
        return self

    @property
    def correlation(self) -> str:
        """The delivery's correlation id, or (queued before ingest set one) one derived from this event alone."""
        return self.correlation_id or correlation_id_of(self.source, [self.event_id])

    def to_message(self) -> str:
        """The SQS message body."""
        return self.model_dump_json(by_alias=True, exclude_defaults=False)

    @classmethod
    def from_message(cls, body: str) -> CanonicalEvent:
        return cls.model_validate_json(body)


# The limits above are what ingest answers a 4xx for (edge.sources.delivery.canonical_event validates with this
# context). A queued message was accepted under the limits of its day: read back (from_message), it is applied
# as it is, not refused by a limit added since, which would quarantine what was answered 2xx.
AT_INGEST = {"at_ingest": True}


def at_ingest(info: ValidationInfo) -> bool:
    return bool((info.context or {}).get("at_ingest"))


def event_digest(event_id: str) -> str:
    """An event's id as what erasure cannot reach holds it (Step Functions inputs and history, analytics facts): a
    digest, as ids may carry identifiers (a Shopify customer id, an SES recipient's address)."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:32]


def correlation_id_of(source: str, event_ids: Iterable[str]) -> str:
    """One delivery's correlation id: a digest of its source and its events' ids, so the vendor's resend of the same
    delivery gets the same id, and it holds nothing personal (ids are hashed, never shown)."""
    digest = hashlib.sha256("\n".join((source, *event_ids)).encode()).hexdigest()[:20]
    return f"{source[:20]}-{digest}"


# language[-Script][-REGION] of BCP 47 (a region is two letters or three digits); what follows (variants, extensions,
# "@calendar=...") says nothing templates or formats choose by.
_LANGUAGE_TAG = re.compile(r"([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|[0-9]{3}))?(?:[-@.].*)?", re.IGNORECASE)
NOT_A_LANGUAGE = {"und", "root", "mul", "zxx"}


def locale_tag(value: object) -> str | None:
    """A locale as devices and shops send it ("de_DE", "de-de", "en-US-POSIX", "zh_Hant_TW") as the BCP 47 tag
    templates are chosen by ("de-DE", "en-US", "zh-Hant-TW"), else None. Syntax only: Babel, which knows which
    languages exist, is too heavy for the ingest function; render falls back where it knows none."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE_TAG.fullmatch(value.strip().replace("_", "-"))
    if match is None or match.group(1).lower() in NOT_A_LANGUAGE:
        return None
    language, script, region = match.groups()
    parts = [language.lower(), script.title() if script else None, region.upper() if region else None]
    return "-".join(part for part in parts if part)


def in_utc(value: datetime) -> datetime:
    """The instant in UTC, from 2000-01-01 on: year 1 or 9999 (which overflows with a negative offset) is refused."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or utc < EARLIEST:
        raise PydanticCustomError("timestamp_range", "{value} " + OUT_OF_RANGE, {"value": value.isoformat()})
    return utc


def check_bag(bag: dict[str, Any], name: str) -> None:
    """Traits or properties within their budget: keys, serialised size, nesting depth, string length, valid Unicode.

    The serialised form is checked first (in C, and it finds deep nesting, NaN and lone surrogates on the way); the
    values are walked only when that cannot rule out a too deep or too long value."""
    if len(bag) > MAX_BAG_KEYS:
        raise _over_budget(f"has {len(bag)} keys; at most {MAX_BAG_KEYS} are kept")
    try:
        serialised = json.dumps(bag, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except RecursionError as error:
        raise _over_budget(f"nests deeper than {MAX_JSON_DEPTH} levels") from error
    except UnicodeEncodeError as error:
        raise _over_budget("holds invalid Unicode (a lone surrogate)") from error
    except (TypeError, ValueError) as error:  # NaN or Infinity, or what JSON cannot hold
        raise _over_budget(f"is not JSON: {error}") from error
    if len(serialised) > MAX_BAG_BYTES:
        raise _over_budget(f"is {len(serialised)} bytes as JSON; at most {MAX_BAG_BYTES} are accepted")
    if serialised.count(b"{") + serialised.count(b"[") > MAX_JSON_DEPTH or len(serialised) > MAX_STRING_CHARS:
        _walk(bag, name, 1)


def _check_each_trait(traits: dict[str, Any]) -> None:
    """Each trait within what the profile keeps of one (`TRAIT_BUDGET_BYTES`, measured as the profile measures it):
    a bigger one would be answered 2xx here and dropped there."""
    for key, value in traits.items():
        size = len(to_json({key: value}, fallback=str))
        if size > TRAIT_BUDGET_BYTES:
            reason = f"is {size} bytes as JSON; a profile keeps one trait of at most {TRAIT_BUDGET_BYTES}"
            raise _refused_at((key,), value, reason)


def _check_products(part: CartChange | Order | Refund) -> None:
    """SKUs and product names at most MAX_PRODUCT_CHARS, each named by its place (`order.items.0.sku`)."""
    named: list[tuple[tuple[str | int, ...], str | None]]
    if isinstance(part, Refund):
        named = [(("skus", index), sku) for index, sku in enumerate(part.skus)]
    else:
        named = [
            (("items", index, field), text)
            for index, item in enumerate(part.items)
            for field, text in (("sku", item.sku), ("name", item.name))
        ]
    for where, text in named:
        if text is not None and len(text) > MAX_PRODUCT_CHARS:
            reason = f"is {len(text)} characters; a SKU or product name may have at most {MAX_PRODUCT_CHARS}"
            raise _refused_at(where, text, reason)


def _refused_at(where: tuple[str | int, ...], value: Any, reason: str) -> ValidationError:
    """An over-budget error at `where` inside the field being validated (pydantic prefixes the field's name), so
    the 400 names the trait or the line at fault, not only the field."""
    return ValidationError.from_exception_data(
        "CanonicalEvent", [InitErrorDetails(type=_over_budget(reason), loc=where, input=value)]
    )


def _walk(value: Any, where: str, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise _over_budget(f"nests deeper than {MAX_JSON_DEPTH} levels at {where}")
    if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
        raise _over_budget(f"{where} is a string of {len(value)} characters; at most {MAX_STRING_CHARS} are accepted")
    if isinstance(value, BaseModel):
        value = vars(value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list | tuple) else ()
    for key, item in items:
        _walk(item, f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]", depth + 1)


def _over_budget(reason: str) -> PydanticCustomError:
    return PydanticCustomError("over_budget", reason)
