"""The profile as store staff, agents and the profile API see it (the contract in shared/scenario-format.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from omnijourney.events import ConsentChannel
from omnijourney.identifiers import LINK_ONLY, IdentifierKind
from omnijourney.profiles.lifecycle import LifecycleConfig
from omnijourney.profiles.model import Deal, DealLineItem, Profile, discount_parts
from omnijourney.profiles.store import HistoryRecord


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def name_of(profile: Profile) -> dict[str, Any]:
    """The customer's first and last name, from the traits the channels sent (snake or camel case)."""
    traits = profile.traits
    return {
        "first_name": traits.get("first_name") or traits.get("firstName"),
        "last_name": traits.get("last_name") or traits.get("lastName"),
    }


# The stage HubSpot's default pipeline closes a lost deal in. A custom pipeline's lost stage is an id, and HubSpot's
# `hs_is_closed` is not subscribed: such a deal reads as open until it is won (docs/profile-api.md, "Deals").
LOST_STAGE = "closedlost"


def _decimal(value: str | None) -> float | int | None:
    """A CRM number as the view shows amounts (the HubSpot source keeps numbers as decimal text)."""
    return _number(Decimal(value)) if value is not None else None


def deal_status(deal: Deal) -> str:
    """open, won or lost."""
    if deal.is_won:
        return "won"
    return "lost" if deal.stage == LOST_STAGE else "open"


def _line_item(line_item_id: str, known: dict[str, DealLineItem]) -> dict[str, Any]:
    """A line item on a deal; one whose properties have not arrived yet is listed by its id alone."""
    properties = known[line_item_id].properties if line_item_id in known else {}
    return {
        "line_item_id": line_item_id,
        "sku": properties.get("hs_sku"),
        "name": properties.get("name"),
        "quantity": _decimal(properties.get("quantity")),
        "price": _decimal(properties.get("price")),
    }


def _associated_at(profile: Profile, deal: Deal) -> str | None:
    association = profile.association_with(deal)
    return association[0].isoformat() if association else None


def deals_of(profile: Profile) -> list[dict[str, Any]]:
    """The customer's deals in the CRM: open ones first, then the won and lost, each newest (first seen) first; a deal
    deleted in the CRM is not shown."""
    line_items = {item.line_item_id: item for item in profile.deal_line_items}
    newest_first = [deal for deal in reversed(profile.own_deals) if not deal.is_archived]  # kept oldest first
    deals = sorted(newest_first, key=lambda deal: deal_status(deal) != "open")
    return [
        {
            "deal_id": deal.deal_id,
            "name": deal.properties.get("dealname"),
            "stage": deal.stage,
            "status": deal_status(deal),
            "amount": _number(deal.amount),
            "currency": deal.currency,
            "close_date": deal.properties.get("closedate"),
            "owner": deal.properties.get("hubspot_owner_id"),
            "line_items": [_line_item(item, line_items) for item in deal.line_item_ids],
            # Since when the deal is the customer's: its amount counts for whoever has it longest (the report's CLV).
            "associated_at": _associated_at(profile, deal),
        }
        for deal in deals
    ]


# What staff are told of a message the ledger could not confirm (docs/operations.md, "Sends").
UNCONFIRMED = "This message may or may not have reached the customer: the provider never confirmed it."


def profile_view(
    profile: Profile,
    lifecycle: LifecycleConfig,
    at: datetime,
    activity: list[HistoryRecord] | None = None,
    pending_messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`pending_messages`, when given, are the ledger's unconfirmed sends (runtime.ledger.unconfirmed, each
    `as_pending()`): listed for staff, each with what it means."""
    cart = profile.cart
    view: dict[str, Any] = {
        "customer_id": profile.customer_id,
        **name_of(profile),
        # Every listed kind, empty or not; link-only kinds are never listed (the filter keeps their empty list out).
        "identifiers": {
            kind.value: list(profile.identifiers.get(kind, ())) for kind in IdentifierKind if kind not in LINK_ONLY
        },
        # Stages that depend on time passing (at risk, lapsed) are as of now, not as of the last event.
        "lifecycle_stage": lifecycle.stage_of(profile, at),
        # The shared segments the customer is in (config/segments.yaml), as last evaluated: on their latest event, and
        # once a day in their timezone for the segments time alone changes.
        "segments": sorted(profile.segments),
        "timezone": profile.timezone,
        "locale": profile.locale,
        "consent": {channel.value: profile.consent_status(channel).value for channel in ConsentChannel},
        "cart": None
        if cart is None or not cart.items
        else {
            "items": [
                {"sku": item.sku, "name": item.name, "quantity": item.quantity, "price": _number(item.price)}
                for item in cart.items
            ],
            "channel": cart.channel.value if cart.channel else None,
            "updated_at": cart.updated_at.isoformat() if cart.updated_at else None,
        },
        "orders": [
            {
                "order_id": order.order_id,
                "channel": order.channel.value,
                "at": order.at.isoformat(),
                "total": _number(order.total),
                "currency": order.currency,
                "skus": list(order.skus),
                "discount_codes": list(order.discount_codes),
                "state": order.state.value,
                "refunded": _number(order.refunded),
            }
            for order in profile.orders
        ],
        "open_tickets": [
            {
                "ticket_id": ticket.ticket_id,
                "subject": ticket.subject,
                "opened_at": ticket.opened_at.isoformat(),
            }
            for ticket in profile.open_tickets
        ],
        "deals": deals_of(profile),
        "tags": list(profile.tags),
        # The same code and price whichever channel the customer comes back on.
        "offers": [
            {
                "code": offer.code,
                "offer": offer.offer,
                "discount": offer.discount,
                **discount_parts(offer.discount),
                "skus": list(offer.skus),
                "issued_at": offer.issued_at.isoformat(),
                "expires_at": offer.expires_at.isoformat(),
                "issued_by": offer.issued_by,
                "status": offer.status_at(at),
                "redeemed_at": offer.redeemed_at.isoformat() if offer.redeemed_at else None,
            }
            for offer in profile.offers
        ],
        # What journeys asked store staff and agents to do next ("continue where you left off"), but what they did.
        "next_best_actions": [
            {
                "action_id": note.action_id,
                "channel": note.channel,
                "text": note.text,
                "journey": note.journey,
                "at": note.at.isoformat(),
            }
            for note in profile.next_best_actions
        ],
    }
    if activity is not None:
        view["recent_activity"] = [
            {
                "at": entry.entry.split("#", 1)[0],
                "type": entry.event_type,
                "name": entry.name,
                "channel": entry.channel,
            }
            for entry in activity
        ]
    if pending_messages is not None:
        view["pending_messages"] = [message | {"note": UNCONFIRMED} for message in pending_messages]
    return view
