"""A function dying at a chosen point: the sandbox killed (a timeout, out of memory) with its work half done.

Each point is a patch on the tooling side around something the function calls, and fires once, the first time it is
reached. `Crash` is a BaseException, so nothing in the function can catch it, as nothing catches a killed sandbox;
the chaos backend turns it into what Lambda reports (chaos/backend.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any
from unittest import mock

from omnijourney.profiles import store
from omnijourney.runtime import ledger


class Crash(BaseException):
    """The sandbox died here."""


class CrashPoint(StrEnum):
    # The profile function, after one record of a batch of several is applied and before the batch is answered.
    profile_mid_batch = "profile_mid_batch"
    # The journey-step function, after the provider accepted a send and before the ledger marks it sent.
    between_send_and_ledger = "between_send_and_ledger"
    # The profile function, after a merge's transaction and before the rest of the event's work (journeys, facts,
    # the idempotency record).
    after_merge_transaction = "after_merge_transaction"


class Crashes:
    """The chosen points, armed; `fired` lists those that fired."""

    def __init__(self, points: tuple[CrashPoint, ...]) -> None:
        self.points = points
        self.fired: list[CrashPoint] = []

    def _once(self, point: CrashPoint) -> None:
        if point in self.points and point not in self.fired:
            self.fired.append(point)
            raise Crash(point.value)

    @contextmanager
    def installed(self, profile_handler: Any) -> Iterator[None]:
        """The points patched in; `profile_handler` is the profile function's loaded handler module."""
        with (
            mock.patch.object(ledger, "mark_sent", self._before(CrashPoint.between_send_and_ledger, ledger.mark_sent)),
            mock.patch.object(store, "merge", self._after(CrashPoint.after_merge_transaction, store.merge)),
            self._mid_batch(profile_handler),
        ):
            yield

    def _before(self, point: CrashPoint, work: Callable[..., Any]) -> Callable[..., Any]:
        def crashing_first(*args: Any, **kwargs: Any) -> Any:
            self._once(point)
            return work(*args, **kwargs)

        return crashing_first

    def _after(self, point: CrashPoint, work: Callable[..., Any]) -> Callable[..., Any]:
        def crashing_after(*args: Any, **kwargs: Any) -> Any:
            result = work(*args, **kwargs)
            self._once(point)
            return result

        return crashing_after

    @contextmanager
    def _mid_batch(self, handler: Any) -> Iterator[None]:
        """Around the handler's record_handler (the batch processor looks it up at each invocation): after the first
        record of a batch of two or more is applied."""
        batch_size = 0
        record_handler, lambda_handler = handler.record_handler, handler.lambda_handler

        def sized(event: dict[str, Any], context: Any) -> Any:
            nonlocal batch_size
            batch_size = len(event.get("Records", []))
            return lambda_handler(event, context)

        def applied(record: Any) -> None:
            record_handler(record)
            if batch_size > 1:
                self._once(CrashPoint.profile_mid_batch)

        with mock.patch.object(handler, "lambda_handler", sized), mock.patch.object(handler, "record_handler", applied):
            yield
