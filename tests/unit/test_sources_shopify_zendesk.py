"""Shopify and Zendesk as they really send: order states, cancellations, refunds, addresses abroad, topics and
event types the project does not use, own keys, and Zendesk's native event-subscribed webhooks."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.events import CanonicalEvent, Channel, EventType, OrderState
from omnijourney.platform.errors import MalformedPayload
from tests.conftest import delivery, sample
from tests.unit.test_sources import field_paths, with_value

EMAIL = "lena.fischer@example.com"
LENA_SHOPIFY_ID = "7390123456789"
LENA_ZENDESK_ID = "39120445561"
WRONG_KINDS: tuple[Any, ...] = (None, "two", -1, 1.5, True, [], {}, "NaN")


def parse(source: str, case: str, payload: Any = None, topic: str | None = None) -> list[CanonicalEvent]:
    """The sample (or `payload` in its place) as the vendor delivers it, under its own topic or `topic`."""
    item = delivery(source, case, body=None if payload is None else json.dumps(payload).encode())
    if topic is not None:
        item = replace(item, headers=dict(item.headers) | {"X-Shopify-Topic": topic})
    return get_source(source).parse(item)


def one(source: str, case: str, payload: Any = None, topic: str | None = None) -> CanonicalEvent:
    [event] = parse(source, case, payload, topic)
    return event


def ids(event: CanonicalEvent) -> dict[str, str]:
    return {identifier.kind.value: identifier.value for identifier in event.identifiers}


def edited(source: str, case: str, **changes: Any) -> Any:
    return sample(source, case) | changes


# Shopify: what an order is.


@pytest.mark.parametrize(
    ("case", "changes", "state"),
    [
        ("orders_create", {}, OrderState.placed),
        ("orders_create_test", {}, OrderState.test),
        ("orders_cancelled", {}, OrderState.cancelled),
        ("orders_cancelled_voided", {}, OrderState.voided),
        # Cancelled before its orders/create was sent (or resent after): still cancelled.
        ("orders_create", {"cancelled_at": "2026-03-02T21:00:00+01:00"}, OrderState.cancelled),
        ("orders_create", {"financial_status": "voided"}, OrderState.voided),
        # A test order stays a test whatever happens to it.
        ("orders_cancelled", {"test": True}, OrderState.test),
    ],
)
def test_a_shopify_order_carries_its_state(case: str, changes: dict[str, Any], state: OrderState) -> None:
    event = one("shopify", case, edited("shopify", case, **changes))
    assert event.order is not None
    assert event.order.state is state


def test_a_cancelled_shopify_order_is_an_event_of_its_own_for_the_same_customer_and_order() -> None:
    cancelled = one("shopify", "orders_cancelled")
    created = one(
        "shopify", "orders_cancelled", edited("shopify", "orders_cancelled", cancelled_at=None), "orders/create"
    )
    assert (created.type, cancelled.type) == (EventType.order_completed, EventType.order_cancelled)
    order_id = str(sample("shopify", "orders_cancelled")["id"])
    assert (created.event_id, cancelled.event_id) == (
        f"shopify:orders/create:{order_id}",
        f"shopify:orders/cancelled:{order_id}",
    )
    # When it was cancelled, not when it was placed.
    assert cancelled.occurred_at.isoformat() == "2026-03-05T08:15:31+00:00"
    assert (
        ids(cancelled)
        == ids(created)
        == {"shopify_customer_id": LENA_SHOPIFY_ID, "email": EMAIL, "shopify_order_id": order_id}
    )
    assert cancelled.properties["cancel_reason"] == "customer"
    assert cancelled.order is not None
    assert (cancelled.order.order_id, cancelled.order.skus) == (order_id, ["SHOE-TRAIL-42"])


def test_every_shopify_order_names_its_order_as_an_identifier() -> None:
    for case in ("orders_create", "orders_create_pos", "orders_create_pos_custom_sale", "orders_create_test"):
        event = one("shopify", case)
        assert ids(event)["shopify_order_id"] == str(sample("shopify", case)["id"])


# Shopify: order updates (a void may arrive only on orders/updated).


def test_a_shopify_order_update_carries_the_order_as_it_stands_now() -> None:
    event = one("shopify", "orders_updated_voided")
    order_id = str(sample("shopify", "orders_updated_voided")["id"])
    assert (event.type, event.name, event.channel) == (EventType.order_updated, "orders/updated", Channel.web)
    assert event.event_id == f"shopify:orders/updated:{order_id}:2026-03-07T09:05:44+01:00"
    # When the order changed, not when it was placed.
    assert event.occurred_at.isoformat() == "2026-03-07T08:05:44+00:00"
    assert ids(event) == {"shopify_customer_id": LENA_SHOPIFY_ID, "email": EMAIL, "shopify_order_id": order_id}
    assert event.order is not None
    assert (event.order.order_id, event.order.state, event.order.total, event.order.skus) == (
        order_id,
        OrderState.voided,
        Decimal("129.95"),
        ["SHOE-TRAIL-42"],
    )


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"financial_status": "paid"}, OrderState.placed),
        ({"financial_status": "paid", "cancelled_at": "2026-03-07T09:05:40+01:00"}, OrderState.cancelled),
        ({"test": True}, OrderState.test),
    ],
)
def test_a_shopify_order_update_reads_the_state_as_an_order_does(changes: dict[str, Any], state: OrderState) -> None:
    event = one("shopify", "orders_updated_voided", edited("shopify", "orders_updated_voided", **changes))
    assert (event.type, event.order.state if event.order else None) == (EventType.order_updated, state)


def test_each_state_of_a_shopify_order_is_an_update_of_its_own_and_a_resend_is_the_same() -> None:
    first = one("shopify", "orders_updated_voided")
    assert one("shopify", "orders_updated_voided").event_id == first.event_id
    later = edited("shopify", "orders_updated_voided", updated_at="2026-03-07T11:00:00+01:00")
    assert one("shopify", "orders_updated_voided", later).event_id != first.event_id


def test_a_void_seen_only_on_orders_updated_voids_the_order_on_the_profile() -> None:
    from omnijourney.app import config
    from omnijourney.profiles.model import apply_event, new_profile

    lifecycle = config.lifecycle()
    authorised = edited("shopify", "orders_updated_voided", financial_status="authorized")
    authorised["updated_at"] = authorised["created_at"]
    created = one("shopify", "orders_updated_voided", authorised, "orders/create")
    voided = one("shopify", "orders_updated_voided")
    assert created.order is not None
    assert created.order.state is OrderState.placed
    start = new_profile("cus_lena", created.occurred_at)
    for events in ((created, voided), (voided, created)):
        profile = start
        for event in events:
            profile = apply_event(profile, event, lifecycle)
        [order] = profile.orders
        # The order as placed (its time and facts), in its most final state: no revenue, no purchase.
        assert (order.order_id, order.at, order.state) == (
            created.order.order_id,
            created.occurred_at,
            OrderState.voided,
        )
        assert (order.revenue, profile.kept_orders, profile.ordered_skus()) == (0, (), set())


# Shopify: refunds.


def test_a_shopify_refund_is_the_money_given_back_linked_through_its_order() -> None:
    event = one("shopify", "refunds_create")
    assert (event.type, event.event_id) == (EventType.order_refunded, "shopify:refunds/create:1031234567891")
    assert event.refund is not None
    assert (event.refund.order_id, event.refund.amount, event.refund.currency, event.refund.skus) == (
        "5820001299022",
        Decimal("29.90"),
        "EUR",
        ("SOCK-MERINO-M",),
    )
    # The refund names no customer: the order it shares with the order event is what links them.
    order = one("shopify", "orders_create_shoes_and_socks")
    assert [i.key for i in event.identifiers] == ["shopify_order_id#5820001299022"]
    assert set(event.identifiers) < set(order.identifiers)
    assert event.occurred_at.isoformat() == "2026-03-09T13:02:37+00:00"


def test_a_shopify_refund_counts_only_refund_transactions_that_succeeded() -> None:
    refund = sample("shopify", "refunds_create")
    [paid] = refund["transactions"]
    refund["transactions"] = [
        paid,
        paid | {"id": 7012345678902, "amount": "10.00", "status": "failure"},
        paid | {"id": 7012345678903, "amount": "5.00", "status": "pending"},
        paid | {"id": 7012345678904, "amount": "99.00", "kind": "void"},
        paid | {"id": 7012345678905, "amount": "0.10"},
    ]
    event = one("shopify", "refunds_create", refund)
    assert event.refund is not None
    assert event.refund.amount == Decimal("30.00")


def test_a_shopify_refund_that_gave_no_money_back_is_zero_in_no_currency() -> None:
    event = one("shopify", "refunds_create", edited("shopify", "refunds_create", transactions=[]))
    assert event.refund is not None
    assert (event.refund.amount, event.refund.currency, event.refund.skus) == (Decimal(0), "XXX", ("SOCK-MERINO-M",))


def test_a_shopify_refund_counts_the_money_in_the_shops_currency_where_shopify_gives_it() -> None:
    refund = sample("shopify", "refunds_create")
    [paid] = refund["transactions"]
    # Paid in dollars in a shop that keeps euros: the order's total is in euros, so its refunds must be too.
    in_dollars = paid | {"amount": "32.50", "currency": "USD"}
    refund["transactions"] = [
        in_dollars
        | {
            "amount_set": {
                "shop_money": {"amount": "29.90", "currency_code": "EUR"},
                "presentment_money": {"amount": "32.50", "currency_code": "USD"},
            }
        },
        # Without amount_set: its own amount and currency, as before.
        paid | {"id": 7012345678902, "amount": "0.10"},
    ]
    event = one("shopify", "refunds_create", refund)
    assert event.refund is not None
    assert (event.refund.amount, event.refund.currency) == (Decimal("30.00"), "EUR")


@pytest.mark.parametrize(
    ("shop_money", "field"),
    [
        ({"amount": "10.00", "currency_code": "USD"}, "transactions"),
        ({"amount": "-1.00", "currency_code": "EUR"}, "transactions[1].amount_set.shop_money.amount"),
        ({"amount": "NaN", "currency_code": "EUR"}, "transactions[1].amount_set.shop_money.amount"),
        ({"currency_code": "EUR"}, "transactions[1].amount_set.shop_money.amount"),
        ({"amount": "1.00"}, "transactions[1].amount_set.shop_money.currency_code"),
        ("EUR 1.00", "transactions[1].amount_set.shop_money"),
    ],
)
def test_a_shopify_refund_whose_shop_money_cannot_be_counted_names_the_field(shop_money: Any, field: str) -> None:
    refund = sample("shopify", "refunds_create")
    [paid] = refund["transactions"]
    refund["transactions"].append(paid | {"id": 7012345678909, "amount_set": {"shop_money": shop_money}})
    with pytest.raises(MalformedPayload) as error:
        parse("shopify", "refunds_create", refund)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("transaction", "field"),
    [
        ({"currency": "USD"}, "transactions"),
        ({"amount": "-5.00"}, "transactions[1].amount"),
        ({"amount": "NaN"}, "transactions[1].amount"),
        ({"amount": None}, "transactions[1].amount"),
    ],
)
def test_a_shopify_refund_whose_money_cannot_be_counted_names_the_field(
    transaction: dict[str, Any], field: str
) -> None:
    refund = sample("shopify", "refunds_create")
    refund["transactions"].append(refund["transactions"][0] | {"id": 7012345678909} | transaction)
    with pytest.raises(MalformedPayload) as error:
        parse("shopify", "refunds_create", refund)
    assert error.value.field == field


# Shopify: phones read where the customer lives.


def test_a_us_billing_phone_in_national_format_is_a_us_number() -> None:
    event = one("shopify", "orders_create_us_phone")
    assert ids(event)["phone"] == "+12125550123"
    assert ids(event)["email"] == "jordan.miller@example.com"


@pytest.mark.parametrize(
    ("billing", "shipping", "customer", "phone"),
    [
        ("US", "DE", "DE", "+12125550123"),
        (None, "US", "DE", "+12125550123"),
        (None, None, "US", "+12125550123"),
        ("DE", "US", "US", "+492125550123"),
        (None, None, None, "+492125550123"),  # no address: the shop's country
    ],
)
def test_a_national_phone_is_read_in_the_first_address_that_names_a_country(
    billing: str | None, shipping: str | None, customer: str | None, phone: str
) -> None:
    order = sample("shopify", "orders_create_us_phone")
    for address, country in ((order["billing_address"], billing), (order["shipping_address"], shipping)):
        address["country_code"] = country
    order["customer"]["default_address"]["country_code"] = customer
    assert ids(one("shopify", "orders_create_us_phone", order))["phone"] == phone


def test_a_national_phone_without_any_address_is_read_in_the_shops_country() -> None:
    order = sample("shopify", "orders_create")
    order["billing_address"] = order["shipping_address"] = None
    order["customer"]["default_address"] = None
    order["phone"] = "0151 23456789"
    assert ids(one("shopify", "orders_create", order))["phone"] == "+4915123456789"


def test_a_customer_update_reads_a_national_phone_in_the_customers_country() -> None:
    customer = sample("shopify", "customers_update")
    customer["phone"] = "(212) 555-0123"
    customer["default_address"]["country_code"] = "US"
    assert ids(one("shopify", "customers_update", customer))["phone"] == "+12125550123"


# Shopify: topics the project does not use, and own keys.


@pytest.mark.parametrize("topic", ["orders/paid", "orders/edited", "products/update", "app/uninstalled"])
def test_a_shopify_topic_the_project_does_not_use_is_acknowledged_with_no_events(topic: str) -> None:
    assert parse("shopify", "orders_create", topic=topic) == []
    # Whatever its body: it is not read.
    item = Delivery("shopify", b"<order/>", {"X-Shopify-Topic": topic})
    assert get_source("shopify").parse(item) == []


def test_a_shopify_delivery_without_a_topic_is_still_malformed() -> None:
    item = delivery("shopify", "orders_create")
    with pytest.raises(MalformedPayload) as error:
        get_source("shopify").parse(replace(item, headers={"Content-Type": "application/json"}))
    assert error.value.field == "X-Shopify-Topic"


@pytest.mark.parametrize(
    "value", ["ORDER-1", "", 0, -5820001234567, 1.5, True, "5820001234567 ", "١٢٣", [], {}, "9" * 20]
)
@pytest.mark.parametrize(
    ("case", "path", "field"),
    [
        ("orders_create", ("id",), "id"),
        ("orders_cancelled", ("id",), "id"),
        ("orders_create", ("customer", "id"), "customer.id"),
        ("checkouts_update", ("customer", "id"), "customer.id"),
        ("customers_update", ("id",), "id"),
        ("refunds_create", ("id",), "id"),
        ("refunds_create", ("order_id",), "order_id"),
    ],
)
def test_a_shopify_own_key_that_is_not_a_shopify_id_is_refused_naming_it(
    case: str, path: tuple[str, ...], field: str, value: Any
) -> None:
    with pytest.raises(MalformedPayload) as error:
        parse("shopify", case, with_value(sample("shopify", case), path, value))
    assert error.value.field == field


def test_a_shopify_id_sent_as_a_string_of_digits_is_the_same_id() -> None:
    order = sample("shopify", "orders_create")
    as_text = one("shopify", "orders_create", order | {"id": str(order["id"])})
    assert as_text.event_id == one("shopify", "orders_create").event_id


@pytest.mark.parametrize(
    "case", ["orders_cancelled", "orders_updated_voided", "orders_create_us_phone", "refunds_create"]
)
def test_a_signed_cancellation_refund_or_us_order_with_a_field_of_the_wrong_kind_is_malformed(case: str) -> None:
    """Only MalformedPayload is quarantined (400); anything else would be a 500 and the delivery retried forever."""
    escaped = _escaped("shopify", case)
    assert escaped == []


# Zendesk: native event-subscribed webhooks.


def test_a_native_zendesk_ticket_names_its_requester_by_zendesk_user_id() -> None:
    event = one("zendesk", "native_ticket_created")
    assert (event.type, event.channel, event.name) == (EventType.ticket_opened, Channel.support, "ticket.created")
    assert ids(event) == {"zendesk_user_id": LENA_ZENDESK_ID}
    assert event.ticket is not None
    assert (event.ticket.ticket_id, event.ticket.subject, event.ticket.status) == (
        "48350",
        "Fällt der Trail Runner 42 klein aus?",
        "new",
    )
    assert event.event_id == "zendesk:ticket.created:c7a9e3f1-5b2d-4e8a-9c6f-1d3b5a7e9f20"
    assert event.properties == {"via": "web_form", "priority": "normal"}


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        ("SOLVED", EventType.ticket_solved),
        ("CLOSED", EventType.ticket_solved),
        ("PENDING", EventType.ticket_updated),
        ("OPEN", EventType.ticket_updated),
    ],
)
def test_a_native_zendesk_status_change_solves_or_updates_the_ticket(status: str, event_type: EventType) -> None:
    change = sample("zendesk", "native_ticket_solved")
    change["detail"]["status"] = status
    change["event"]["current"] = status
    event = one("zendesk", "native_ticket_solved", change)
    assert event.type is event_type
    assert event.ticket is not None
    assert event.ticket.status == status.lower()


def test_a_native_zendesk_user_links_its_zendesk_user_id_to_the_email() -> None:
    event = one("zendesk", "native_user_created")
    assert (event.type, event.channel) == (EventType.identify, Channel.support)
    assert ids(event) == {"zendesk_user_id": LENA_ZENDESK_ID, "email": EMAIL}
    user = sample("zendesk", "native_user_created")
    user["detail"].update(external_id="user-5521", phone="+49 151 23456789")
    assert ids(one("zendesk", "native_user_created", user)) == {
        "zendesk_user_id": LENA_ZENDESK_ID,
        "email": EMAIL,
        "phone": "+4915123456789",
        "user_id": "user-5521",
    }


def test_a_native_zendesk_event_is_recognised_when_it_is_resent() -> None:
    assert parse("zendesk", "native_ticket_created") == parse("zendesk", "native_ticket_created")
    again = sample("zendesk", "native_ticket_created") | {"id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
    assert one("zendesk", "native_ticket_created", again).event_id != one("zendesk", "native_ticket_created").event_id


@pytest.mark.parametrize(
    "kind",
    ["ticket.comment_added", "ticket.priority_changed", "ticket.soft_deleted", "user.deleted", "organization.created"],
)
def test_a_native_zendesk_event_the_project_does_not_use_is_acknowledged_with_no_events(kind: str) -> None:
    event = sample("zendesk", "native_ticket_created") | {"type": f"zen:event-type:{kind}"}
    assert parse("zendesk", "native_ticket_created", event) == []


def test_a_zendesk_agent_is_not_a_customer() -> None:
    agent = sample("zendesk", "native_user_created")
    agent["detail"].update(role="agent", email="support@trail-shop.example")
    assert parse("zendesk", "native_user_created", agent) == []


@pytest.mark.parametrize(
    ("case", "key", "value", "field"),
    [
        ("native_ticket_created", "requester_id", None, "detail.requester_id"),
        ("native_ticket_created", "requester_id", "lena", "detail.requester_id"),
        ("native_ticket_created", "id", "zen:ticket:48350", "detail.id"),
        ("native_user_created", "id", None, "detail.id"),
        ("native_user_created", "id", "-39120445561", "detail.id"),
    ],
)
def test_a_native_zendesk_own_key_that_is_not_a_zendesk_id_is_refused_naming_it(
    case: str, key: str, value: Any, field: str
) -> None:
    payload = sample("zendesk", case)
    payload["detail"][key] = value
    with pytest.raises(MalformedPayload) as error:
        parse("zendesk", case, payload)
    assert error.value.field == field


@pytest.mark.parametrize("case", ["native_ticket_created", "native_ticket_solved", "native_user_created"])
def test_a_signed_native_zendesk_body_with_any_field_of_the_wrong_kind_is_malformed_never_a_crash(case: str) -> None:
    assert _escaped("zendesk", case) == []


# Zendesk: trigger bodies.


def test_a_zendesk_trigger_body_also_links_the_requesters_zendesk_user_id() -> None:
    assert ids(one("zendesk", "ticket_created"))["zendesk_user_id"] == LENA_ZENDESK_ID
    only_id = sample("zendesk", "ticket_created")
    only_id["requester"] = {"id": LENA_ZENDESK_ID, "name": "Lena Fischer", "email": "", "phone": "", "external_id": ""}
    assert ids(one("zendesk", "ticket_created", only_id)) == {"zendesk_user_id": LENA_ZENDESK_ID}


def test_a_zendesk_trigger_requester_id_that_is_no_zendesk_id_is_dropped_and_the_ticket_kept() -> None:
    unrendered = sample("zendesk", "ticket_created")
    unrendered["requester"]["id"] = "{{ticket.requester.id}}"
    event = one("zendesk", "ticket_created", unrendered)
    assert "zendesk_user_id" not in ids(event)
    assert ids(event)["email"] == EMAIL


def test_a_zendesk_trigger_body_with_an_event_of_our_own_that_is_misspelt_is_still_refused() -> None:
    typo = sample("zendesk", "ticket_created") | {"event": "ticket.create"}
    with pytest.raises(MalformedPayload) as error:
        parse("zendesk", "ticket_created", typo)
    assert error.value.field == "event"


def _escaped(source: str, case: str) -> list[tuple[Any, ...]]:
    """Every field of the sample set to values of every wrong kind: what escaped other than MalformedPayload."""
    payload = sample(source, case)
    escaped = []
    for path in field_paths(payload):
        for value in WRONG_KINDS:
            try:
                parse(source, case, with_value(payload, path, value))
            except MalformedPayload:
                pass
            except Exception as error:  # noqa: BLE001 - collected, then reported by the assertion
                escaped.append((path, value, repr(error)))
    return escaped
