"""Shared test vocabulary: the project's sample payloads and signed deliveries built from them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney_tools.local import LOCAL_HOST, LOCAL_SECRETS

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
RECEIVED_AT = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
# SES records that tell nothing about a customer: sending, delays, rejects, SNS set-up messages.
IGNORED_SES_SAMPLES = [
    "send",
    "delivery_delay",
    "reject",
    "rendering_failure",
    "notification_subscription_succeeded",
    "topic_validation",
]


def sample(source: str, case: str) -> Any:
    return json.loads((EVENTS / source / f"{case}.json").read_text())


def shopify_topic(case: str) -> str:
    """events/shopify/orders_create_pos.json → orders/create."""
    resource, action = case.split("_")[:2]
    return f"{resource}/{action}"


def delivery(source: str, case: str, *, body: bytes | None = None, received_at: datetime = RECEIVED_AT) -> Delivery:
    """The sample as the vendor delivers it: exact bytes, content type, and topic header where it has one."""
    headers: dict[str, str] = {}
    if source == "twilio":
        raw = body if body is not None else urlencode(sample(source, case)).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        raw = body if body is not None else json.dumps(sample(source, case)).encode()
        headers["Content-Type"] = "application/json"
    if source == "shopify":
        headers["X-Shopify-Topic"] = shopify_topic(case)
    return Delivery(source, raw, headers, f"https://{LOCAL_HOST}/webhooks/{source}", received_at)


def signed(item: Delivery, secret: str | None = None, at: datetime = RECEIVED_AT) -> Delivery:
    headers = dict(item.headers) | get_source(item.source).sign(item, secret or LOCAL_SECRETS[item.source], at)
    return Delivery(item.source, item.body, headers, item.url, item.received_at)


@pytest.fixture
def samples() -> Any:
    return sample


def lena(*samples: tuple[str, str]) -> Any:
    """Lena's profile (the sample payloads' customer) after the given samples, applied in order."""
    from omnijourney.app import config
    from omnijourney.profiles.model import apply_event, new_profile

    profile = new_profile("cus_lena", datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
    for source, case in samples:
        for event in get_source(source).parse(delivery(source, case)):
            profile = apply_event(profile, event, config.lifecycle())
    return profile
