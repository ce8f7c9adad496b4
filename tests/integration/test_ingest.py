"""POST /webhooks/{source}: what each channel is answered, and that a rejected delivery changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omnijourney.platform import clock
from tests.conftest import RECEIVED_AT, delivery, sample, signed
from tests.integration.conftest import Harness

SIGNED_SAMPLES = [
    ("segment", "product_added"),
    ("segment", "batch"),
    ("shopify", "orders_create_pos"),
    ("shopify", "checkouts_update"),
    ("twilio", "inbound_stop"),
    ("zendesk", "ticket_created"),
]


@pytest.mark.parametrize(("source", "case"), SIGNED_SAMPLES)
def test_a_signed_vendor_payload_is_accepted_with_202(harness: Harness, source: str, case: str) -> None:
    status, body = harness.deliver(signed(delivery(source, case)))
    assert status == 202, body
    assert body["accepted"] == len(body["event_ids"]) >= 1
    assert len(harness.live_profiles()) == 1


@pytest.mark.parametrize(("source", "case"), SIGNED_SAMPLES)
def test_a_wrong_signature_is_401_and_changes_nothing(harness: Harness, source: str, case: str) -> None:
    status, body = harness.deliver(signed(delivery(source, case), secret="someone-else"))
    assert status == 401
    assert body["title"] == "Bad or missing signature"
    assert harness.live_profiles() == []


@pytest.mark.parametrize(("source", "case"), SIGNED_SAMPLES)
def test_a_missing_signature_is_401_naming_the_header(harness: Harness, source: str, case: str) -> None:
    status, body = harness.deliver(delivery(source, case))
    assert status == 401
    assert body["field"].lower().startswith("x-")
    assert harness.live_profiles() == []


def test_an_unknown_source_is_404_problem_json(harness: Harness) -> None:
    status, body = harness.post(delivery("segment", "page").__class__("mailchimp", b"{}", {}, ""))
    assert status == 404
    assert body == {
        "type": "about:blank",
        "title": "Unknown source",
        "status": 404,
        "detail": "no webhook source named 'mailchimp'; webhook sources: segment, shopify, twilio, zendesk, hubspot",
        "field": "source",
    }


def test_ses_events_do_not_come_in_as_webhooks(harness: Harness) -> None:
    status, body = harness.post(delivery("ses", "delivery"))
    assert status == 404
    assert body["detail"] == "'ses' events arrive through AWS, not as a webhook"


def test_the_local_backend_holds_a_secret_for_each_webhook_source_and_none_for_ses(harness: Harness) -> None:
    from omnijourney.platform.aws import client

    parameters = client("ssm").get_parameters_by_path(Path="/omnijourney/test/webhook-secrets")["Parameters"]
    assert sorted(parameter["Name"].rsplit("/", 1)[1] for parameter in parameters) == [
        "hubspot",
        "segment",
        "shopify",
        "twilio",
        "zendesk",
    ]


def test_an_oversize_body_is_413_before_anything_else(harness: Harness) -> None:
    huge = json.dumps({"type": "track", "padding": "x" * 600_000}).encode()
    status, body = harness.deliver(signed(delivery("segment", "page", body=huge)))
    assert status == 413
    assert "at most 524288" in body["detail"]
    assert harness.live_profiles() == []


def test_a_segment_message_over_32_kb_is_413(harness: Harness) -> None:
    message = json.loads(delivery("segment", "product_added").body)
    message["properties"]["description"] = "x" * 33_000
    status, _ = harness.deliver(signed(delivery("segment", "product_added", body=json.dumps(message).encode())))
    assert status == 413
    assert harness.live_profiles() == []


def test_signed_but_malformed_json_is_400_and_quarantined_for_replay(harness: Harness) -> None:
    status, body = harness.deliver(signed(delivery("shopify", "orders_create", body=b'{"id": 1, "line_items": [')))
    assert status == 400
    assert body["detail"].startswith("the body is not JSON")
    assert body["quarantine_id"].startswith("quarantine/shopify/2026/03/04/")
    from omnijourney_tools.quarantine import list_quarantined

    assert list_quarantined() == [body["quarantine_id"]]
    assert harness.live_profiles() == []


@pytest.mark.parametrize("quantity", ["2", 1.5, -1])
def test_a_shopify_order_with_a_quantity_that_is_not_a_whole_number_is_400_and_quarantined(
    harness: Harness, quantity: Any
) -> None:
    order = sample("shopify", "orders_create_pos")
    order["line_items"][0]["quantity"] = quantity
    status, body = harness.deliver(signed(delivery("shopify", "orders_create_pos", body=json.dumps(order).encode())))
    assert status == 400
    assert body["field"] == "line_items[0].quantity"
    assert body["quarantine_id"].startswith("quarantine/shopify/")
    assert harness.live_profiles() == []


@pytest.mark.parametrize(("field", "value"), [("traits", [None]), ("context", "web"), ("properties", 1)])
def test_a_segment_message_whose_object_field_is_not_an_object_is_400_and_quarantined(
    harness: Harness, field: str, value: Any
) -> None:
    message = sample("segment", "product_added") | {field: value}
    status, body = harness.deliver(signed(delivery("segment", "product_added", body=json.dumps(message).encode())))
    assert status == 400
    assert body["field"] == field
    assert body["quarantine_id"].startswith("quarantine/segment/")


def test_a_schema_invalid_message_is_400_naming_the_field(harness: Harness) -> None:
    status, body = harness.deliver(signed(delivery("segment", "invalid_track_without_event")))
    assert status == 400
    assert body["field"] == "event"
    assert body["detail"] == "event is required"


def test_a_quarantined_delivery_replays_once_fixed(harness: Harness) -> None:
    from omnijourney_tools.quarantine import list_quarantined, replay

    fixed = delivery("shopify", "orders_create_pos").body
    _, body = harness.deliver(signed(delivery("shopify", "orders_create_pos", body=fixed[:-5])))
    event_ids = replay(body["quarantine_id"], fixed)
    harness.backend.drain()
    assert event_ids == [f"shopify:orders/create:{json.loads(fixed)['id']}"]
    assert list_quarantined() == []
    status, profile = harness.lookup(phone="+4915123456789")
    assert status == 200
    assert [order["channel"] for order in profile["orders"]] == ["pos"]


def test_zendesk_refuses_a_replayed_old_signature(harness: Harness) -> None:
    old = signed(delivery("zendesk", "ticket_created"), at=RECEIVED_AT.replace(hour=9))
    status, body = harness.deliver(old)
    assert status == 401
    assert "outside the 300 s window" in body["detail"]


def test_twilio_signs_the_url_the_channel_called(harness: Harness) -> None:
    item = signed(delivery("twilio", "inbound_stop"))
    moved = item.__class__(item.source, item.body, item.headers, "https://elsewhere.example/webhooks/twilio")
    assert signed(moved).headers["X-Twilio-Signature"] != item.headers["X-Twilio-Signature"]
    assert harness.post(item)[0] == 202


def test_every_accepted_event_is_on_the_queue_until_processed(harness: Harness) -> None:
    clock.use(lambda: RECEIVED_AT)
    status, body = harness.post(signed(delivery("segment", "batch")))
    assert status == 202
    assert harness.backend.drain() == body["accepted"]


DEEP = "an array nested 1,000 deep"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"properties": {"spec": DEEP}}, "body"),
        ({"properties": {"name": "Trail \ud800 Runner"}}, "properties.name"),
        ({"timestamp": "9999-12-31T23:59:59-14:00"}, "timestamp"),
        ({"properties": {"sku": "SHOE-TRAIL-42", "notes": ["n" * 8_000] * 3}}, "properties"),
    ],
)
def test_signed_input_beyond_a_limit_is_400_naming_the_field_quarantined_and_changes_nothing(
    harness: Harness, change: dict[str, Any], field: str
) -> None:
    message = json.dumps(sample("segment", "product_added") | change).replace(f'"{DEEP}"', "[" * 1_000 + "]" * 1_000)
    status, body = harness.deliver(signed(delivery("segment", "product_added", body=message.encode())))
    assert status == 400, body
    assert body["field"] == field
    assert body["quarantine_id"].startswith("quarantine/segment/")
    assert harness.live_profiles() == []
