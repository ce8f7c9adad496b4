"""What was accepted but cannot be applied, kept in S3 (the place personal data may live) to be fixed and replayed:
signed deliveries that could not be parsed (at ingest), and queued events that can never be recorded (a message
that does not validate, a profile write DynamoDB refuses), so the answer 2xx means applied or quarantined."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from omnijourney.edge.sources.delivery import Delivery
from omnijourney.platform.aws import client
from omnijourney.platform.errors import OmnijourneyError
from omnijourney.platform.settings import get_settings

PREFIX = "quarantine/"
# Where queued events go, next to the sources' deliveries.
EVENTS = "events"


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
