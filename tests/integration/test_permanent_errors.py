"""2xx means applied or quarantined: an event DynamoDB or Step Functions will never take is quarantined with its
reason and acknowledged, never retried as a write conflict nor dead-lettered; throttling is still retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, TransactWriteError

from omnijourney.events import CanonicalEvent
from omnijourney.platform.aws import client
from omnijourney.platform.settings import get_settings
from omnijourney.profiles import store
from omnijourney.runtime import runs as journey_runs
from omnijourney.runtime.runs import JourneyRunRecord
from omnijourney_tools.local import LambdaContext
from omnijourney_tools.quarantine import list_quarantined, replay
from tests.conftest import delivery, signed
from tests.integration.conftest import Harness

EMAIL = "lena.fischer@example.com"


def _segment(case: str, **changes: Any) -> CanonicalEvent:
    """The canonical event of a Segment sample, as ingest queues it, with `changes`."""
    from omnijourney.edge.sources import get_source

    [event] = get_source("segment").parse(signed(delivery("segment", case)))
    return event.model_copy(update=changes)


def _process(harness: Harness, *bodies: str) -> dict[str, Any]:
    """One batch of the profile function over `bodies`, as Lambda's event source mapping hands it over: what
    succeeded is deleted, what failed is back on the queue at once (as after the visibility timeout)."""
    sqs = client("sqs")
    queue = harness.backend.queue_url
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    records = [harness.backend._sqs_record(message) for message in messages]
    failed = {message["MessageId"] for message in messages}
    try:
        result: dict[str, Any] = harness.backend.handler("profile").lambda_handler(
            {"Records": records}, LambdaContext("omnijourney-profile")
        )
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        return result
    finally:
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def _quarantined(key: str) -> dict[str, Any]:
    body = client("s3").get_object(Bucket=get_settings().quarantine_bucket, Key=key)["Body"].read()
    record: dict[str, Any] = json.loads(body)
    return record


def test_a_queued_event_with_a_user_id_past_the_key_limit_is_quarantined_and_acknowledged(harness: Harness) -> None:
    # A user id past DynamoDB's 2 KB key, queued before ingest bounded it: refused by the event model or by
    # DynamoDB, it must not loop through retries into the DLQ.
    too_long = json.loads(_segment("identify_app").to_message())
    too_long["identifiers"] = [{"kind": "user_id", "value": "u" * 3000}]
    fine = _segment("product_added")
    result = _process(harness, json.dumps(too_long), fine.to_message())
    assert result == {"batchItemFailures": []}
    [key] = list_quarantined()
    assert key.startswith("quarantine/events/")
    assert json.loads(_quarantined(key)["message"])["event_id"] == too_long["event_id"]
    harness.backend.drain()
    assert harness.backend.dead_letters() == []
    assert len(harness.live_profiles()) == 1  # the event beside it was recorded


def test_an_event_that_would_grow_the_profile_past_400_kb_is_quarantined_not_dead_lettered(harness: Harness) -> None:
    harness.deliver(signed(delivery("segment", "identify_app")))
    [record] = harness.live_profiles()
    # Notes from journeys have no cap yet: a profile already near DynamoDB's item limit.
    note = {"channel": "pos", "text": "x" * 1000, "journey": "abandoned_cart", "at": "2026-03-02T18:00:00Z"}
    document = json.loads(record.profile.model_dump_json())
    compact: dict[str, Any] = {"separators": (",", ":")}
    room = 404_000 - len(json.dumps(document, **compact))  # DynamoDB's limit is 400 KiB, 409,600 bytes
    document["notes"] = [note] * (room // len(json.dumps(note, **compact)))
    record.document = json.dumps(document, **compact)
    record.save()

    # Traits within every limit at ingest (a SKU or product name can no longer carry 8 KiB): 8 KB more.
    again = _segment("identify_app", event_id="segment:identify-again")
    more = again.model_copy(update={"traits": {f"note_{n}": "n" * 2_000 for n in range(4)}})
    result = _process(harness, more.to_message())
    assert result == {"batchItemFailures": []}
    [key] = list_quarantined()
    assert "exceeded the maximum" in _quarantined(key)["error"]["detail"]
    harness.backend.drain()
    assert harness.backend.dead_letters() == []


def test_a_message_that_is_not_a_valid_event_is_quarantined_with_the_fields_at_fault(harness: Harness) -> None:
    poison = json.dumps({"schema": "omnijourney.event/1", "event_id": "x"})
    assert _process(harness, poison) == {"batchItemFailures": []}
    [key] = list_quarantined()
    kept = _quarantined(key)
    assert kept["message"] == poison
    assert kept["error"]["title"] == "Malformed payload"
    assert "occurred_at" in kept["error"]["field"]
    assert harness.backend.dead_letters() == []


@contextmanager
def _throttled() -> Iterator[None]:
    throttling = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds"}},
        "TransactWriteItems",
    )

    def refuse(*_: Any, **__: Any) -> None:
        raise TransactWriteError("Failed to write transaction items", cause=throttling)

    with patch("pynamodb.transactions.TransactWrite._commit", refuse):
        yield


def test_a_throttled_write_is_retried_from_the_queue_not_quarantined(harness: Harness) -> None:
    event = _segment("identify_app")
    with _throttled(), pytest.raises(BatchProcessingError):  # the whole batch failed: Lambda lets SQS retry it
        _process(harness, event.to_message())
    assert list_quarantined() == []
    assert harness.live_profiles() == []
    harness.backend.drain()  # the throttling is over: the same message is recorded
    [record] = harness.live_profiles()
    assert record.profile.identifiers["email"] == (EMAIL,)
    assert harness.backend.dead_letters() == []


def test_a_refused_write_is_not_taken_for_a_conflict() -> None:
    refusal = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}},
        "PutItem",
    )
    with pytest.raises(store.Refused, match="maximum allowed size"), store.classified():
        raise TransactWriteError("Failed to write transaction items", cause=refusal)


def _refusal(code: str, operation: str = "StartExecution") -> ClientError:
    """Step Functions' answer to an execution input past 256 KB, as botocore raises it."""
    messages = {
        "ValidationException": "1 validation error detected: Value at 'input' failed to satisfy constraint: "
        "Member must have length less than or equal to 262144",
        "InvalidExecutionInput": "Input exceeds the maximum size of 262144 bytes",
        "ThrottlingException": "Rate exceeded",
    }
    return ClientError(
        {"Error": {"Code": code, "Message": messages[code]}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


@contextmanager
def _start_refused(code: str) -> Iterator[list[str]]:
    """Step Functions answers every StartExecution with `code`; the executions it was asked to start."""
    asked: list[str] = []

    def refuse(**request: Any) -> None:
        asked.append(request["name"])
        raise _refusal(code)

    with patch.object(client("stepfunctions"), "start_execution", refuse):
        yield asked


def _checkout() -> CanonicalEvent:
    """Lena starts a checkout of €129.95 with her email: the abandoned-cart journey starts on it."""
    from omnijourney.edge.sources import get_source

    [event] = get_source("shopify").parse(signed(delivery("shopify", "checkouts_create")))
    return event


def _runs() -> list[JourneyRunRecord]:
    return list(journey_runs.every_run())


@pytest.mark.parametrize("code", ["ValidationException", "InvalidExecutionInput"])
def test_a_journey_step_functions_will_never_start_is_quarantined_not_dead_lettered(
    harness: Harness, code: str
) -> None:
    checkout = _checkout()
    with _start_refused(code) as asked:
        result = _process(harness, checkout.to_message())
    assert asked  # the journey was to start on it
    assert result == {"batchItemFailures": []}
    [key] = list_quarantined()
    kept = _quarantined(key)
    assert json.loads(kept["message"])["event_id"] == checkout.event_id
    assert kept["error"]["title"] == "Refused by Step Functions"
    assert "262144" in kept["error"]["detail"]
    harness.backend.drain()
    assert harness.backend.dead_letters() == []
    assert len(harness.live_profiles()) == 1  # the profile was recorded before the journey was refused
    # The run never started, so none is left running to keep Lena out of the journey.
    assert _runs() == []


def test_a_quarantined_journey_refusal_replayed_once_mended_starts_the_journey(harness: Harness) -> None:
    with _start_refused("ValidationException"):
        _process(harness, _checkout().to_message())
    [key] = list_quarantined()
    replay(key)
    harness.backend.drain()
    assert [(run.journey, run.outcome) for run in _runs()] == [("abandoned_cart", "running")]
    assert list_quarantined() == []


def test_throttled_step_functions_is_retried_from_the_queue_not_quarantined(harness: Harness) -> None:
    with _start_refused("ThrottlingException"), pytest.raises(BatchProcessingError):
        _process(harness, _checkout().to_message())
    assert list_quarantined() == []
    harness.backend.drain()  # Step Functions answers again: the journey starts from the same message
    assert [(run.journey, run.outcome) for run in _runs()] == [("abandoned_cart", "running")]
    assert harness.backend.dead_letters() == []


def test_a_run_record_dynamodb_refuses_is_quarantined_not_taken_for_a_retry(harness: Harness) -> None:
    # Only the failed condition (the run recorded by an earlier attempt) may be passed over; a refused run record
    # used to be swallowed the same way, and the execution started with no run to account for it.
    refusal = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}},
        "PutItem",
    )
    original = JourneyRunRecord.save

    def save(record: JourneyRunRecord, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("condition") is not None:
            raise PutError("Failed to put item", cause=refusal)
        return original(record, *args, **kwargs)

    with patch.object(JourneyRunRecord, "save", save), _start_refused("ValidationException") as asked:
        result = _process(harness, _checkout().to_message())
    assert result == {"batchItemFailures": []}
    assert asked == []  # no execution without its run
    [key] = list_quarantined()
    assert "maximum allowed size" in _quarantined(key)["error"]["detail"]


def test_a_run_recorded_by_an_earlier_attempt_is_started_by_the_retry(harness: Harness) -> None:
    checkout = _checkout()
    with _start_refused("ThrottlingException"), pytest.raises(BatchProcessingError):
        _process(harness, checkout.to_message())
    [run] = _runs()  # recorded before StartExecution failed
    assert run.running
    harness.backend.drain()  # the condition on the run record fails, and is passed over: the retry starts it
    [run] = _runs()
    assert run.running
    assert list_quarantined() == []
    assert harness.backend.dead_letters() == []
