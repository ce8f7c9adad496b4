"""One profile per customer: identity resolution, merges, duplicates, concurrency, batches, erasure."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from omnijourney.edge.sources import get_source
from omnijourney.events import CanonicalEvent
from omnijourney.identifiers import IdentifierKind
from omnijourney.profiles import service, store
from omnijourney_tools.local import LambdaContext
from tests.conftest import IGNORED_SES_SAMPLES, delivery, sample, signed
from tests.integration.conftest import Harness

PHONE = "+4915123456789"
EMAIL = "lena.fischer@example.com"


def deliver_all(harness: Harness, *cases: tuple[str, str]) -> None:
    for source, case in cases:
        status, body = harness.deliver(signed(delivery(source, case)))
        assert status == 202, (case, body)


def test_an_anonymous_web_cart_is_on_the_profile_the_store_finds_by_phone(harness: Harness) -> None:
    deliver_all(
        harness,
        ("segment", "page"),
        ("segment", "product_added"),
        ("segment", "identify_app"),
        ("shopify", "customers_update"),
    )
    status, profile = harness.lookup(phone=PHONE)
    assert status == 200
    assert [item["sku"] for item in profile["cart"]["items"]] == ["SHOE-TRAIL-42"]
    assert profile["cart"]["channel"] == "web"
    assert profile["identifiers"]["email"] == [EMAIL]
    assert profile["identifiers"]["anonymous_id"] == [sample("segment", "page")["anonymousId"]]
    assert profile["identifiers"]["shopify_customer_id"] == ["7390123456789"]
    assert profile["identifiers"]["loyalty_id"] == ["LOY-100245"]
    assert len(harness.live_profiles()) == 1


def test_two_known_profiles_sharing_a_phone_become_one(harness: Harness) -> None:
    deliver_all(harness, ("segment", "product_added"), ("segment", "order_completed"))
    first = {record.customer_id for record in harness.live_profiles()}
    deliver_all(harness, ("shopify", "customers_create"))
    assert len(harness.live_profiles()) == 2
    deliver_all(harness, ("zendesk", "ticket_created"))
    [winner] = harness.live_profiles()
    status, profile = harness.profile(winner.customer_id)
    assert status == 200
    assert profile["identifiers"]["phone"] == [PHONE]
    assert {o["order_id"] for o in profile["orders"]} == {
        sample("segment", "order_completed")["properties"]["order_id"]
    }
    assert [t["ticket_id"] for t in profile["open_tickets"]] == ["48213"]
    loser = (first | {winner.customer_id}) - {winner.customer_id}
    for customer_id in loser:
        assert harness.profile(customer_id)[1]["customer_id"] == winner.customer_id


def test_a_duplicate_delivery_changes_nothing_the_second_time(harness: Harness) -> None:
    order = signed(delivery("shopify", "orders_create_pos"))
    harness.deliver(order)
    before = harness.lookup(phone=PHONE)[1]
    status, _ = harness.deliver(order)
    assert status == 202
    after = harness.lookup(phone=PHONE)[1]
    assert after == before
    assert len(after["orders"]) == 1


def test_a_duplicate_cart_add_does_not_double_the_quantity(harness: Harness) -> None:
    add = signed(delivery("segment", "product_added_socks"))
    harness.deliver(add)
    harness.deliver(add)
    anonymous_id = sample("segment", "product_added_socks")["anonymousId"]
    [record] = harness.live_profiles()
    assert record.profile.identifiers["anonymous_id"] == (anonymous_id,)
    assert [(item.sku, item.quantity) for item in record.profile.cart.items] == [("SOCK-MERINO-M", 2)]


def test_twilio_stop_unsubscribes_sms_and_start_resubscribes(harness: Harness) -> None:
    deliver_all(harness, ("twilio", "inbound_stop"))
    assert harness.lookup(phone=PHONE)[1]["consent"]["sms"] == "unsubscribed"
    # A minute later: at the same instant the opt-out would win, whichever arrived last.
    harness.backend.clock.advance_to(harness.backend.clock.now() + timedelta(minutes=1))
    deliver_all(harness, ("twilio", "inbound_start"))
    assert harness.lookup(phone=PHONE)[1]["consent"]["sms"] == "subscribed"


def test_ses_complaint_unsubscribes_email_through_the_sns_path(harness: Harness) -> None:
    deliver_all(harness, ("shopify", "customers_create"))
    assert harness.lookup(email=EMAIL)[1]["consent"]["email"] == "subscribed"
    harness.backend.publish_ses_event(sample("ses", "complaint"))
    harness.backend.drain()
    assert harness.lookup(email=EMAIL)[1]["consent"]["email"] == "unsubscribed"


def test_an_ses_identity_complaint_notification_unsubscribes_email(harness: Harness) -> None:
    deliver_all(harness, ("shopify", "customers_create"))
    harness.backend.publish_ses_event(sample("ses", "notification_complaint"))
    harness.backend.drain()
    assert harness.lookup(email=EMAIL)[1]["consent"]["email"] == "unsubscribed"
    assert harness.backend.dead_letters() == []


@pytest.mark.parametrize(
    "case",
    IGNORED_SES_SAMPLES,
)
def test_ses_records_that_change_no_profile_are_acknowledged_not_dead_lettered(harness: Harness, case: str) -> None:
    harness.backend.publish_ses_event(sample("ses", case))
    assert harness.backend.drain() == 1
    assert harness.backend.dead_letters() == []
    assert harness.live_profiles() == []


def test_a_pos_order_with_a_custom_sale_is_recorded_with_its_whole_total(harness: Harness) -> None:
    deliver_all(harness, ("shopify", "orders_create_pos_custom_sale"))
    [order] = harness.lookup(phone=PHONE)[1]["orders"]
    assert (order["channel"], order["total"], order["currency"]) == ("pos", 149.85, "EUR")
    assert order["skus"] == ["SHOE-TRAIL-42", "custom-15012345712302"]


def test_the_checkout_update_sent_as_the_order_completes_leaves_the_cart_empty(harness: Harness) -> None:
    deliver_all(harness, ("shopify", "checkouts_create"))
    assert [item["sku"] for item in harness.lookup(email=EMAIL)[1]["cart"]["items"]] == ["SHOE-TRAIL-42"]
    deliver_all(harness, ("shopify", "orders_create"), ("shopify", "checkouts_update_completed"))
    profile = harness.lookup(email=EMAIL)[1]
    assert profile["cart"] is None
    assert [order["skus"] for order in profile["orders"]] == [["SHOE-TRAIL-42"]]


def test_a_checkout_update_delivered_after_the_order_keeps_only_what_was_not_bought(harness: Harness) -> None:
    deliver_all(harness, ("shopify", "checkouts_create"), ("shopify", "orders_create"), ("shopify", "checkouts_update"))
    cart = harness.lookup(email=EMAIL)[1]["cart"]
    assert [(item["sku"], item["quantity"]) for item in cart["items"]] == [("SOCK-MERINO-M", 2)]


def test_a_later_shopify_customer_update_without_timestamps_is_not_taken_for_a_duplicate(harness: Harness) -> None:
    for tags, shopify_event_id in (("", "5b0c2d4e-1f3a-4b5c-8d7e-9f0a1b2c3d4e"), ("loyalty:LOY-100245", None)):
        customer = sample("shopify", "customers_update") | {"tags": tags}
        del customer["updated_at"], customer["created_at"]
        item = delivery("shopify", "customers_update", body=json.dumps(customer).encode())
        if shopify_event_id:
            item = replace(item, headers=dict(item.headers) | {"X-Shopify-Event-Id": shopify_event_id})
        status, body = harness.deliver(signed(item))
        assert status == 202, body
    assert harness.lookup(phone=PHONE)[1]["identifiers"]["loyalty_id"] == ["LOY-100245"]


def test_two_zendesk_updates_of_a_ticket_in_one_minute_are_both_recorded(harness: Harness) -> None:
    for priority in ("normal", "urgent"):
        update = sample("zendesk", "ticket_updated")
        update["ticket"].update(updated_at="2026-03-06T11:40Z", priority=priority)
        item = signed(delivery("zendesk", "ticket_updated", body=json.dumps(update).encode()))
        assert harness.deliver(item)[0] == 202
    activity = harness.lookup(phone=PHONE)[1]["recent_activity"]
    assert [entry["name"] for entry in activity] == ["ticket.updated", "ticket.updated"]


def test_a_stale_writer_loses_and_retries_instead_of_overwriting(harness: Harness) -> None:
    deliver_all(harness, ("segment", "product_added"))
    socks = get_source("segment").parse(delivery("segment", "product_added_socks"))[0]
    [record] = harness.live_profiles()
    real_load = store.load
    interfered: list[bool] = []

    def load_then_interfere(customer_id: str) -> Any:
        loaded = real_load(customer_id)
        if not interfered:  # another writer saves between our read and our write
            interfered.append(True)
            deliver_all(harness, ("segment", "identify_app"))
        return loaded

    store_load = pytest.MonkeyPatch()
    store_load.setattr(store, "load", load_then_interfere)
    try:
        service.record_event(socks)
    finally:
        store_load.undo()
    reloaded = real_load(record.customer_id)
    assert reloaded is not None
    assert reloaded.profile.cart is not None
    assert {item.sku for item in reloaded.profile.cart.items} == {"SHOE-TRAIL-42", "SOCK-MERINO-M"}
    assert reloaded.profile.identifiers[IdentifierKind.email] == (EMAIL,)


def test_concurrent_cart_updates_of_one_profile_are_all_kept(harness: Harness) -> None:
    deliver_all(harness, ("segment", "product_added"))
    template = get_source("segment").parse(delivery("segment", "product_added_socks"))[0]
    assert template.cart is not None
    cart = template.cart
    events = [
        template.model_copy(
            update={
                "event_id": f"segment:concurrent-{n}",
                "occurred_at": template.occurred_at + timedelta(seconds=n),
                "cart": cart.model_copy(update={"items": (cart.items[0].model_copy(update={"sku": f"SKU-{n}"}),)}),
            }
        )
        for n in range(6)
    ]
    errors: list[BaseException] = []

    def record(event: CanonicalEvent) -> None:
        try:
            service.record_event(event)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=record, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    [record_] = harness.live_profiles()
    assert {item.sku for item in record_.profile.cart.items} == {"SHOE-TRAIL-42"} | {f"SKU-{n}" for n in range(6)}


def test_a_poison_message_is_quarantined_alone_and_never_dead_lettered(harness: Harness) -> None:
    from omnijourney.platform.aws import client
    from omnijourney_tools.quarantine import list_quarantined

    sqs = client("sqs")
    harness.post(signed(delivery("segment", "product_added")))
    poison = json.dumps({"schema": "omnijourney.event/1", "event_id": "x"})
    sqs.send_message(QueueUrl=harness.backend.queue_url, MessageBody=poison)
    harness.post(signed(delivery("twilio", "inbound_stop")))
    messages = sqs.receive_message(QueueUrl=harness.backend.queue_url, MaxNumberOfMessages=10)["Messages"]
    records = [harness.backend._sqs_record(message) for message in messages]
    result = harness.backend.handler("profile").lambda_handler(
        {"Records": records}, LambdaContext("omnijourney-profile")
    )
    assert result == {"batchItemFailures": []}  # no retry can mend it: acknowledged, kept in quarantine
    assert [key.split("/")[1] for key in list_quarantined()] == ["events"]
    for message in messages:
        sqs.delete_message(QueueUrl=harness.backend.queue_url, ReceiptHandle=message["ReceiptHandle"])
    harness.backend.drain()
    assert len(harness.live_profiles()) == 2
    assert harness.backend.dead_letters() == []


def test_erasure_removes_the_customer_from_every_table(harness: Harness) -> None:
    deliver_all(harness, ("segment", "product_added"), ("segment", "identify_app"), ("shopify", "customers_update"))
    [record] = harness.live_profiles()
    status, body = harness.erase(record.customer_id)
    assert status == 200
    assert record.customer_id in body["erased"]
    assert harness.lookup(phone=PHONE)[0] == 404
    assert harness.lookup(email=EMAIL)[0] == 404
    assert list(store.ProfileRecord.scan()) == []
    assert list(store.IdentityRecord.scan()) == []
    assert list(store.HistoryRecord.scan()) == []
    assert harness.erase(record.customer_id)[0] == 404


def test_lookup_needs_exactly_one_identifier(harness: Harness) -> None:
    status, body = harness.lookup(phone=PHONE, email=EMAIL)
    assert status == 400
    assert body["detail"] == "give exactly one of phone, email, loyalty_id"
    assert harness.lookup(phone="not a phone")[0] == 404
    assert harness.lookup(loyalty_id="LOY-0")[0] == 404


def test_the_store_sees_recent_activity_across_channels(harness: Harness) -> None:
    deliver_all(harness, ("segment", "product_viewed"), ("segment", "identify_app"))
    profile = harness.lookup(email=EMAIL)[1]
    assert [entry["name"] for entry in profile["recent_activity"]] == ["identify", "Product Viewed"]
