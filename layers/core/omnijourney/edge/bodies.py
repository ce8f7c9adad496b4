"""The JSON bodies of the HTTP API, as pydantic models: the handlers' `responses=` name them, so the OpenAPI
document (`omnijourney serve` serves it at /openapi.json) is generated from the routes themselves.

They describe what the domain returns; they are not used to build it. The e2e schemathesis test checks every
answer against them, so a change to a body that is not reflected here fails there. Objects allow properties
beyond those listed: a client must ignore what it does not know.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnijourney.events import Channel, ConsentStatus, OrderState


class Body(BaseModel):
    # Only the OpenAPI document builds their schemas: a function's cold start need not.
    model_config = ConfigDict(extra="allow", defer_build=True)


class Problem(Body):
    """RFC 9457 problem details: every error answer of the API."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Bad or missing signature"])
    status: int = Field(examples=[401])
    detail: str = Field(examples=["the X-Shopify-Hmac-Sha256 header does not match the body"])
    field: str | None = Field(default=None, description="The header, parameter or body field at fault")
    quarantine_id: str | None = Field(
        default=None, description="A signed delivery that could not be parsed is kept under this key to be replayed"
    )


class Accepted(Body):
    """A delivery verified, parsed and queued; the profiles are updated from the queue."""

    accepted: int = Field(description="How many events the delivery held")
    event_ids: list[str] = Field(
        description="Their ids, derived from the vendor's own ids: a resent delivery repeats them"
    )


class TrackingAccepted(Accepted):
    """Segment's Tracking API answer (`success`), with what was queued."""

    success: bool = True


class CartItem(Body):
    sku: str
    name: str | None
    quantity: int
    price: float | None


class Cart(Body):
    items: list[CartItem]
    channel: Channel | None = Field(description="Where it was last changed; null for a cart stored without it")
    updated_at: str | None


class OrderSummary(Body):
    order_id: str
    channel: Channel
    at: str
    total: float | None
    currency: str
    skus: list[str]
    state: OrderState = Field(description="placed, cancelled, voided or test: only placed orders are revenue")
    refunded: float = Field(description="The sum of the order's refunds; its revenue is total less refunded")


class OpenTicket(Body):
    ticket_id: str
    subject: str | None
    opened_at: str


class Offer(Body):
    code: str = Field(examples=["CAREKIT-4F2A9C"])
    offer: str = Field(description="Its name in config/offers.yaml")
    discount: str = Field(examples=["5 EUR off", "10% off"])
    percent_off: int | None = Field(description="The discount as a percentage, or null for an amount off")
    amount_off: float | None = Field(description="The discount as an amount in `currency`, or null for a percentage")
    currency: str | None
    skus: list[str] = Field(description="The products it covers")
    issued_at: str
    expires_at: str
    issued_by: str
    status: str = Field(description="live, redeemed or expired")
    redeemed_at: str | None


class NextBestAction(Body):
    action_id: str = Field(description="What POST /profiles/{customer_id}/actions/{action_id}/done marks done")
    channel: str
    text: str
    journey: str
    at: str


class Activity(Body):
    at: str
    type: str
    name: str
    channel: str


class ProfileView(Body):
    """One customer across every channel, as store staff, agents and journeys see them now."""

    customer_id: str = Field(examples=["cus_a14367a1756351d4aeae"])
    first_name: str | None = Field(description="As the channels last sent it; a name links nobody")
    last_name: str | None
    identifiers: dict[str, list[str]] = Field(description="Every identifier, by kind (email, phone, loyalty_id, …)")
    lifecycle_stage: str
    timezone: str | None
    consent: dict[str, ConsentStatus] = Field(description="Per channel: email, sms, push")
    cart: Cart | None
    orders: list[OrderSummary]
    open_tickets: list[OpenTicket]
    tags: list[str]
    offers: list[Offer] = Field(description="Offers issued to the customer, the same on every channel")
    next_best_actions: list[NextBestAction]
    recent_activity: list[Activity] = Field(description="The newest events, newest first")


class Erased(Body):
    erased: list[str] = Field(description="The customer ids erased: the customer and everyone merged into them")


class NamedCustomer(Body):
    customer_id: str
    first_name: str | None
    last_name: str | None
    lifecycle_stage: str
    identifiers: dict[str, list[str]] = Field(description="phone, email and loyalty_id: to tell namesakes apart")


class NamedCustomers(Body):
    customers: list[NamedCustomer]


class StaffSearch(BaseModel):
    """How staff find a customer: exactly one of phone, email and loyalty id, or a first and last name. Sent as a
    body, never a query string, so no phone or email lands in an access log or a browser's history."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    phone: str | None = Field(default=None, description="Any spelling; read as E.164", max_length=256)
    email: str | None = Field(default=None, max_length=256)
    loyalty_id: str | None = Field(default=None, max_length=256)
    first_name: str | None = Field(default=None, description="Case and accents do not matter", max_length=256)
    last_name: str | None = Field(default=None, max_length=256)


class ActionDone(Body):
    event_id: str = Field(description="The queued event; marking the same action again queues the same id")
