"""Shopify webhooks: orders (web, app and Shopify POS), their updates, cancellations and refunds, checkouts and
customers.

Signed with X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(app secret, body); the topic is X-Shopify-Topic.
Event ids come from the body (resource id and its updated_at), so a resent webhook is recognised
even when its X-Shopify-Webhook-Id differs, and an order is counted once however often it arrives.
Whatever in a signed body cannot be read is a MalformedPayload naming the field, so it is quarantined. A topic
the project does not use is acknowledged with no events: Shopify retries a refused delivery, then removes the
subscription.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from omnijourney.edge.sources.delivery import (
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
    numeric_id,
    require,
    require_signature,
)
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
    OrderState,
    Refund,
)
from omnijourney.identifiers import Identifier, IdentifierKind, identifiers_from
from omnijourney.platform.errors import MalformedPayload

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
# Shopify's ids are positive 64-bit integers (JSON numbers; some apps send them as strings).
# ISO 4217's code for "no currency": a refund that gave no money back (a restock only).
NO_CURRENCY = "XXX"


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
        read = _READERS.get(topic)
        if read is None:
            # Subscribed in the shop but not used here: acknowledged, so Shopify neither retries it nor, after
            # failing deliveries, removes the subscription.
            return []
        payload = as_object(load_json(delivery.body), "body")
        return [
            canonical_event(
                source=self.name, name=topic, received_at=delivery.received_at, **read(payload, topic, delivery)
            )
        ]


def _people(payload: dict[str, Any]) -> list[Identifier]:
    customer = as_object(payload.get("customer") or {}, "customer")
    billing = as_object(payload.get("billing_address") or {}, "billing_address")
    customer_id = customer.get("id")
    return identifiers_from(
        region=_region(payload, customer),
        shopify_customer_id=None if customer_id is None else numeric_id(customer_id, "customer.id"),
        email=payload.get("email") or payload.get("contact_email") or customer.get("email"),
        phone=payload.get("phone") or customer.get("phone") or billing.get("phone"),
    )


def _region(*places: dict[str, Any]) -> str | None:
    """Where a national-format phone in the body is read: the country of the billing address, else the shipping
    address, else the customer's default address (a US customer's "(555) 555-0123" is not a German number)."""
    for place in places:
        for key in ("billing_address", "shipping_address", "default_address"):
            address = place.get(key)
            code = address.get("country_code") if isinstance(address, dict) else None
            if isinstance(code, str) and len(code) == 2 and code.isascii() and code.isalpha():
                return code.upper()
    return None


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


def _order(payload: dict[str, Any], topic: str, delivery: Delivery) -> dict[str, Any]:
    order_id = numeric_id(require(payload, "id"), "id")
    cancelled = topic == "orders/cancelled"
    if topic == "orders/updated":
        # The order as it stands now (a void may arrive only here): one event per state of the order, as for a
        # checkout, at the time it changed; the profile joins it to the order it holds, the most final state winning.
        event_type, event_id = EventType.order_updated, f"shopify:{topic}:{order_id}:{_version(payload, delivery)}"
        at, at_field = _changed_at(payload), "updated_at"
    elif cancelled:
        # A cancellation happened when the order was cancelled, not when it was placed.
        event_type, event_id = EventType.order_cancelled, f"shopify:{topic}:{order_id}"
        at, at_field = payload.get("cancelled_at") or payload.get("updated_at"), "cancelled_at"
    else:
        event_type, event_id = EventType.order_completed, f"shopify:{topic}:{order_id}"
        at, at_field = payload.get("created_at"), "created_at"
    return {
        "event_id": event_id,
        "type": event_type,
        "channel": _ORDER_CHANNELS.get(str(payload.get("source_name")), Channel.web),
        "occurred_at": as_timestamp(at, at_field, delivery.received_at),
        "identifiers": [*_people(payload), Identifier(kind=IdentifierKind.shopify_order_id, value=order_id)],
        # The storefront language the customer ordered in ("de-DE"); an order at the POS has the shop's.
        "locale": payload.get("customer_locale"),
        "order": Order(
            order_id=order_id,
            total=as_decimal(require(payload, "total_price"), "total_price") or 0,
            currency=str(require(payload, "currency")).upper(),
            items=_line_items(payload),
            location_id=as_text(payload.get("location_id")),
            discount_codes=tuple(
                str(code["code"])
                for code in as_list(payload.get("discount_codes"), "discount_codes")
                if isinstance(code, dict) and code.get("code")
            ),
            state=_order_state(payload, cancelled),
        ),
        "properties": {"order_name": payload.get("name")}
        | ({"cancel_reason": payload["cancel_reason"]} if payload.get("cancel_reason") else {}),
    }


def _order_state(payload: dict[str, Any], cancelled: bool) -> OrderState:
    """Only a placed order is revenue: a test order (Bogus gateway or test mode) and a voided payment never
    were, and a cancelled order is no longer."""
    if payload.get("test") is True:
        return OrderState.test
    if payload.get("financial_status") == "voided":
        return OrderState.voided
    if cancelled or payload.get("cancelled_at"):
        return OrderState.cancelled
    return OrderState.placed


def _refund(payload: dict[str, Any], topic: str, delivery: Delivery) -> dict[str, Any]:
    """A refund names its order, not the customer: the order id links it to the one who placed the order."""
    refund_id = numeric_id(require(payload, "id"), "id")
    order_id = numeric_id(require(payload, "order_id"), "order_id")
    paid_back = _money_paid_back(as_list(payload.get("transactions"), "transactions"))
    currencies = {currency for _, currency, _ in paid_back}
    if len(currencies) > 1:
        raise MalformedPayload(
            f"refund transactions in more than one currency: {', '.join(sorted(currencies))}", field="transactions"
        )
    lines = as_list(payload.get("refund_line_items"), "refund_line_items")
    skus = [_refunded_product(line, f"refund_line_items[{i}]") for i, line in enumerate(lines)]
    return {
        "event_id": f"shopify:{topic}:{refund_id}",
        "type": EventType.order_refunded,
        # Where the money went back (a refund at the till is a POS refund), as for orders.
        "channel": paid_back[0][2] if paid_back else Channel.web,
        "occurred_at": as_timestamp(
            payload.get("created_at") or payload.get("processed_at"), "created_at", delivery.received_at
        ),
        "identifiers": [Identifier(kind=IdentifierKind.shopify_order_id, value=order_id)],
        "refund": Refund(
            refund_id=refund_id,
            order_id=order_id,
            amount=sum((amount for amount, _, _ in paid_back), Decimal(0)),
            currency=currencies.pop() if currencies else NO_CURRENCY,
            skus=tuple(dict.fromkeys(skus)),
        ),
    }


def _refunded_product(given: Any, where: str) -> str:
    """The product key of a refunded line, read from its order line as the order's items are."""
    line = as_object(as_object(given, where).get("line_item"), f"{where}.line_item")
    return _product_key(line, f"{where}.line_item.")


