"""The limits at ingest (docs/sources/README.md#limits): what is too big, too deep, too odd or too far in time is a 4xx
naming the field before anything is queued, so nothing answered 2xx can fail later in the profile function."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnijourney.app import config
from omnijourney.edge import ingest
from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery, canonical_event, load_json
from omnijourney.events import MAX_PRODUCT_CHARS, CanonicalEvent
from omnijourney.platform import clock
from omnijourney.platform.errors import MalformedPayload, OmnijourneyError, PayloadTooLarge
from omnijourney.profiles.model import TRAIT_BUDGET_BYTES, apply_event, new_profile
from tests.conftest import RECEIVED_AT, delivery, sample, signed


def nested(depth: int) -> Any:
    value: Any = "shoes"
    for _ in range(depth - 1):
        value = {"inner": value}
    return value


def segment_message(**changes: Any) -> Delivery:
    message = sample("segment", "product_added")
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = message
        for key in parents:
            target = target[key]
        target[last] = value
    return delivery("segment", "product_added", body=json.dumps(message).encode())


def refused(item: Delivery) -> OmnijourneyError:
    with pytest.raises(OmnijourneyError) as raised:
        get_source(item.source).parse(item)
    assert 400 <= raised.value.status < 500
    return raised.value


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_json_nested_deeper_than_32_levels_is_400_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(MalformedPayload, match="nests deeper than 32 levels") as raised:
        load_json(b"[" * depth + b"]" * depth)
    assert raised.value.field == "body"


def test_json_32_levels_deep_and_brackets_inside_strings_are_read() -> None:
    assert load_json(json.dumps({"note": "[[[[{{{{" * 20, "deep": nested(31)}).encode())["note"].startswith("[[")


def test_a_lone_surrogate_is_400_naming_the_field() -> None:
    error = refused(segment_message(properties__name="Trail \ud800 Runner"))
    assert (error.status, error.field) == (400, "properties.name")
    assert "invalid Unicode" in error.detail


def test_an_escaped_backslash_before_u_is_text_not_a_surrogate() -> None:
    assert load_json(rb'{"path": "C:\\ud800"}') == {"path": "C:\\ud800"}


def test_nan_is_not_json() -> None:
    with pytest.raises(MalformedPayload, match="NaN is not a JSON value"):
        load_json(b'{"price": NaN}')


@pytest.mark.parametrize(
    "timestamp",
    ["9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59Z"],
)
def test_a_timestamp_out_of_range_or_overflowing_with_its_offset_is_400_naming_the_field(timestamp: str) -> None:
    error = refused(segment_message(timestamp=timestamp))
    assert (error.status, error.field) == (400, "timestamp")
    assert error.detail.startswith(f"timestamp {timestamp} is ")


def test_a_timestamp_more_than_7_days_ahead_of_arrival_is_400_and_one_6_days_ahead_is_kept() -> None:
    error = refused(segment_message(timestamp="2026-03-11T10:30:01Z"))
    assert (error.field, error.detail) == (
        "timestamp",
        "timestamp 2026-03-11T10:30:01Z is more than 7 days after the delivery was received",
    )
    (event,) = get_source("segment").parse(segment_message(timestamp="2026-03-10T10:30:00Z"))
    assert event.occurred_at.isoformat() == "2026-03-10T10:30:00+00:00"


def test_a_shopify_order_from_year_one_is_400_naming_created_at() -> None:
    order = sample("shopify", "orders_create_pos") | {"created_at": "0001-01-01T00:00:00-05:00"}
    error = refused(delivery("shopify", "orders_create_pos", body=json.dumps(order).encode()))
    assert (error.status, error.field) == (400, "created_at")


@pytest.mark.parametrize(
    ("change", "field", "detail"),
    [
        ({"properties__description": "x" * 8_193}, "properties", "properties.description is a string of 8193"),
        ({"properties__notes": ["y" * 8_000, "y" * 8_000, "y" * 1_000]}, "properties", "at most 16384 are accepted"),
        ({"properties": {"sku": "SHOE-TRAIL-42"} | {f"key{n}": n for n in range(100)}}, "properties", "has 101 keys"),
        ({"context__traits": {"bio": "z" * 9_000}}, "traits", "traits.bio is a string of 9000"),
        ({"event": "E" * 9_000}, "name", "name is a string of 9000"),
    ],
)
def test_traits_properties_and_text_over_budget_are_400_naming_the_field(
    change: dict[str, Any], field: str, detail: str
) -> None:
    error = refused(segment_message(**change))
    assert (error.status, error.field) == (400, field)
    assert detail in error.detail


def test_a_message_over_budget_in_a_segment_batch_is_named_by_its_place_in_the_batch() -> None:
    message = sample("segment", "product_added")
    too_long = message | {"messageId": "second", "event": "E" * 9_000}
    body = json.dumps({"batch": [message, too_long]}).encode()
    error = refused(delivery("segment", "product_added", body=body))
    assert (error.status, error.field) == (400, "batch[1].name")


def test_properties_nested_deeper_than_32_levels_are_400_in_the_body_and_in_the_event() -> None:
    error = refused(segment_message(properties__spec=nested(40)))
    assert (error.field, error.detail) == ("body", "the body nests deeper than 32 levels")
    with pytest.raises(
        MalformedPayload, match=r"properties: nests deeper than 32 levels at properties\.spec"
    ) as raised:
        canonical_event(**EVENT, properties={"spec": nested(300)})
    assert raised.value.field == "properties"


def test_a_trait_over_what_a_profile_keeps_of_one_is_400_naming_the_trait() -> None:
    # The profile keeps one trait of at most TRAIT_BUDGET_BYTES and drops a bigger one: answered 2xx, it would be
    # refused later without anyone being told.
    budget = TRAIT_BUDGET_BYTES - len('{"bio":""}')
    (kept,) = get_source("segment").parse(segment_message(context__traits={"bio": "z" * budget}))
    assert len(kept.traits["bio"]) == budget
    error = refused(segment_message(context__traits={"bio": "z" * (budget + 1), "plan": "gold"}))
    assert (error.status, error.field) == (400, "traits.bio")
    assert f"at most {TRAIT_BUDGET_BYTES}" in error.detail
    assert "zzz" not in error.detail


def test_every_trait_that_passes_ingest_is_kept_by_the_profile() -> None:
    traits = {"bio": "ü" * 1_000, "notes": ["n" * 1_000] * 3, "plan": {"tier": "gold", "since": 2021}}
    (event,) = get_source("segment").parse(segment_message(context__traits=traits))
    profile = apply_event(new_profile("cus_test", RECEIVED_AT), event, config.lifecycle())
    assert profile.traits == event.traits == traits


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"properties__sku": "S" * 256}, "cart.items.0.sku"),
        ({"properties__name": "N" * 256}, "cart.items.0.name"),
    ],
)
def test_a_segment_sku_or_product_name_over_255_characters_is_400_naming_it(change: dict[str, Any], field: str) -> None:
    error = refused(segment_message(**change))
    assert (error.status, error.field) == (400, field)
    assert f"at most {MAX_PRODUCT_CHARS}" in error.detail


@pytest.mark.parametrize(
    ("case", "path", "field"),
    [
        ("orders_create", ("line_items", 0, "sku"), "order.items.0.sku"),
        ("orders_create", ("line_items", 0, "title"), "order.items.0.name"),
        ("checkouts_update", ("line_items", 0, "sku"), "cart.items.0.sku"),
        ("refunds_create", ("refund_line_items", 0, "line_item", "sku"), "refund.skus.0"),
    ],
)
def test_a_shopify_sku_or_product_name_over_255_characters_is_400_naming_it(
    case: str, path: tuple[str | int, ...], field: str
) -> None:
    payload = sample("shopify", case)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "X" * (MAX_PRODUCT_CHARS + 1)
    error = refused(delivery("shopify", case, body=json.dumps(payload).encode()))
    assert (error.status, error.field) == (400, field)
    target[path[-1]] = "X" * MAX_PRODUCT_CHARS
    assert get_source("shopify").parse(delivery("shopify", case, body=json.dumps(payload).encode()))


def test_a_queued_event_accepted_before_a_limit_was_added_is_applied_as_it_is() -> None:
    """Answered 2xx under the limits of its day: a limit added since must not quarantine it (the profile's own
    bounds keep what it stores small); ingest refuses the same event today."""
    (event,) = get_source("segment").parse(segment_message())
    body = json.loads(event.to_message())
    body["cart"]["items"][0]["sku"] = "S" * 256
    body["traits"] = {"bio": "b" * 5_000}
    queued = CanonicalEvent.from_message(json.dumps(body))
    assert (queued.cart.items[0].sku, queued.traits["bio"]) == ("S" * 256, "b" * 5_000)
    with pytest.raises(MalformedPayload) as refused:
        canonical_event(**queued.model_dump())
    assert refused.value.field in {"traits.bio", "cart.items.0.sku"}


EVENT: dict[str, Any] = {
    "event_id": "test:1",
    "source": "test",
    "type": "tracked",
    "name": "Tested",
    "channel": "web",
    "occurred_at": RECEIVED_AT,
    "received_at": RECEIVED_AT,
}


def test_properties_within_budget_survive_the_queue() -> None:
    (event,) = get_source("segment").parse(
        segment_message(properties__spec=nested(30), properties__description="x" * 8_000)
    )
    assert CanonicalEvent.from_message(event.to_message()) == event


class FakeQueue:
    """SQS as far as `enqueue` uses it, holding SQS's limits: 10 messages and 256 KiB per call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        bodies = [entry["MessageBody"] for entry in Entries]
        assert len(bodies) <= 10
        assert sum(len(body.encode()) for body in bodies) <= 256 * 1024
        self.calls.append(bodies)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> FakeQueue:
    """accept_delivery with the local secrets and a fake queue; quarantine stores nothing."""
    from omnijourney.edge import quarantine
    from omnijourney.platform import aws
    from omnijourney_tools.local import LOCAL_SECRETS

    fake = FakeQueue()
    monkeypatch.setattr(ingest, "webhook_secret", LOCAL_SECRETS.__getitem__)
    monkeypatch.setattr(aws, "client", lambda name: fake)
    monkeypatch.setattr(quarantine, "quarantine", lambda item, error: "quarantine/test")
    monkeypatch.setattr(clock, "now", lambda: RECEIVED_AT)
    return fake


