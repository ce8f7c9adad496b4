"""One delivery followed by its correlation id through the local backend: the queue message, the profile function's
log, the execution input, the run and the ledger entry, with no address in the log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from omnijourney.events import correlation_id_of
from omnijourney.journeys.contract import ExecutionInput
from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings
from omnijourney.runtime import ledger_records, runs
from omnijourney.runtime.triggers import execution_arn
from tests.conftest import delivery, sample, signed
from tests.integration.conftest import Harness

EMAIL = "lena.fischer@example.com"


@pytest.fixture
def profile_log(harness: Harness) -> Iterator[io.StringIO]:
    """The profile function's log lines at INFO, as CloudWatch would get them (locally its level is ERROR)."""
    logger = harness.backend.handler("profile").logger
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("INFO")
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def queued_bodies() -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(
        QueueUrl=get_settings().events_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_one_shopify_delivery_is_followed_by_its_correlation_id_to_the_ledger(
    harness: Harness, profile_log: io.StringIO
) -> None:
    signup = signed(delivery("shopify", "customers_create"))
    status, answer = harness.post(signup)
    assert status == 202
    correlation_id = correlation_id_of("shopify", answer["event_ids"])
    assert [body["correlation_id"] for body in queued_bodies()] == [correlation_id]

    harness.backend.drain()
    harness.backend.clock.settle()

    lines = [json.loads(line) for line in profile_log.getvalue().splitlines()]
    [recorded] = [line for line in lines if line["message"] == "event recorded"]
    assert recorded["correlation_id"] == correlation_id
    customer = sample("shopify", "customers_create")
    for personal in (EMAIL, customer["email"], customer.get("phone"), customer.get("first_name")):
        if personal:
            assert personal not in profile_log.getvalue()

    [run] = list(runs.every_run())
    assert run.journey_entry.correlation_id == correlation_id
    described = aws.client("stepfunctions").describe_execution(executionArn=execution_arn(run.journey, run.execution))
    execution_input = ExecutionInput.model_validate_json(described["input"])
    assert execution_input.entry is not None
    assert execution_input.entry.correlation_id == correlation_id
    [welcome] = list(ledger_records.every_entry())
    assert welcome.correlation_id == correlation_id


def test_a_resent_delivery_carries_the_same_correlation_id_and_another_delivery_another(harness: Harness) -> None:
    signup = signed(delivery("shopify", "customers_create"))
    harness.post(signup)
    harness.post(signup)
    harness.post(signed(delivery("shopify", "orders_create")))
    first, resent, order = (body["correlation_id"] for body in queued_bodies())
    assert first == resent
    assert order != first


def test_a_send_task_whose_entry_has_no_correlation_id_writes_one_derived_from_the_event(harness: Harness) -> None:
    """An execution started before entries carried the id: its ledger entry gets the event's own."""
    harness.deliver(signed(delivery("shopify", "customers_create")))
    harness.backend.clock.settle()
    [welcome] = list(ledger_records.every_entry())
    execution, step, _ = welcome.message_key.split("#")
    [run] = list(runs.every_run())
    old_entry = {key: value for key, value in run.entry_data.items() if key != "correlation_id"}
    task = {
        "action": "send",
        "journey": "welcome_series",
        "step": step,
        "execution": execution,
        "customer_id": run.customer_id,
        "entry": old_entry,
        "send": {"channel": "email", "template": "welcome_email", "category": "marketing", "promotes": "none"},
        "policy": {"journey": "welcome_series", "priority": 40},
        "visit": "2026-03-09T09:00:00.000Z",
    }
    harness.backend.journey_step(task)
    [again] = [
        entry for entry in ledger_records.every_entry() if entry.message_key.endswith("2026-03-09T09:00:00.000Z")
    ]
    assert again.correlation_id == correlation_id_of("shopify", [old_entry["event_id"]])
