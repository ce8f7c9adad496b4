"""The one place the domain asks what time it is, so a simulation can run on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return _source() if _source is not None else datetime.now(UTC)


def use(source: Callable[[], datetime] | None) -> None:
    """Read time from `source` from now on (None: the wall clock)."""
    global _source  # noqa: PLW0603 - one process-wide clock is the point
    _source = source
