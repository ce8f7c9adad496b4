"""Shopify webhooks: orders (web, app and Shopify POS), checkouts and customers.

Signed with X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(app secret, body); the topic is X-Shopify-Topic.
Event ids come from the body (resource id and its updated_at), so a resent webhook is recognised
even when its X-Shopify-Webhook-Id differs, and an order is counted once however often it arrives.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omnijourney.errors import MalformedPayload
from omnijourney.events import (
    CanonicalEvent,
    CartChange,
    Channel,
    ConsentChange,
    ConsentChannel,
    ConsentStatus,
    EventType,
    LineItem,
    Order,
)
from omnijourney.identifiers import Identifier, identifiers_from
from omnijourney.sources.delivery import (
    Delivery,
    as_decimal,
    as_object,
    as_text,
    as_timestamp,
    b64,
    canonical_event,
    hmac_digest,
    load_json,
    require,
    require_signature,
)

TOPICS = ("orders/create", "checkouts/create", "checkouts/update", "customers/create", "customers/update")
# Shopify's order `source_name`: where the sale happened.
_ORDER_CHANNELS = {
    "pos": Channel.pos,
    "iphone": Channel.app,
    "android": Channel.app,
    "shopify_draft_order": Channel.phone,
}
_CONSENT_STATES = {
    "subscribed": ConsentStatus.subscribed,
    "unsubscribed": ConsentStatus.unsubscribed,
    "redacted": ConsentStatus.unsubscribed,
}
# Loyalty ids are kept as a customer tag `loyalty:<id>` (Shopify has no loyalty field of its own).
LOYALTY_TAG = "loyalty:"


class ShopifySource:
    name = "shopify"
    webhook = True
    header = "X-Shopify-Hmac-Sha256"

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        return {self.header: b64(hmac_digest("sha256", secret, delivery.body))}

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        require_signature(delivery.header(self.header), self.sign(delivery, secret, now)[self.header], self.header)

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        topic = delivery.header("X-Shopify-Topic")
        if not topic:
            raise MalformedPayload("the X-Shopify-Topic header is required", field="X-Shopify-Topic")
        if topic not in TOPICS:
            raise MalformedPayload(
                f"topic {topic!r} is not supported; subscribe only to {', '.join(TOPICS)}",
                field="X-Shopify-Topic",
            )
        payload = as_object(load_json(delivery.body), "body")
        resource, _ = topic.split("/")
        fields: dict[str, Any] = {"source": self.name, "name": topic, "received_at": delivery.received_at}
        if resource == "orders":
            return [canonical_event(**fields, **_order(payload, delivery))]
        if resource == "checkouts":
            return [canonical_event(**fields, **_checkout(payload, topic, delivery))]
        return [canonical_event(**fields, **_customer(payload, topic, delivery))]


def _people(payload: dict[str, Any]) -> list[Identifier]:
    customer = payload.get("customer") or {}
    billing = payload.get("billing_address") or {}
    return identifiers_from(
        shopify_customer_id=customer.get("id"),
        email=payload.get("email") or payload.get("contact_email") or customer.get("email"),
        phone=payload.get("phone") or customer.get("phone") or billing.get("phone"),
    )


def _line_items(payload: dict[str, Any]) -> tuple[LineItem, ...]:
    items = []
    for index, raw in enumerate(payload.get("line_items") or []):
        line = as_object(raw, f"line_items[{index}]")
        sku = line.get("sku") or (f"variant-{line['variant_id']}" if line.get("variant_id") else None)
        if not sku:
            raise MalformedPayload(f"line_items[{index}].sku is required", field=f"line_items[{index}].sku")
        items.append(
            LineItem(
                sku=str(sku),
                name=as_text(line.get("title") or line.get("name")),
                quantity=int(line.get("quantity") or 1),
                price=as_decimal(line.get("price"), f"line_items[{index}].price"),
            )
        )
    return tuple(items)


def _order(payload: dict[str, Any], delivery: Delivery) -> dict[str, Any]:
    order_id = require(payload, "id")
    return {
        "event_id": f"shopify:orders/create:{order_id}",
        "type": EventType.order_completed,
        "channel": _ORDER_CHANNELS.get(str(payload.get("source_name")), Channel.web),
        "occurred_at": as_timestamp(payload.get("created_at"), "created_at", delivery.received_at),
        "identifiers": _people(payload),
        "order": Order(
            order_id=str(order_id),
            total=as_decimal(require(payload, "total_price"), "total_price") or 0,
            currency=str(require(payload, "currency")).upper(),
            items=_line_items(payload),
            location_id=as_text(payload.get("location_id")),
        ),
        "properties": {
            "order_name": payload.get("name"),
            "discount_codes": [
                code.get("code") for code in payload.get("discount_codes") or [] if isinstance(code, dict)
            ],
        },
    }


def _checkout(payload: dict[str, Any], topic: str, delivery: Delivery) -> dict[str, Any]:
    token = require(payload, "token")
    updated_at = payload.get("updated_at") or payload.get("created_at")
    return {
        "event_id": f"shopify:{topic}:{token}:{updated_at}",
        "type": EventType.checkout_started if topic == "checkouts/create" else EventType.cart_updated,
        "channel": Channel.web,
        "occurred_at": as_timestamp(updated_at, "updated_at", delivery.received_at),
        "identifiers": _people(payload),
        "cart": CartChange(
            action="replace",
            items=_line_items(payload),
            cart_id=as_text(payload.get("cart_token")) or str(token),
        ),
        "properties": {
            "abandoned_checkout_url": payload.get("abandoned_checkout_url"),
            "total_price": payload.get("total_price"),
        },
    }


def _customer(payload: dict[str, Any], topic: str, delivery: Delivery) -> dict[str, Any]:
    customer_id = require(payload, "id")
    updated_at = payload.get("updated_at") or payload.get("created_at")
    tags = [tag.strip() for tag in str(payload.get("tags") or "").split(",") if tag.strip()]
    loyalty = next((tag.removeprefix(LOYALTY_TAG) for tag in tags if tag.startswith(LOYALTY_TAG)), None)
    consent = []
    for channel, key in (
        (ConsentChannel.email, "email_marketing_consent"),
        (ConsentChannel.sms, "sms_marketing_consent"),
    ):
        state = _CONSENT_STATES.get(str((payload.get(key) or {}).get("state")))
        if state is not None:
            consent.append(ConsentChange(channel=channel, status=state))
    return {
        "event_id": f"shopify:{topic}:{customer_id}:{updated_at}",
        "type": EventType.identify,
        "channel": Channel.web,
        "occurred_at": as_timestamp(updated_at, "updated_at", delivery.received_at),
        "identifiers": identifiers_from(
            shopify_customer_id=customer_id,
            email=payload.get("email"),
            phone=payload.get("phone"),
            loyalty_id=loyalty,
        ),
        "traits": {key: payload[key] for key in ("first_name", "last_name") if payload.get(key)}
        | ({"tags": tags} if tags else {}),
        "consent": tuple(consent),
    }


SOURCE = ShopifySource()
