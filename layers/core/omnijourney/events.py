"""The canonical event: every channel's payload is parsed into this, and nothing else crosses into the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from omnijourney.identifiers import Identifier

SCHEMA = "omnijourney.event/1"


class EventType(StrEnum):
    identify = "identify"
    alias = "alias"
    page_viewed = "page_viewed"
    product_viewed = "product_viewed"
    cart_updated = "cart_updated"
    checkout_started = "checkout_started"
    order_completed = "order_completed"
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


class Channel(StrEnum):
    web = "web"
    app = "app"
    email = "email"
    sms = "sms"
    push = "push"
    pos = "pos"
    phone = "phone"
    support = "support"


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


class Order(Model):
    order_id: str
    total: Decimal
    currency: str
    items: tuple[LineItem, ...]
    location_id: str | None = None
    discount_codes: tuple[str, ...] = ()

    @property
    def skus(self) -> list[str]:
        return [item.sku for item in self.items]


class Ticket(Model):
    ticket_id: str
    subject: str | None = None
    status: str


class ConsentChange(Model):
    channel: ConsentChannel
    status: ConsentStatus
    # When the customer gave or withdrew it, where the vendor says (Shopify's consent_updated_at): a later
    # sync of an old consent must not undo a newer opt-out. Default: when the event occurred.
    at: AwareDatetime | None = None


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
    cart: CartChange | None = None
    order: Order | None = None
    ticket: Ticket | None = None
    consent: tuple[ConsentChange, ...] = ()
    message: Message | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("occurred_at", "received_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def to_message(self) -> str:
        """The SQS message body."""
        return self.model_dump_json(by_alias=True, exclude_defaults=False)

    @classmethod
    def from_message(cls, body: str) -> CanonicalEvent:
        return cls.model_validate_json(body)
