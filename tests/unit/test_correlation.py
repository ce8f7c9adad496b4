"""The correlation id that follows one delivery: deterministic, free of personal data, and optional on every model
that carries it, so messages and executions in the shape of an earlier deploy still read."""

from __future__ import annotations

import json
from pathlib import Path

from omnijourney.events import CanonicalEvent, correlation_id_of
from omnijourney.journeys.contract import ExecutionInput, scheduled_entry
from omnijourney.profiles.model import Profile
from tests.conftest import RECEIVED_AT

PAYLOADS = Path(__file__).parent.parent / "payloads"


def test_a_resent_delivery_gets_the_same_correlation_id_and_another_delivery_another() -> None:
    first = correlation_id_of("segment", ["segment:msg-1", "segment:msg-2"])
    assert correlation_id_of("segment", ["segment:msg-1", "segment:msg-2"]) == first
    assert correlation_id_of("segment", ["segment:msg-3"]) != first
    assert correlation_id_of("shopify", ["segment:msg-1", "segment:msg-2"]) != first


def test_the_correlation_id_shows_no_event_id_or_address() -> None:
    correlation_id = correlation_id_of("twilio", ["twilio:+4915112345678", "lena.fischer@example.com"])
    assert correlation_id.startswith("twilio-")
    assert "4915112345678" not in correlation_id
    assert "lena" not in correlation_id


def test_a_queue_message_in_todays_shape_still_parses() -> None:
    """Queued (or dead-lettered) before events carried a correlation id: `extra="forbid"` still accepts it."""
    message = json.loads((PAYLOADS / "queue_message_before_correlation.json").read_text())["message"]
    assert "correlation_id" not in json.loads(message)
    event = CanonicalEvent.from_message(message)
    assert event.correlation_id is None
    assert event.correlation == correlation_id_of("shopify", [event.event_id])


def test_an_execution_input_in_the_shape_before_correlation_ids_still_validates() -> None:
    old = {
        "customer_id": "cus_1",
        "entry": {
            "event_id": "shopify:1",
            "type": "identify",
            "channel": "web",
            "source": "shopify",
            "at": "2026-03-02T18:12:41Z",
        },
    }
    execution_input = ExecutionInput.model_validate_json(json.dumps(old))
    assert execution_input.entry is not None
    assert execution_input.entry.correlation_id is None
    assert execution_input.entry.correlation == correlation_id_of("shopify", ["shopify:1"])


def test_a_schedule_firing_has_one_correlation_id_of_its_own() -> None:
    def profile(customer_id: str) -> Profile:
        return Profile(customer_id=customer_id, created_at=RECEIVED_AT, updated_at=RECEIVED_AT)

    fired = scheduled_entry("monthly_picks", "cron(0 9 1 * ? *)", RECEIVED_AT, profile("cus_1"))
    again = scheduled_entry("monthly_picks", "cron(0 9 1 * ? *)", RECEIVED_AT, profile("cus_2"))
    assert fired.correlation_id == again.correlation_id == correlation_id_of("schedule", [fired.event_id])
