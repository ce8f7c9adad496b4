"""Every vendor's real payloads parse into the canonical events the profile needs; signatures are the vendors'."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from omnijourney.app.profile_updates import events_in
from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.events import CanonicalEvent, Channel, ConsentChannel, ConsentStatus, EventType
from omnijourney.platform.errors import BadSignature, MalformedPayload, PayloadTooLarge
from tests.conftest import EVENTS, IGNORED_SES_SAMPLES, RECEIVED_AT, delivery, sample, signed

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


def edited(source: str, case: str, edit: Callable[[Any], object]) -> Delivery:
    """The sample with one change, delivered as the vendor would; for SES the change is to the SES record."""
    payload = sample(source, case)
    if source == "ses":
        record = json.loads(payload["Message"])
        edit(record)
        payload["Message"] = json.dumps(record)
    else:
        edit(payload)
    return delivery(source, case, body=json.dumps(payload).encode())


def field_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every field of a payload, down to the first item of each list."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key)
            yield from field_paths(inner, (*path, key))
    elif isinstance(value, list) and value:
        yield (*path, 0)
        yield from field_paths(value[0], (*path, 0))


def with_value(payload: Any, path: tuple[str | int, ...], value: Any) -> Any:
    changed = copy.deepcopy(payload)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return changed


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


# A message used to be refused whenever one of its own keys was: but server-side SDKs batch many users' messages and
# send a placeholder userId ("unknown") for some, and do not retry a 4xx, so one such message lost the whole batch.
# A refused key is now dropped and logged like a junk email, and only a message with no valid key at all is refused.
INVALID_OWN_KEYS = [
    ("userId", "x" * 3000),
    ("userId", "null"),
    ("userId", "user\u202e5521"),
    ("anonymousId", "undefined"),
]


@pytest.mark.parametrize(("field", "value"), INVALID_OWN_KEYS)
def test_segment_message_whose_only_key_is_invalid_is_refused_naming_it(field: str, value: str) -> None:
    def only_key(message: dict[str, Any]) -> None:
        message.pop("anonymousId")
        message.pop("userId")
        message[field] = value

    with pytest.raises(MalformedPayload) as error:
        get_source("segment").parse(edited("segment", "identify_app", only_key))
    assert error.value.field == field
    assert value not in error.value.detail


@pytest.mark.parametrize(("field", "value"), INVALID_OWN_KEYS)
def test_segment_message_with_an_invalid_key_beside_a_valid_one_applies_under_the_valid_one(
    field: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="omnijourney.edge.sources.segment")
    [event] = get_source("segment").parse(
        edited("segment", "identify_app", lambda message: message.update({field: value}))
    )
    kind = "user_id" if field == "userId" else "anonymous_id"
    assert kind not in ids(event)
    assert ids(event).keys() == {"anonymous_id", "user_id", "email", "loyalty_id"} - {kind}
    assert event.traits["first_name"] == "Lena"
    [logged] = caplog.messages
    assert logged.startswith(f"identifier dropped: {kind} is ")
    assert value not in logged


def test_segment_batch_message_with_a_placeholder_user_id_is_kept_with_the_rest_of_the_batch() -> None:
    def placeholder_user(payload: dict[str, Any]) -> None:
        payload["batch"][0]["userId"] = "unknown"
        payload["batch"][1]["userId"] = {"id": 5521}

    events = get_source("segment").parse(edited("segment", "batch", placeholder_user))
    assert [event.type for event in events] == [EventType.identify, EventType.page_viewed, EventType.product_viewed]
    assert [ids(event).get("user_id") for event in events[:2]] == [None, None]
    assert ids(events[0])["email"] == EMAIL  # the rest of the message applies, under its anonymousId
    assert {ids(event)["anonymous_id"] for event in events} == {ANONYMOUS_ID}


def test_segment_batch_message_without_any_valid_key_names_its_place() -> None:
    def junk_user(payload: dict[str, Any]) -> None:
        payload["batch"][1].pop("anonymousId")
        payload["batch"][1]["userId"] = {"id": 5521}

    with pytest.raises(MalformedPayload) as error:
        get_source("segment").parse(edited("segment", "batch", junk_user))
    assert error.value.field == "batch[1].userId"


def test_segment_alias_with_an_invalid_previous_id_is_refused() -> None:
    with pytest.raises(MalformedPayload) as error:
        get_source("segment").parse(edited("segment", "alias", lambda message: message.update(previousId="\x00")))
    assert error.value.field == "previousId"


def test_segment_identify_with_a_junk_email_applies_everything_else(caplog: pytest.LogCaptureFixture) -> None:
    def junk_email(message: dict[str, Any]) -> None:
        message["traits"]["email"] = "@"

    # The local backend sets the functions' log level (ERROR) on the package's logger: ask for warnings here.
    caplog.set_level(logging.WARNING, logger="omnijourney.identifiers")
    [event] = get_source("segment").parse(edited("segment", "identify_app", junk_email))
    assert ids(event) == {"anonymous_id": ANONYMOUS_ID, "user_id": "user-5521", "loyalty_id": "LOY-100245"}
    assert (event.traits["first_name"], event.traits["last_name"], "email" in event.traits) == (
        "Lena",
        "Fischer",
        False,
    )
    assert "identifier dropped: email is not_an_email" in caplog.messages


@pytest.mark.parametrize(
    ("context", "stored"),
    [
        ({"locale": "en-US"}, "+12125550147"),
        ({"locale": "de-DE", "location": {"country": "US"}}, "+12125550147"),
        ({"locale": "de-DE", "location": {"country": "United States"}}, "+492125550147"),
        ({}, "+492125550147"),  # nothing to go by: the shop's region
    ],
)
def test_segment_reads_a_national_phone_in_the_country_of_the_device(context: dict[str, Any], stored: str) -> None:
    def us_phone(message: dict[str, Any]) -> None:
        message["context"] = {**message["context"], "locale": None, **context}
        message["traits"]["phone"] = "(212) 555-0147"

    [event] = get_source("segment").parse(edited("segment", "identify_app", us_phone))
    assert ids(event)["phone"] == stored


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


def test_shopify_needs_its_topic_header() -> None:
    """A topic the shop subscribed to but the project does not read is acknowledged (test_sources_shopify_zendesk)."""
    item = delivery("shopify", "orders_create")
    with pytest.raises(MalformedPayload, match="X-Shopify-Topic header is required"):
        get_source("shopify").parse(item.__class__("shopify", item.body, {}, item.url))


@pytest.mark.parametrize("case", ["orders_create_pos_custom_sale", "checkouts_update", "customers_update"])
def test_a_signed_shopify_body_with_any_field_of_the_wrong_kind_is_malformed_never_a_crash(case: str) -> None:
    """Only MalformedPayload is quarantined (400); anything else would be a 500 and the delivery lost."""
    payload = sample("shopify", case)
    escaped = []
    for path in field_paths(payload):
        for value in (None, "two", -1, 1.5, True, [], {}, "NaN"):
            body = json.dumps(with_value(payload, path, value)).encode()
            try:
                get_source("shopify").parse(delivery("shopify", case, body=body))
            except MalformedPayload:
                pass
            except Exception as error:  # noqa: BLE001 - collected, then reported by the assertion
                escaped.append((path, value, repr(error)))
    assert escaped == []


@pytest.mark.parametrize("quantity", ["2", 1.5, -1, None, True])
def test_a_shopify_quantity_that_is_not_a_whole_number_names_its_line(quantity: Any) -> None:
    item = edited("shopify", "checkouts_update", lambda checkout: checkout["line_items"][1].update(quantity=quantity))
    with pytest.raises(MalformedPayload) as error:
        get_source("shopify").parse(item)
    assert error.value.field == "line_items[1].quantity"


def test_a_shopify_line_of_quantity_zero_is_left_out_of_the_cart() -> None:
    item = edited("shopify", "checkouts_update", lambda checkout: checkout["line_items"][1].update(quantity=0))
    [event] = get_source("shopify").parse(item)
    assert event.cart is not None
    assert [(line.sku, line.quantity) for line in event.cart.items] == [("SHOE-TRAIL-42", 1)]


def test_a_shopify_pos_custom_sale_is_kept_in_the_order_under_a_key_of_its_own() -> None:
    [event] = parse("shopify", "orders_create_pos_custom_sale")
    assert event.order is not None
    assert event.order.skus == ["SHOE-TRAIL-42", "custom-15012345712302"]
    assert [line.name for line in event.order.items] == ["Trail Runner 42", "Schuhpflege-Set"]
    assert event.order.total == Decimal("149.85")
    assert parse("shopify", "orders_create_pos_custom_sale") == [event]


def test_a_completed_shopify_checkout_changes_no_cart() -> None:
    [event] = parse("shopify", "checkouts_update_completed")
    assert (event.type, event.cart) == (EventType.tracked, None)
    assert event.properties["completed_at"] == sample("shopify", "checkouts_update_completed")["completed_at"]
    assert ids(event)["email"] == EMAIL


def test_shopify_deliveries_without_timestamps_are_told_apart_and_retries_are_not() -> None:
    def undated(phone: str) -> Delivery:
        def edit(customer: dict[str, Any]) -> None:
            del customer["updated_at"], customer["created_at"]
            customer["phone"] = phone

        return edited("shopify", "customers_update", edit)

    def event_id(item: Delivery, shopify_event_id: str | None = None) -> str:
        headers = dict(item.headers) | ({"X-Shopify-Event-Id": shopify_event_id} if shopify_event_id else {})
        [event] = get_source("shopify").parse(replace(item, headers=headers))
        return event.event_id

    first, second = undated("+4915123456789"), undated("+4915199999999")
    assert event_id(first, "98880550-7158-44d4-b7cd-2c97c8a091b5") == event_id(
        first, "98880550-7158-44d4-b7cd-2c97c8a091b5"
    )
    assert event_id(first, "98880550-7158-44d4-b7cd-2c97c8a091b5") != event_id(
        second, "2e3b5c1d-9a4f-4c7e-8b6d-0f1a2c3e4d5b"
    )
    assert event_id(first) == event_id(first)
    assert event_id(first) != event_id(second)
    assert not event_id(first).endswith("None")


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


def twilio_message(**params: str) -> Delivery:
    return delivery("twilio", "inbound_message", body=urlencode(sample("twilio", "inbound_message") | params).encode())


def test_twilio_reads_a_sender_without_country_code_in_from_country() -> None:
    [event] = get_source("twilio").parse(twilio_message(From="2125550147", FromCountry="US"))
    assert ids(event) == {"phone": "+12125550147"}


@pytest.mark.parametrize("sender", ["123", "+49 151 2345\u200b6789", "none"])
def test_twilio_message_from_an_invalid_number_is_refused_without_echoing_it(sender: str) -> None:
    with pytest.raises(MalformedPayload) as error:
        get_source("twilio").parse(twilio_message(From=sender))
    assert error.value.field == "From"
    assert sender not in error.value.detail


def test_zendesk_ticket_lifecycle() -> None:
    assert [parse("zendesk", case)[0].type for case in ("ticket_created", "ticket_updated", "ticket_solved")] == [
        EventType.ticket_opened,
        EventType.ticket_updated,
        EventType.ticket_solved,
    ]


def test_zendesk_ticket_without_a_requester_we_can_match_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="requester needs an email, phone or external_id"):
        parse("zendesk", "ticket_without_requester")


def test_two_zendesk_updates_in_one_minute_get_event_ids_of_their_own() -> None:
    def update(priority: str, event: str = "ticket.updated", status: str = "open") -> str:
        def edit(body: dict[str, Any]) -> None:
            body["event"] = event
            body["ticket"].update(updated_at="2026-03-06T11:40Z", priority=priority, status=status)

        [parsed] = get_source("zendesk").parse(edited("zendesk", "ticket_updated", edit))
        return parsed.event_id

    assert update("normal") != update("urgent")
    assert update("urgent") == update("urgent")
    # One update that solves a ticket fires both triggers: still one event.
    assert update("normal", "ticket.updated", "solved") == update("normal", "ticket.solved", "solved")


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


@pytest.mark.parametrize(
    ("notification", "published"),
    [("notification_complaint", "complaint"), ("notification_bounce", "bounce_permanent")],
)
def test_ses_identity_notifications_are_read_like_published_events(notification: str, published: str) -> None:
    [from_notification], [from_publishing] = parse("ses", notification), parse("ses", published)
    assert from_notification.event_id == from_publishing.event_id
    assert (from_notification.type, from_notification.consent) == (from_publishing.type, from_publishing.consent)
    assert ids(from_notification) == {"email": EMAIL}


@pytest.mark.parametrize(
    "case",
    IGNORED_SES_SAMPLES,
)
def test_ses_records_that_change_no_profile_give_no_events(case: str) -> None:
    assert parse("ses", case) == []


def test_the_ses_topic_validation_text_with_raw_message_delivery_gives_no_events() -> None:
    assert events_in(sample("ses", "topic_validation")["Message"]) == []


def test_an_ses_bounce_recipient_without_an_address_is_skipped() -> None:
    def add_unnamed(record: dict[str, Any]) -> None:
        record["bounce"]["bouncedRecipients"].insert(0, {"action": "failed", "status": "5.1.1"})

    events = get_source("ses").parse(edited("ses", "bounce_permanent", add_unnamed))
    assert [event.message.recipient for event in events if event.message] == [EMAIL]
    nobody = edited("ses", "complaint", lambda record: record["complaint"].update(complainedRecipients=[{}]))
    assert get_source("ses").parse(nobody) == []


def test_an_ses_open_is_credited_to_the_to_addresses_not_cc_or_bcc() -> None:
    [event] = parse("ses", "open_with_cc")
    assert ids(event) == {"email": EMAIL}
    headerless = edited("ses", "open_with_cc", lambda record: record["mail"].pop("commonHeaders"))
    recipients = [event.message.recipient for event in get_source("ses").parse(headerless) if event.message]
    assert recipients == [EMAIL, "jonas.fischer@example.com"]


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(MalformedPayload, match=r"the body is not JSON: .* at line 1 column \d+"):
        get_source("segment").parse(delivery("segment", "page", body=b'{"type": "page",'))


def test_every_source_has_sample_payloads() -> None:
    assert {source for source, _ in ALL_SAMPLES} == {"segment", "shopify", "twilio", "zendesk", "ses", "hubspot"}
