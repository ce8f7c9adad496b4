"""Signed deliveries that could not be parsed, kept in S3 so they can be fixed and replayed."""

from __future__ import annotations

import base64
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
    client("s3").put_object(
        Bucket=get_settings().quarantine_bucket,
        Key=key,
        Body=json.dumps(record).encode(),
        ContentType="application/json",
    )
    return key


def list_quarantined() -> list[str]:
    paginator = client("s3").get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=get_settings().quarantine_bucket, Prefix=PREFIX)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def load(key: str) -> QuarantinedDelivery:
    s3 = client("s3")
    try:
        record = json.loads(s3.get_object(Bucket=get_settings().quarantine_bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey as error:
        raise NotFound(f"nothing is quarantined under {key}") from error
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
    Raises MalformedPayload (and keeps the delivery) while it still does not parse.
    """
    from dataclasses import replace

    from omnijourney.ingest import enqueue

    kept = load(key)
    delivery = kept.delivery if body is None else replace(kept.delivery, body=body)
    events = get_source(delivery.source).parse(delivery)
    enqueue(events)
    client("s3").delete_object(Bucket=get_settings().quarantine_bucket, Key=key)
    return [event.event_id for event in events]
