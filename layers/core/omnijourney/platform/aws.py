"""Small cached factories for AWS clients, so tests and the simulator can swap the backend."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import boto3
from botocore.config import Config

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """One session per process: each new one re-reads botocore's endpoint and service data (~0.1 s)."""
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """One client per service and process; created on first use."""
    return session().client(service, config=_RETRIES)
