"""Handlers on moto: the whole local backend, fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omnijourney import clock
from omnijourney.local import LocalBackend, http_event
from omnijourney.sources.delivery import Delivery
from tests.conftest import RECEIVED_AT


class Harness:
    """A channel's and a store's view of the running backend."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    def post(self, item: Delivery) -> tuple[int, dict[str, Any]]:
        path = f"/webhooks/{item.source}"
        return self.backend.call_http("ingest", http_event("POST", path, headers=item.headers, body=item.body))

    def deliver(self, item: Delivery) -> tuple[int, dict[str, Any]]:
        """POST, then let the profile function work through the queue."""
        answer = self.post(item)
        self.backend.drain()
        return answer

    def lookup(self, **query: str) -> tuple[int, dict[str, Any]]:
        return self.backend.call_http("profile_api", http_event("GET", "/profiles", query=query))

    def profile(self, customer_id: str) -> tuple[int, dict[str, Any]]:
        return self.backend.call_http("profile_api", http_event("GET", f"/profiles/{customer_id}"))

    def erase(self, customer_id: str) -> tuple[int, dict[str, Any]]:
        return self.backend.call_http("profile_api", http_event("DELETE", f"/profiles/{customer_id}"))

    def live_profiles(self) -> list[Any]:
        from omnijourney.profiles.store import ProfileRecord

        return [record for record in ProfileRecord.scan() if not record.merged_into]


@pytest.fixture
def harness() -> Iterator[Harness]:
    clock.use(lambda: RECEIVED_AT)
    with LocalBackend(stage="test") as backend:
        yield Harness(backend)
    clock.use(None)
