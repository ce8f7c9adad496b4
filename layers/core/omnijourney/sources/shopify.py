"""Shopify webhooks: orders (web, app and Shopify POS), checkouts and customers.

Signed with X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(app secret, body); the topic is X-Shopify-Topic.
Event ids come from the body (resource id and its updated_at), so a resent webhook is recognised
even when its X-Shopify-Webhook-Id differs, and an order is counted once however often it arrives.
Whatever in a signed body cannot be read is a MalformedPayload naming the field, so it is quarantined.
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
    as_list,
    as_object,
    as_quantity,
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
# The same on every retry of one event: what tells deliveries apart when the body has no timestamp.
EVENT_ID_HEADER = "X-Shopify-Event-Id"


class ShopifySource:
    name = "shopify"
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
    customer = as_object(payload.get("customer") or {}, "customer")
    billing = as_object(payload.get("billing_address") or {}, "billing_address")
    return identifiers_from(
        shopify_customer_id=customer.get("id"),
        email=payload.get("email") or payload.get("contact_email") or customer.get("email"),
        phone=payload.get("phone") or customer.get("phone") or billing.get("phone"),
    )


def _line_items(payload: dict[str, Any]) -> tuple[LineItem, ...]:
    lines = as_list(payload.get("line_items"), "line_items")
    items = (_line_item(as_object(line, f"line_items[{i}]"), f"line_items[{i}].") for i, line in enumerate(lines))
    # A line of quantity 0 holds nothing: it is left out, so it neither shows in a cart nor takes an item
    # out of the cart as bought.
    return tuple(item for item in items if item.quantity > 0)


def _line_item(line: dict[str, Any], where: str) -> LineItem:
    return LineItem(
        sku=_product_key(line, where),
        name=as_text(line.get("title") or line.get("name")),
        quantity=as_quantity(line.get("quantity", 1), f"{where}quantity"),
        price=as_decimal(line.get("price"), f"{where}price"),
    )


def _product_key(line: dict[str, Any], where: str) -> str:
    """The SKU, else the variant. A POS custom sale has neither (no product behind it), so its own line
    stands in: the key is stable for every delivery of the order, and the sale and its total are kept."""
    if line.get("sku"):
        return str(line["sku"])
    if line.get("variant_id"):
        return f"variant-{line['variant_id']}"
    # Order lines have an `id`; checkout lines a `key`.
    line_id = line.get("id") or line.get("key")
    if line_id:
        return f"custom-{line_id}"
    raise MalformedPayload(f"{where}sku, variant_id or id is required", field=f"{where}sku")


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
            discount_codes=tuple(
                str(code["code"])
                for code in as_list(payload.get("discount_codes"), "discount_codes")
                if isinstance(code, dict) and code.get("code")
            ),
        ),
        "properties": {"order_name": payload.get("name")},
    }


def _checkout(payload: dict[str, Any], topic: str, delivery: Delivery) -> dict[str, Any]:
    token = require(payload, "token")
    fields: dict[str, Any] = {
        "event_id": f"shopify:{topic}:{token}:{_version(payload, delivery)}",
        "channel": Channel.web,
        "occurred_at": as_timestamp(_changed_at(payload), "updated_at", delivery.received_at),
        "identifiers": _people(payload),
    }
    properties = {
        "abandoned_checkout_url": payload.get("abandoned_checkout_url"),
        "total_price": payload.get("total_price"),
    }
    if payload.get("completed_at"):
        # The checkout has become an order, and the order takes what was bought out of the cart. Its line
        # items as a cart (Shopify sends this update as the checkout completes, often after the order)
        # would put them back, so a completed checkout changes no cart.
        return fields | {
            "type": EventType.tracked,
            "properties": properties | {"completed_at": payload["completed_at"]},
        }
    return fields | {
        "type": EventType.checkout_started if topic == "checkouts/create" else EventType.cart_updated,
        "cart": CartChange(
            action="replace",
            items=_line_items(payload),
            cart_id=as_text(payload.get("cart_token")) or str(token),
        ),
        "properties": properties,
    }


def _customer(payload: dict[str, Any], topic: str, delivery: Delivery) -> dict[str, Any]:
    customer_id = require(payload, "id")
    tags = [tag.strip() for tag in str(payload.get("tags") or "").split(",") if tag.strip()]
    loyalty = next((tag.removeprefix(LOYALTY_TAG) for tag in tags if tag.startswith(LOYALTY_TAG)), None)
    consent = []
    for channel, key in (
        (ConsentChannel.email, "email_marketing_consent"),
        (ConsentChannel.sms, "sms_marketing_consent"),
    ):
        given = as_object(payload.get(key) or {}, key)
        state = _CONSENT_STATES.get(str(given.get("state")))
        if state is not None:
            updated = given.get("consent_updated_at")
            at = as_timestamp(updated, f"{key}.consent_updated_at", delivery.received_at) if updated else None
            consent.append(ConsentChange(channel=channel, status=state, at=at))
    return {
        "event_id": f"shopify:{topic}:{customer_id}:{_version(payload, delivery)}",
        "type": EventType.identify,
        "channel": Channel.web,
        "occurred_at": as_timestamp(_changed_at(payload), "updated_at", delivery.received_at),
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


def _changed_at(payload: dict[str, Any]) -> Any:
    """When a checkout or customer last changed, as Shopify wrote it."""
    return payload.get("updated_at") or payload.get("created_at")


def _version(payload: dict[str, Any], delivery: Delivery) -> str:
    """What tells one state of a checkout or customer from the next in its event id: when it changed. A
    body without a timestamp falls back to Shopify's event id, else to the body's hash: both are the same
    when the delivery is retried, and differ for the next change."""
    changed_at = _changed_at(payload)
    if changed_at:
        return str(changed_at)
    event_id = delivery.header(EVENT_ID_HEADER)
    return f"event-{event_id}" if event_id else f"body-{delivery.fingerprint}"


SOURCE = ShopifySource()
