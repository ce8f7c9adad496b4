"""Accepting a channel's delivery: size, source, signature, parse, enqueue; quarantine what can't be parsed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from omnijourney.edge.sources import webhook_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.events import CanonicalEvent, correlation_id_of
from omnijourney.platform import clock
from omnijourney.platform.errors import MalformedPayload, PayloadTooLarge, Unavailable
from omnijourney.platform.settings import get_settings

SQS_BATCH = 10
# SQS's limit for one message and for one SendMessageBatch call together (the default queue size is larger since
# 2025; this one holds on every queue).
SQS_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Receipt:
    source: str
    event_ids: list[str]
    # The delivery's correlation id (each queued event carries it): for logs and traces, not in the answer.
    correlation_id: str = ""

    def as_body(self) -> dict[str, Any]:
        return {"accepted": len(self.event_ids), "event_ids": self.event_ids}


def accept_delivery(source: str, headers: Mapping[str, str], body: bytes, url: str = "") -> Receipt:
    """Verify and enqueue one webhook call. Raises the domain errors `omnijourney.http` maps to statuses."""
    settings = get_settings()
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(
            f"the body is {len(body)} bytes; at most {settings.max_body_bytes} are accepted", field="body"
        )
    channel = webhook_source(source)
    delivery = Delivery(source=source, body=body, headers=dict(headers), url=url, received_at=clock.now())
    channel.verify(delivery, webhook_secret(source), delivery.received_at, settings.signature_tolerance_seconds)
    try:
        events = channel.parse(delivery)
    except MalformedPayload as error:
        # Signed, so it really came from the channel: keep it to fix and replay.
        from omnijourney.edge.quarantine import (
            quarantine,  # lazy: only a signed delivery that does not parse reaches quarantine (S3)
        )

        error.quarantine_id = quarantine(delivery, error)
        raise
    event_ids = [event.event_id for event in events]
    correlation_id = correlation_id_of(source, event_ids)
    enqueue([event.model_copy(update={"correlation_id": correlation_id}) for event in events])
    return Receipt(source=source, event_ids=event_ids, correlation_id=correlation_id)


@lru_cache(maxsize=1)
def secrets() -> Any:
    """Powertools' SSM provider on the shared client: its default provider would build a second boto3 session."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from omnijourney.platform.aws import (
        client,  # lazy: boto3 loads on the first AWS call, not at the ingest function's cold start
    )

    return SSMProvider(boto3_client=client("ssm"))


def webhook_secret(source: str) -> str:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    settings = get_settings()
    name = f"{settings.secrets_prefix}/{source}"
    try:
        secret: str = secrets().get(name, decrypt=True, max_age=settings.secrets_max_age_seconds)
    except GetParameterError as error:
        raise Unavailable(f"the webhook secret for {source} is not configured ({name})") from error
    return secret


def queue_messages(events: Sequence[CanonicalEvent]) -> list[str]:
    """Each event as its queue message; one the queue cannot hold is a 413 before any is queued (a 503 would have
    the channel send it again forever)."""
    messages = [event.to_message() for event in events]
    for event, message in zip(events, messages, strict=True):
        if len(message.encode()) > SQS_MAX_BYTES:
            raise PayloadTooLarge(
                f"event {event.event_id} is {len(message.encode())} bytes as a queue message; "
                f"at most {SQS_MAX_BYTES} are accepted",
                field="body",
            )
    return messages


def enqueue(events: Sequence[CanonicalEvent]) -> None:
    """Send the events to the profile queue, in calls of at most 10 messages and 256 KiB; a failure is a 503 so the
    channel sends again."""
    from botocore.exceptions import BotoCoreError, ClientError

    from omnijourney.platform.aws import (
        client,  # lazy: boto3 loads on the first AWS call, not at the ingest function's cold start
    )

    messages = queue_messages(events)
    sqs = client("sqs")
    queue_url = get_settings().events_queue_url
    for chunk in _batches(messages):
        entries = [{"Id": str(index), "MessageBody": message} for index, message in enumerate(chunk)]
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except (BotoCoreError, ClientError) as error:
            raise Unavailable(f"the event queue did not take the delivery: {error}") from error
        if response.get("Failed"):
            raise Unavailable(f"the event queue refused {len(response['Failed'])} event(s): {response['Failed'][0]}")


def _batches(messages: Sequence[str]) -> list[list[str]]:
    batches: list[list[str]] = []
    size = 0
    for message in messages:
        length = len(message.encode())
        if not batches or len(batches[-1]) == SQS_BATCH or size + length > SQS_MAX_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(message)
        size += length
    return batches