def _money_paid_back(transactions: list[Any]) -> list[tuple[Decimal, str, Channel]]:
    """Amount, currency and channel of each refund transaction that succeeded: a failed or pending one gave
    nothing back, and other kinds (a void, a capture) are not refunds."""
    paid_back = []
    for i, given in enumerate(transactions):
        where = f"transactions[{i}]."
        transaction = as_object(given, where.rstrip("."))
        if transaction.get("kind") != "refund" or transaction.get("status") != "success":
            continue
        amount, currency = _in_shop_currency(transaction, where)
        paid_back.append((amount, currency, _ORDER_CHANNELS.get(str(transaction.get("source_name")), Channel.web)))
    return paid_back


def _in_shop_currency(transaction: dict[str, Any], where: str) -> tuple[Decimal, str]:
    """A transaction's amount and currency in the shop's currency, as the order's total is: `amount_set.shop_money`
    where Shopify gives it, else `amount` and `currency` (which are the presentment currency's on an order paid in
    another one)."""
    amount_set = as_object(transaction.get("amount_set") or {}, f"{where}amount_set")
    shop_money = as_object(amount_set.get("shop_money") or {}, f"{where}amount_set.shop_money")
    if shop_money:
        money, within, currency_key = shop_money, f"{where}amount_set.shop_money.", "currency_code"
    else:
        money, within, currency_key = transaction, where, "currency"
    amount = as_decimal(require(money, "amount", within), f"{within}amount") or Decimal(0)
    if amount < 0:
        raise MalformedPayload(f"{within}amount must not be negative, not {amount}", field=f"{within}amount")
    return amount, str(require(money, currency_key, within)).upper()


def _checkout(payload: dict[str, Any], topic: str, delivery: Delivery) -> dict[str, Any]:
    token = require(payload, "token")
    fields: dict[str, Any] = {
        "event_id": f"shopify:{topic}:{token}:{_version(payload, delivery)}",
        "channel": Channel.web,
        "occurred_at": as_timestamp(_changed_at(payload), "updated_at", delivery.received_at),
        "identifiers": _people(payload),
        "locale": payload.get("customer_locale"),
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
    customer_id = numeric_id(require(payload, "id"), "id")
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
            region=_region(payload),
            shopify_customer_id=customer_id,
            email=payload.get("email"),
            phone=payload.get("phone"),
            loyalty_id=loyalty,
        ),
        # The customer's language (Customer.locale, "de-DE"), where the payload has it.
        "locale": payload.get("locale"),
        "traits": {key: payload[key] for key in ("first_name", "last_name") if payload.get(key)}
        | ({"tags": tags} if tags else {}),
        "consent": tuple(consent),
    }


def _changed_at(payload: dict[str, Any]) -> Any:
    """When a checkout, customer or order last changed, as Shopify wrote it."""
    return payload.get("updated_at") or payload.get("created_at")


def _version(payload: dict[str, Any], delivery: Delivery) -> str:
    """What tells one state of a checkout, customer or order from the next in its event id: when it changed. A
    body without a timestamp falls back to Shopify's event id, else to the body's hash: both are the same
    when the delivery is retried, and differ for the next change."""
    changed_at = _changed_at(payload)
    if changed_at:
        return str(changed_at)
    event_id = delivery.header(EVENT_ID_HEADER)
    return f"event-{event_id}" if event_id else f"body-{delivery.fingerprint}"


_Reader = Callable[[dict[str, Any], str, Delivery], dict[str, Any]]
# The topics to subscribe to, each with what reads its body into the canonical event's fields.
_READERS: dict[str, _Reader] = {
    "orders/create": _order,
    "orders/updated": _order,
    "orders/cancelled": _order,
    "refunds/create": _refund,
    "checkouts/create": _checkout,
    "checkouts/update": _checkout,
    "customers/create": _customer,
    "customers/update": _customer,
}
TOPICS = tuple(_READERS)

SOURCE = ShopifySource()
