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


class PendingMessage(Body):
    """A send no provider confirmed (docs/operations.md, "Sends"): it may or may not have reached the customer."""

    at: str = Field(description="When it was claimed, just before the provider was called")
    channel: str = Field(examples=["email"])
    journey: str
    step: str
    template: str
    note: str = Field(description="What it means, in words for staff")


class DealLineItem(Body):
    line_item_id: str
    sku: str | None
    name: str | None
    quantity: float | None
    price: float | None = Field(description="Per unit, in the deal's currency")


class Deal(Body):
    """A sales deal in the CRM (HubSpot), as its latest events left it; null where a property never arrived."""

    deal_id: str
    name: str | None = Field(examples=["Trail running kit for the club"])
    stage: str | None = Field(
        description="The pipeline's stage id, e.g. HubSpot's contractsent", examples=["contractsent"]
    )
    status: str = Field(description="open, won or lost (lost: the default pipeline's closedlost only)")
    amount: float | None
    currency: str | None = Field(description="ISO 4217; null: the CRM's company currency")
    close_date: str | None
    owner: str | None = Field(description="The deal owner's HubSpot id (hubspot_owner_id)")
    line_items: list[DealLineItem]
    associated_at: str | None = Field(
        description="When the deal was associated with the customer (its amount counts for whoever has it longest)"
    )


class SalesTask(Body):
    """A task a journey created in HubSpot for the contact's owner; whether sales did it, HubSpot says."""

    at: str = Field(description="When the journey created it")
    journey: str
    step: str
    template: str
    subject: str | None = Field(description="Its title as HubSpot shows it")
    owner: str | None = Field(description="The contact's owner now (hubspot_owner_id); null: unassigned")


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
    deals: list[Deal] = Field(description="Open deals first, then won and lost, each newest first")
    tags: list[str]
    offers: list[Offer] = Field(description="Offers issued to the customer, the same on every channel")
    next_best_actions: list[NextBestAction]
    recent_activity: list[Activity] = Field(description="The newest events, newest first")
    pending_messages: list[PendingMessage] = Field(
        description="Sends no provider confirmed: SES's record of an email confirms it; SMS and push stay listed"
    )
    sales_tasks: list[SalesTask] = Field(
        description="Tasks journeys created in HubSpot in the last 30 days, newest first"
    )


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
