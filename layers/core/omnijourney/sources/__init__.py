"""Channel sources: each verifies its vendor's signature and parses its payloads into canonical events.

Sources are imported on first use, so a cold start loads only the one a request names.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Protocol

from omnijourney.errors import UnknownSource
from omnijourney.events import CanonicalEvent
from omnijourney.sources.delivery import Delivery

_MODULES = {
    "segment": "omnijourney.sources.segment",
    "shopify": "omnijourney.sources.shopify",
    "twilio": "omnijourney.sources.twilio",
    "zendesk": "omnijourney.sources.zendesk",
    "ses": "omnijourney.sources.ses",
}


class Source(Protocol):
    name: str
    # False for sources that reach us through AWS (SES via SNS → SQS), not as webhooks.
    webhook: bool

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        """The headers the vendor would add to sign this delivery."""
        ...

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        """Raise BadSignature unless the delivery carries the vendor's valid signature."""
        ...

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        """The canonical events in a verified delivery; MalformedPayload names the field at fault."""
        ...


SOURCE_NAMES = tuple(_MODULES)


def get_source(name: str) -> Source:
    module = _MODULES.get(name)
    if module is None:
        raise UnknownSource(f"no source named {name!r}; known sources: {', '.join(SOURCE_NAMES)}", field="source")
    source: Source = importlib.import_module(module).SOURCE
    return source


def webhook_source(name: str) -> Source:
    source = get_source(name)
    if not source.webhook:
        raise UnknownSource(f"{name!r} events arrive through AWS, not as a webhook", field="source")
    return source
