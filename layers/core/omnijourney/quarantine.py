"""What was accepted but cannot be applied, kept in S3 (the place personal data may live) to be fixed and replayed:
signed deliveries that could not be parsed (at ingest), and queued events that can never be recorded (a message
that does not validate, a profile write DynamoDB refuses), so the answer 2xx means applied or quarantined."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnijourney.aws import client
from omnijourney.errors import NotFound, OmnijourneyError
from omnijourney.settings import get_settings
from omnijourney.sources import get_source
from omnijourney.sources.delivery import Delivery

PREFIX = "quarantine/"
# Where queued events go, next to the sources' deliveries.
EVENTS = "events"


@dataclass(frozen=True)
class QuarantinedDelivery:
    key: str
    delivery: Delivery
    error: dict[str, Any]


def quarantine(delivery: Delivery, error: OmnijourneyError) -> str:
    """Store the delivery exactly as received; its key is the quarantine id the channel is told."""
    key = f"{PREFIX}{delivery.source}/{delivery.received_at:%Y/%m/%d}/{delivery.fingerprint}.json"
    record = {
        "source": delivery.source,
        "received_at": delivery.received_at.isoformat(),
        "url": delivery.url,
        "headers": dict(delivery.headers),
        "body_base64": base64.b64encode(delivery.body).decode(),
        "error": {"title": error.title, "detail": error.detail, "field": error.field},
    }
    _put(key, record)
    return key


def quarantine_event(message: str, error: OmnijourneyError, at: datetime) -> str:
    """Store a queued message the profile function cannot record; replaying it queues it again."""
    digest = hashlib.sha256(message.encode()).hexdigest()
    key = f"{PREFIX}{EVENTS}/{at:%Y/%m/%d}/{digest}.json"
    record = {
        "source": EVENTS,
        "received_at": at.isoformat(),
        "message": message,
        "error": {"title": error.title, "detail": error.detail, "field": error.field},
    }
    _put(key, record)
    return key


def _put(key: str, record: dict[str, Any]) -> None:
    client("s3").put_object(
        Bucket=get_settings().quarantine_bucket,
        Key=key,
        Body=json.dumps(record).encode(),
        ContentType="application/json",
    )


def list_quarantined() -> list[str]:
    paginator = client("s3").get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=get_settings().quarantine_bucket, Prefix=PREFIX)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _record(key: str) -> dict[str, Any]:
    s3 = client("s3")
    try:
        record: dict[str, Any] = json.loads(
            s3.get_object(Bucket=get_settings().quarantine_bucket, Key=key)["Body"].read()
        )
    except s3.exceptions.NoSuchKey as error:
        raise NotFound(f"nothing is quarantined under {key}") from error
    return record


def load(key: str) -> QuarantinedDelivery:
    record = _record(key)
    delivery = Delivery(
        source=record["source"],
        body=base64.b64decode(record["body_base64"]),
        headers=record["headers"],
        url=record["url"],
        received_at=datetime.fromisoformat(record["received_at"]),
    )
    return QuarantinedDelivery(key=key, delivery=delivery, error=record["error"])


def replay(key: str, body: bytes | None = None) -> list[str]:
    """Parse and enqueue a quarantined delivery, optionally with a corrected body; then forget it.

    The signature was verified when the delivery arrived, so a corrected body is trusted as the operator's.
    A quarantined event is queued again as it is (or as corrected), once the cause is mended.
    Raises MalformedPayload (and keeps the delivery) while it still does not parse.
    """
    from dataclasses import replace

    from omnijourney.ingest import enqueue
    from omnijourney.pipeline import events_in

    record = _record(key)
    if "message" in record:
        events = events_in(record["message"] if body is None else body.decode())
    else:
        kept = load(key)
        delivery = kept.delivery if body is None else replace(kept.delivery, body=body)
        events = get_source(delivery.source).parse(delivery)
    enqueue(events)
    client("s3").delete_object(Bucket=get_settings().quarantine_bucket, Key=key)
    return [event.event_id for event in events]