def accept(item: Delivery) -> ingest.Receipt:
    item = signed(item)
    return ingest.accept_delivery(item.source, item.headers, item.body, item.url)


def test_a_batch_of_ten_32_kb_messages_is_queued_in_calls_sqs_takes(queue: FakeQueue) -> None:
    message = sample("segment", "product_added")
    notes = ["n" * 7_000] * 2
    traits = {f"note_{n}": "n" * 3_500 for n in range(4)}  # each within what a profile keeps of one trait
    batch = [
        message | {"messageId": f"m-{n}", "properties": {**message["properties"], "notes": notes}, "traits": traits}
        for n in range(10)
    ]
    receipt = accept(delivery("segment", "batch", body=json.dumps({"batch": batch}).encode()))
    assert len(receipt.event_ids) == 10
    assert sum(len(call) for call in queue.calls) == 10
    assert len(queue.calls) > 1


def test_a_shopify_order_too_big_for_the_queue_is_413_and_nothing_is_queued(queue: FakeQueue) -> None:
    order = sample("shopify", "orders_create_pos")
    order["line_items"] = [
        {"sku": f"SKU-{n:03}-" + "s" * 240, "title": "t" * 255, "quantity": 1, "price": "1.00"} for n in range(600)
    ]
    with pytest.raises(PayloadTooLarge, match="as a queue message; at most 262144"):
        accept(delivery("shopify", "orders_create_pos", body=json.dumps(order).encode()))
    assert queue.calls == []


