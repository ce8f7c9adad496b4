"""botocore event hooks on a set of clients for the length of a block: how the bench meters calls and the
least-privilege recording sees them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any


@contextmanager
def hooked(clients: list[Any], hooks: Mapping[str, Callable[..., None]]) -> Iterator[None]:
    """botocore event hooks on each client while the block runs; removed after, so later calls are not seen."""
    unique = list(dict.fromkeys(clients))  # the same client may be reached through two factories
    for client in unique:
        for event, hook in hooks.items():
            client.meta.events.register(event, hook)
    try:
        yield
    finally:
        for client in unique:
            for event, hook in hooks.items():
                client.meta.events.unregister(event, hook)
