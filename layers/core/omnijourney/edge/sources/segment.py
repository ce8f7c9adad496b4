"""Segment: the tracking spec (identify, track, page, screen, group, alias; single or batch).

Signed as Segment's webhooks destination does: X-Signature = hex HMAC-SHA1(shared secret, body).
Duplicates are recognised by `messageId`, which Segment itself dedupes on.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from omnijourney.edge.sources.delivery import (
    Delivery,
    as_decimal,
    as_object,
    as_quantity,
    as_text,
    as_timestamp,
    canonical_event,
    hmac_digest,
    load_json,
    require,
    require_signature,
)
from omnijourney.events import CanonicalEvent, CartChange, Channel, EventType, LineItem, Order
from omnijourney.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    as_region,
    identifiers_from,
    region_of_locale,
)
from omnijourney.platform.errors import MalformedPayload, PayloadTooLarge

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 32 * 1024
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
APP_LIBRARIES = ("ios", "android", "react-native", "swift", "kotlin", "flutter")

# E-commerce spec v2 events that change what the profile knows, and how.
_CART_ACTIONS = {"Product Added": "add", "Product Removed": "remove", "Cart Viewed": "replace"}


class SegmentSource:
    name = "segment"
    header = "X-Signature"

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        return {self.header: hmac_digest("sha1", secret, delivery.body).hex()}

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        require_signature(delivery.header(self.header), self.sign(delivery, secret, now)[self.header], self.header)

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        payload = as_object(load_json(delivery.body), "body")
        if "batch" not in payload:
            return [self._message(payload, delivery, "")]
        batch = payload["batch"]
        if not isinstance(batch, list) or not batch:
            raise MalformedPayload("batch must be a non-empty list of messages", field="batch")
        shared_context = payload.get("context") or {}
        events = []
        for index, item in enumerate(batch):
            message = as_object(item, f"batch[{index}]")
            if shared_context and "context" not in message:
                message = {**message, "context": shared_context}
            events.append(self._message(message, delivery, f"batch[{index}]."))
        return events

    def _message(self, message: dict[str, Any], delivery: Delivery, where: str) -> CanonicalEvent:
        if len(json.dumps(message, separators=(",", ":"))) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"a Segment message may be at most 32 KB ({where or 'body'})", field=where or None)
        kind = require(message, "type", where)
        if kind not in MESSAGE_TYPES:
            raise MalformedPayload(
                f"{where}type must be one of {', '.join(MESSAGE_TYPES)}, not {kind!r}", field=f"{where}type"
            )
        message_id = require(message, "messageId", where)
        context = as_object(message.get("context") or {}, f"{where}context")
        traits = {
            **as_object(context.get("traits") or {}, f"{where}context.traits"),
            **as_object(message.get("traits") or {}, f"{where}traits"),
        }
        properties = as_object(message.get("properties") or {}, f"{where}properties")
        own_keys = _own_keys(message, where)
        # A national-format phone in the traits is read in the country the device reports, else the locale's.
        region = as_region(_field(context, "location", "country")) or region_of_locale(context.get("locale"))
        fields: dict[str, Any] = {
            "event_id": f"segment:{message_id}",
            "source": self.name,
            "channel": _channel(kind, context),
            "occurred_at": as_timestamp(
                message.get("timestamp") or message.get("originalTimestamp"),
                f"{where}timestamp",
                delivery.received_at,
            ),
            "received_at": delivery.received_at,
            "identifiers": [
                *own_keys,
                *identifiers_from(
                    region=region,
                    email=traits.get("email"),
                    phone=traits.get("phone"),
                    loyalty_id=traits.get("loyalty_id"),
                ),
            ],
            "timezone": as_text(context.get("timezone")),
            # The device's language ("de-DE"): which language of a template the customer reads.
            "locale": context.get("locale"),
            "traits": {key: value for key, value in traits.items() if key not in ("email", "phone", "loyalty_id")},
        }
        if kind == "track":
            return canonical_event(within=where, **fields, **_track(message, properties, where))
        if kind == "alias":
            previous = Identifier.required(
                IdentifierKind.user_id, require(message, "previousId", where), f"{where}previousId"
            )
            return canonical_event(
                within=where, **fields, type=EventType.alias, name="alias", previous_ids=(previous.value,)
            )
        name = str(message.get("name") or kind)
        event_type = {"identify": EventType.identify, "group": EventType.tracked}.get(kind, EventType.page_viewed)
        return canonical_event(within=where, **fields, type=event_type, name=name, properties=properties)


def _own_keys(message: dict[str, Any], where: str) -> list[Identifier]:
    """The message's valid own keys. One that is refused (a server-side SDK's placeholder userId "unknown") is
    dropped and logged, never linked, and the message applies under the other: a 400 would refuse the whole batch,
    every other user's messages with it, and server-side SDKs do not retry a 4xx. Only a message with no valid key
    at all is refused, naming the key and why."""
    given = [
        (kind, f"{where}{name}", message.get(name))
        for kind, name in ((IdentifierKind.anonymous_id, "anonymousId"), (IdentifierKind.user_id, "userId"))
        if message.get(name) is not None and message.get(name) != ""
    ]
    if not given:
        raise MalformedPayload(f"{where}anonymousId or {where}userId is required", field=f"{where}userId")
    valid: list[Identifier] = []
    refused: list[tuple[str, InvalidIdentifier]] = []
    for kind, field, value in given:
        try:
            valid.append(Identifier.checked(kind, value))
        except InvalidIdentifier as refusal:
            refused.append((field, refusal))
    if not valid:
        field, first = refused[0]
        # The key and why, never its value.
        raise MalformedPayload(f"{field} is not a valid {first.kind.value} ({first.reason.value})", field=field)
    for _, dropped in refused:
        # Which kind and why, never the value: a log line must not hold personal data.
        logger.warning("identifier dropped: %s is %s", dropped.kind.value, dropped.reason.value)
    return valid


def _channel(kind: str, context: dict[str, Any]) -> Channel:
    library = str(_field(context, "library", "name")).lower()
    device = str(_field(context, "device", "type")).lower()
    is_app = kind == "screen" or device in ("ios", "android") or any(tag in library for tag in APP_LIBRARIES)
    return Channel.app if is_app else Channel.web


def _field(context: dict[str, Any], section: str, name: str) -> object:
    """context.<section>.<name>, or "" when either is missing or the section is not an object (only a hint)."""
    value = context.get(section)
    return value.get(name, "") if isinstance(value, dict) else ""


def _track(message: dict[str, Any], properties: dict[str, Any], where: str) -> dict[str, Any]:
    name = str(require(message, "event", where))
    fields: dict[str, Any] = {"name": name, "properties": properties}
    if name in _CART_ACTIONS:
        action = _CART_ACTIONS[name]
        items = (
            _products(properties, f"{where}properties.")
            if action == "replace"
            else (_product(properties, f"{where}properties."),)
        )
        fields["cart"] = CartChange(action=action, items=items, cart_id=as_text(properties.get("cart_id")))
        return {**fields, "type": EventType.cart_updated}
    if name == "Checkout Started":
        items = _products(properties, f"{where}properties.")
        fields["cart"] = CartChange(action="replace", items=items, cart_id=as_text(properties.get("cart_id")))
        return {**fields, "type": EventType.checkout_started}
    if name == "Order Completed":
        total = properties.get("total", properties.get("revenue", properties.get("value")))
        fields["order"] = Order(
            order_id=str(require(properties, "order_id", f"{where}properties.")),
            total=as_decimal(total, f"{where}properties.total") or 0,
            currency=str(properties.get("currency") or "USD").upper(),
            items=_products(properties, f"{where}properties."),
        )
        return {**fields, "type": EventType.order_completed}
    if name == "Product Viewed":
        return {**fields, "type": EventType.product_viewed}
    return {**fields, "type": EventType.tracked}


def _product(product: dict[str, Any], where: str) -> LineItem:
    sku = product.get("sku") or product.get("product_id")
    if not sku:
        raise MalformedPayload(f"{where}sku (or product_id) is required", field=f"{where}sku")
    return LineItem(
        sku=str(sku),
        name=as_text(product.get("name")),
        quantity=as_quantity(product.get("quantity", 1), f"{where}quantity"),
        price=as_decimal(product.get("price"), f"{where}price"),
    )


def _products(properties: dict[str, Any], where: str) -> tuple[LineItem, ...]:
    products = properties.get("products") or []
    if not isinstance(products, list):
        raise MalformedPayload(f"{where}products must be a list", field=f"{where}products")
    return tuple(
        _product(as_object(item, f"{where}products[{i}]"), f"{where}products[{i}].") for i, item in enumerate(products)
    )


SOURCE = SegmentSource()