@settings(derandomize=True, max_examples=25, deadline=None)
@given(padding=st.integers(min_value=0, max_value=600_000), where=st.sampled_from(["properties", "traits", "context"]))
def test_whatever_its_size_a_segment_delivery_is_queued_whole_or_refused_with_a_4xx(padding: int, where: str) -> None:
    fake = FakeQueue()
    message = sample("segment", "product_added")
    message[where] = {**message.get(where, {}), "padding": "p" * padding}
    body = json.dumps(message).encode()
    with pytest.MonkeyPatch.context() as patch:
        from omnijourney.platform import aws
        from omnijourney_tools.local import LOCAL_SECRETS

        patch.setattr(ingest, "webhook_secret", LOCAL_SECRETS.__getitem__)
        patch.setattr(aws, "client", lambda name: fake)
        patch.setattr("omnijourney.edge.quarantine.quarantine", lambda item, error: "quarantine/test")
        patch.setattr(clock, "now", lambda: RECEIVED_AT)
        try:
            event_ids = accept(delivery("segment", "product_added", body=body)).event_ids
        except OmnijourneyError as error:
            status, event_ids = error.status, []
        else:
            status = 202
    assert status in (202, 400, 413)
    assert len(event_ids) == (1 if status == 202 else 0)
    assert [CanonicalEvent.from_message(body).event_id for call in fake.calls for body in call] == event_ids
