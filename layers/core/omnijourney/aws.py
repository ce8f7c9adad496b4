"""Small cached factories for AWS clients, so tests and the simulator can swap the backend."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    """One client per service and process; created on first use."""
    return boto3.session.Session().client(service, config=_RETRIES)  # type: ignore[call-overload]


def reset() -> None:
    """Forget every cached client and settings (a test or the simulator changed the backend)."""
    from omnijourney.settings import get_settings

    client.cache_clear()
    get_settings.cache_clear()
