"""Every vendor's real payloads parse into the canonical events the profile needs; signatures are the vendors'."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from omnijourney.errors import BadSignature, MalformedPayload, PayloadTooLarge
from omnijourney.events import CanonicalEvent, Channel, ConsentChannel, ConsentStatus, EventType
from omnijourney.sources import get_source
from tests.conftest import EVENTS, RECEIVED_AT, delivery, sample, signed

ANONYMOUS_ID = "3f6c9d52-7a1e-4c1b-9a63-2f5d8c1e4b70"
EMAIL = "lena.fischer@example.com"
PHONE = "+4915123456789"
ALL_SAMPLES = sorted(
    (path.parent.name, path.stem)
    for path in EVENTS.glob("*/*.json")
    if not path.stem.startswith("invalid_") and path.stem != "ticket_without_requester"
)


def parse(source: str, case: str) -> list[CanonicalEvent]:
    return get_source(source).parse(delivery(source, case))


def ids(event: CanonicalEvent) -> dict[str, str]:
    return {identifier.kind.value: identifier.value for identifier in event.identifiers}


@pytest.mark.parametrize(("source", "case"), ALL_SAMPLES)
def test_every_sample_payload_parses_and_survives_the_queue(source: str, case: str) -> None:
    events = parse(source, case)
    for event in events:
        assert event.event_id.startswith(f"{source}:")
        assert CanonicalEvent.from_message(event.to_message()) == event


@pytest.mark.parametrize(("source", "case"), [s for s in ALL_SAMPLES if s[0] != "ses"])
def test_every_webhook_sample_verifies_with_its_own_scheme_and_not_with_another_secret(source: str, case: str) -> None:
    channel = get_source(source)
    channel.verify(signed(delivery(source, case)), "local-" + source + "-secret", RECEIVED_AT, 300)
    with pytest.raises(BadSignature):
        channel.verify(signed(delivery(source, case), secret="other"), f"local-{source}-secret", RECEIVED_AT, 300)


def test_a_tampered_body_fails_verification() -> None:
    good = signed(delivery("shopify", "orders_create"))
    tampered = good.__class__(good.source, good.body.replace(b"129.95", b"1.00"), good.headers, good.url)
    with pytest.raises(BadSignature, match="does not match"):
        get_source("shopify").verify(tampered, "local-shopify-secret", RECEIVED_AT, 300)


def test_segment_product_added_is_a_cart_add_from_the_web() -> None:
    [event] = parse("segment", "product_added")
    assert (event.type, event.channel) == (EventType.cart_updated, Channel.web)
    assert event.cart is not None
    assert event.cart.action == "add"
    assert [(item.sku, item.quantity, item.price) for item in event.cart.items] == [
        ("SHOE-TRAIL-42", 1, Decimal("129.95"))
    ]
    assert ids(event) == {"anonymous_id": ANONYMOUS_ID}
    assert event.timezone == "Europe/Berlin"


def test_segment_identify_from_the_app_normalises_the_email() -> None:
    [event] = parse("segment", "identify_app")
    assert event.channel is Channel.app
    assert ids(event) == {
        "anonymous_id": ANONYMOUS_ID,
        "user_id": "user-5521",
        "email": EMAIL,
        "loyalty_id": "LOY-100245",
    }


def test_segment_order_completed_carries_skus_total_and_currency() -> None:
    [event] = parse("segment", "order_completed")
    assert event.type is EventType.order_completed
    assert event.order is not None
    assert (event.order.total, event.order.currency, event.order.skus) == (Decimal("129.95"), "EUR", ["SHOE-TRAIL-42"])


def test_segment_batch_gives_one_event_per_message_with_the_shared_context() -> None:
    events = parse("segment", "batch")
    assert [event.type for event in events] == [EventType.identify, EventType.page_viewed, EventType.product_viewed]
    assert len({event.event_id for event in events}) == 3


def test_segment_alias_links_the_previous_id() -> None:
    [event] = parse("segment", "alias")
    assert event.type is EventType.alias
    assert event.previous_ids == (ANONYMOUS_ID,)


def test_segment_track_without_an_event_name_names_the_field() -> None:
    with pytest.raises(MalformedPayload) as error:
        parse("segment", "invalid_track_without_event")
    assert error.value.field == "event"


def test_a_segment_batch_message_over_32_kb_is_too_large() -> None:
    batch = sample("segment", "batch")
    batch["batch"][1]["properties"] = {"padding": "x" * 33_000}
    with pytest.raises(PayloadTooLarge) as error:
        get_source("segment").parse(delivery("segment", "batch", body=json.dumps(batch).encode()))
    assert error.value.field == "batch[1]."


def test_shopify_pos_order_is_an_in_store_order_of_the_known_customer() -> None:
    [event] = parse("shopify", "orders_create_pos")
    assert (event.type, event.channel) == (EventType.order_completed, Channel.pos)
    assert event.order is not None
    assert event.order.location_id
    assert event.event_id == f"shopify:orders/create:{sample('shopify', 'orders_create_pos')['id']}"
    assert ids(event)["shopify_customer_id"] == "7390123456789"


def test_shopify_checkout_update_replaces_the_cart() -> None:
    [event] = parse("shopify", "checkouts_update")
    assert event.type is EventType.cart_updated
    assert event.cart is not None
    assert event.cart.action == "replace"
    assert {item.sku for item in event.cart.items} == {"SHOE-TRAIL-42", "SOCK-MERINO-M"}
    assert ids(event)["email"] == EMAIL


def test_shopify_customer_update_brings_phone_loyalty_id_and_sms_consent() -> None:
    [event] = parse("shopify", "customers_update")
    assert ids(event) == {
        "shopify_customer_id": "7390123456789",
        "email": EMAIL,
        "phone": PHONE,
        "loyalty_id": "LOY-100245",
    }
    assert {(c.channel, c.status) for c in event.consent} == {
        (ConsentChannel.email, ConsentStatus.subscribed),
        (ConsentChannel.sms, ConsentStatus.subscribed),
    }


def test_shopify_needs_a_supported_topic() -> None:
    item = delivery("shopify", "orders_create")
    for topic, expected in ((None, "is required"), ("products/update", "not supported")):
        headers = {"X-Shopify-Topic": topic} if topic else {}
        with pytest.raises(MalformedPayload, match=expected):
            get_source("shopify").parse(item.__class__("shopify", item.body, headers, item.url))


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("inbound_stop", ConsentStatus.unsubscribed),
        ("inbound_unsubscribe_lowercase", ConsentStatus.unsubscribed),
        ("inbound_start", ConsentStatus.subscribed),
    ],
)
def test_twilio_opt_out_and_opt_in_keywords_change_sms_consent(case: str, status: ConsentStatus) -> None:
    [event] = parse("twilio", case)
    assert event.type is EventType.consent_changed
    assert [(c.channel, c.status) for c in event.consent] == [(ConsentChannel.sms, status)]
    assert ids(event) == {"phone": PHONE}


@pytest.mark.parametrize("case", ["inbound_help", "inbound_message"])
def test_twilio_help_and_free_text_are_received_messages_that_leave_consent_alone(case: str) -> None:
    [event] = parse("twilio", case)
    assert (event.type, event.consent) == (EventType.message_received, ())


def test_zendesk_ticket_lifecycle() -> None:
    assert [parse("zendesk", case)[0].type for case in ("ticket_created", "ticket_updated", "ticket_solved")] == [
        EventType.ticket_opened,
        EventType.ticket_updated,
        EventType.ticket_solved,
    ]


def test_zendesk_ticket_without_a_requester_we_can_match_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="requester needs an email, phone or external_id"):
        parse("zendesk", "ticket_without_requester")


def test_zendesk_signature_outside_the_window_is_refused() -> None:
    item = signed(delivery("zendesk", "ticket_created"), at=RECEIVED_AT - timedelta(minutes=6))
    with pytest.raises(BadSignature, match="outside the 300 s window"):
        get_source("zendesk").verify(item, "local-zendesk-secret", RECEIVED_AT, 300)


@pytest.mark.parametrize(
    ("case", "event_type", "unsubscribes"),
    [
        ("delivery", EventType.message_delivered, False),
        ("open", EventType.message_opened, False),
        ("click", EventType.message_clicked, False),
        ("bounce_transient", EventType.message_bounced, False),
        ("bounce_permanent", EventType.message_bounced, True),
        ("complaint", EventType.message_complained, True),
        ("subscription", EventType.consent_changed, True),
    ],
)
def test_ses_feedback_events(case: str, event_type: EventType, unsubscribes: bool) -> None:
    [event] = parse("ses", case)
    assert event.type is event_type
    assert ids(event) == {"email": EMAIL}
    assert bool(event.consent) is unsubscribes
    assert event.message is not None
    assert event.message.tags.get("journey") == ["abandoned_cart"]


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(MalformedPayload, match=r"the body is not JSON: .* at line 1 column \d+"):
        get_source("segment").parse(delivery("segment", "page", body=b'{"type": "page",'))


def test_every_source_has_sample_payloads() -> None:
    assert {source for source, _ in ALL_SAMPLES} == {"segment", "shopify", "twilio", "zendesk", "ses"}
