"""The operator's view of quarantine (`omnijourney quarantine list|replay`): what is kept, and replaying it.

The domain only writes to quarantine (omnijourney.edge.quarantine); reading it back and enqueueing it again is
tooling, run from a workstation with the stack's credentials.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from omnijourney.app.profile_updates import events_in
from omnijourney.edge.ingest import enqueue
from omnijourney.edge.quarantine import PREFIX, forget
from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.platform.aws import client
from omnijourney.platform.errors import NotFound
from omnijourney.platform.settings import get_settings


@dataclass(frozen=True)
class QuarantinedDelivery:
    key: str
    delivery: Delivery
    error: dict[str, Any]


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
    """Parse and enqueue a quarantined delivery, optionally with a corrected body; then forget it (every version, and
    its identifier index entries: what is queued again lives where erasure reaches it).

    The signature was verified when the delivery arrived, so a corrected body is trusted as the operator's.
    A quarantined event is queued again as it is (or as corrected), once the cause is mended.
    Raises MalformedPayload (and keeps the delivery) while it still does not parse.
    """

    record = _record(key)
    if "message" in record:
        events = events_in(record["message"] if body is None else body.decode())
    else:
        kept = load(key)
        delivery = kept.delivery if body is None else replace(kept.delivery, body=body)
        events = get_source(delivery.source).parse(delivery)
    enqueue(events)
    forget([key])
    return [event.event_id for event in events]
