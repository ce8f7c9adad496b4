"""Channel sources: each verifies its vendor's signature and parses its payloads into canonical events.

Sources are imported on first use, so a cold start loads only the one a request names.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from omnijourney.edge.sources.delivery import Delivery
from omnijourney.events import CanonicalEvent
from omnijourney.identifiers import IdentifierKind
from omnijourney.platform.errors import UnknownSource

# Sources that call POST /webhooks/<name>, signed with a secret of their own.
_WEBHOOK_MODULES = {
    "segment": "omnijourney.edge.sources.segment",
    "shopify": "omnijourney.edge.sources.shopify",
    "twilio": "omnijourney.edge.sources.twilio",
    "zendesk": "omnijourney.edge.sources.zendesk",
    "hubspot": "omnijourney.edge.sources.hubspot",
}
# Sources that reach the profile function through AWS (SES: SNS → the events queue), never over HTTP.
_AWS_MODULES = {
    "ses": "omnijourney.edge.sources.ses",
}
# Sources read from files or S3 by `omnijourney import` (unsigned: the operator's own exports), never over HTTP.
_IMPORT_MODULES = {
    "pinpoint": "omnijourney.edge.sources.pinpoint",
}
_MODULES = _WEBHOOK_MODULES | _AWS_MODULES | _IMPORT_MODULES


class Source(Protocol):
    name: str

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        """The headers the vendor would add to sign this delivery."""
        ...

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        """Raise BadSignature unless the delivery carries the vendor's valid signature."""
        ...

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        """The canonical events in a verified delivery; MalformedPayload names the field at fault."""
        ...


@runtime_checkable
class NamesCustomersByOwnIds(Protocol):
    """A source whose events name customers by ids of its own, at places no generic reading finds (HubSpot's contact
    ids): the quarantine indexes a delivery of it that did not parse by what this finds in each of its JSON objects."""

    def customer_ids_in(self, item: dict[str, Any]) -> list[tuple[IdentifierKind, str]]:
        """The (kind, value) ids naming customers in one JSON object of a body, read without judging the rest."""
        ...


SOURCE_NAMES = tuple(_MODULES)
WEBHOOK_SOURCE_NAMES = tuple(_WEBHOOK_MODULES)


def get_source(name: str) -> Source:
    module = _MODULES.get(name)
    if module is None:
        raise UnknownSource(f"no source named {name!r}; known sources: {', '.join(SOURCE_NAMES)}", field="source")
    source: Source = importlib.import_module(module).SOURCE
    return source


def webhook_source(name: str) -> Source:
    """The source behind POST /webhooks/<name>; UnknownSource (404) lists the sources that can be posted."""
    if name in _AWS_MODULES:
        raise UnknownSource(f"{name!r} events arrive through AWS, not as a webhook", field="source")
    if name in _IMPORT_MODULES:
        raise UnknownSource(f"{name!r} records are imported (`omnijourney import {name}`), not posted", field="source")
    if name not in _WEBHOOK_MODULES:
        raise UnknownSource(
            f"no webhook source named {name!r}; webhook sources: {', '.join(WEBHOOK_SOURCE_NAMES)}", field="source"
        )
    return get_source(name)
