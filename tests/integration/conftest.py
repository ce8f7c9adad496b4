"""Handlers on moto: the whole local backend, fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto import mock_aws

from omnijourney.edge.sources.delivery import Delivery
from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings
from omnijourney_tools.local import MOTO_CONFIG, REGION, LocalBackend, http_event
from tests.conftest import RECEIVED_AT


@contextmanager
def fake_aws(**environment: str) -> Iterator[None]:
    """moto with fake credentials and `environment`; cached settings and clients are forgotten around it."""
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (credentials | environment).items():
            patch.setenv(name, value)
        _forget_clients()
        try:
            with mock_aws(config=MOTO_CONFIG):
                yield
        finally:
            _forget_clients()


def _forget_clients() -> None:
    get_settings.cache_clear()
    aws.client.cache_clear()
    aws.session.cache_clear()


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
        from omnijourney.profiles import store

        # Customers only: a CRM deal's holder is nobody (app.crm_deals).
        return list(store.live_records())


@pytest.fixture
def harness() -> Iterator[Harness]:
    with LocalBackend(stage="test", start=RECEIVED_AT) as backend:
        yield Harness(backend)
