"""Calling another system over HTTPS, for the outbound channels (webhooks, sales tasks): one attempt policy.

A 5xx, a 408, a 429, a timeout or a lost connection is tried again within the step (the target's `retries`, 1 s,
2 s, 4 s apart), then handed on as a retryable SendFailed, which Step Functions retries with its own backoff; any
other answer outside 2xx (a 4xx; a redirect, which is not followed) is the target refusing the message for good.

A channel whose target cannot tell a second delivery from the first (HubSpot creates a task per POST) is never called
again after an attempt the target may have taken (a timeout or a lost connection after the request went out, a 5xx):
SendFailed `unconfirmed`, and the ledger entry stays `pending`. Only what surely never reached it (connecting or
sending failed, a 408 or 429) is tried again.

Every attempt, pause and rate-limit wait of a send fits the step's budget (targets.STEP_BUDGET_SECONDS): an attempt
gets what is left of it at most, however slowly an answer drips in, and a pause or a wait that would not leave room for
another attempt ends the step with the last failure instead (retryable: Step Functions tries the step later).
Logs name the target, never its URL (whose query string may carry a token) nor what was sent.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

from omnijourney.channels import SendFailed
from omnijourney.channels.targets import STEP_BUDGET_SECONDS, Delivery

logger = logging.getLogger(__name__)

# url, body, headers, timeout in seconds for the whole call → the HTTP status; raises NotDelivered when the request
# never went out whole, TimeoutError or another OSError when it went out and no answer came.
Post = Callable[[str, bytes, dict[str, str], float], int]
Clock = Callable[[], float]

_THROTTLED = 429
_REQUEST_TIMEOUT = 408
# Below this, what is left of a step's budget is not worth another attempt.
_SHORTEST_ATTEMPT_SECONDS = 1.0


class NotDelivered(ConnectionError):
    """Connecting or sending failed: the target never had the whole request, so it cannot have acted on it."""


def post_over_https(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST without following redirects; `timeout` bounds the whole call, not each socket operation, so an answer
    that drips in a byte at a time is cut at it (a watchdog shuts the socket; what was read by then is no answer)."""
    parts = urlsplit(url)
    connection = (HTTPSConnection if parts.scheme == "https" else HTTPConnection)(
        parts.hostname or "", parts.port, timeout=timeout
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cut = threading.Event()
    watchdog = threading.Timer(timeout, _cut, (connection, cut))
    watchdog.start()
    try:
        try:
            connection.request("POST", path, body=body, headers=headers)
        except OSError:
            raise NotDelivered from None
        try:
            status = int(connection.getresponse().status)
        except (OSError, HTTPException):
            raise (TimeoutError if cut.is_set() else ConnectionError) from None
    finally:
        watchdog.cancel()
        connection.close()
    if cut.is_set():
        raise TimeoutError
    return status


def _cut(connection: HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    if connection.sock is not None:
        with suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)


def classify(status: int) -> SendFailed | None:
    """None for a 2xx; else whether another attempt can pass: a 5xx, 408 or 429 can, anything else cannot."""
    if 200 <= status < 300:
        return None
    if status == _THROTTLED:
        return SendFailed("throttled", retryable=True, detail=f"HTTP {status}")
    if status == _REQUEST_TIMEOUT:
        return SendFailed("timeout", retryable=True, detail=f"HTTP {status}")
    if status >= 500:
        return SendFailed("target_unavailable", retryable=True, detail=f"HTTP {status}")
    return SendFailed(f"http_{status}", retryable=False, detail=f"HTTP {status}")


def _surely_not_taken(failure: SendFailed, error: OSError | None) -> bool:
    """Whether the target surely did not act on the request: it never had it whole, or said so (408, 429)."""
    if error is not None:
        return isinstance(error, NotDelivered)
    return failure.reason in ("throttled", "timeout")


class Pace:
    """At most `per_second` calls a second from this process (a target's `rate_limit_per_second`): each call waits
    for its slot. Across concurrent functions the target's 429 is what slows them (retryable)."""

    def __init__(self, sleep: Callable[[float], None], now: Clock = time.monotonic) -> None:
        self._sleep = sleep
        self._now = now
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, name: str, delivery: Delivery, until: float) -> None:
        """Wait for the next slot; SendFailed `throttled` (retryable), taking no slot, if it comes too late for an
        attempt before `until`."""
        if delivery.rate_limit_per_second is None:
            return
        with self._lock:
            now = self._now()
            slot = max(now, self._next.get(name, now))
            if slot + _SHORTEST_ATTEMPT_SECONDS > until:
                raise SendFailed("throttled", retryable=True, detail="the rate limit has no slot within this step")
            self._next[name] = slot + 1 / delivery.rate_limit_per_second
        if slot > now:
            self._sleep(slot - now)


class HttpsAdapter:
    """What an adapter that POSTs over HTTPS is given: how to post, sleep and read the clock (tests give fakes), and
    its pace (one per adapter: per process, as Lambda keeps it)."""

    def __init__(
        self, post: Post = post_over_https, sleep: Callable[[float], None] = time.sleep, now: Clock = time.monotonic
    ) -> None:
        self._post = post
        self._sleep = sleep
        self._now = now
        self._pace = Pace(sleep, now)


def attempt(
    name: str,
    delivery: Delivery,
    call: Callable[[float], int],
    *,
    sleep: Callable[[float], None],
    pace: Pace,
    resend_unanswered: bool,
    now: Clock = time.monotonic,
) -> int:
    """Call a target (`call` is given the seconds the attempt may take), again after a pause while it answers what
    another attempt can pass and the step's budget lasts; its 2xx status, or the last SendFailed.

    `resend_unanswered`: the target takes a second delivery of what it may already have as the same one (Standard
    Webhooks' `webhook-id`); without it an attempt the target may have taken is never repeated (SendFailed
    `unconfirmed`)."""
    until = now() + STEP_BUDGET_SECONDS
    failure: SendFailed | None = None
    for pause in [0.0, *delivery.pauses]:
        if failure is not None:
            if now() + pause + _SHORTEST_ATTEMPT_SECONDS > until:
                break
            logger.info("calling %s again in %g s: %s", name, pause, failure.reason)
            sleep(pause)
        pace.wait(name, delivery, until)
        timeout = min(delivery.timeout_seconds, until - now())
        error: OSError | None = None
        try:
            status = call(timeout)
        except TimeoutError as lost:
            failure, error = SendFailed("timeout", retryable=True, detail=f"no answer within {timeout:g} s"), lost
        except OSError as lost:
            failure, error = SendFailed("connection_failed", retryable=True, detail="the connection failed"), lost
        else:
            failure = classify(status)
            if failure is None:
                return status
        if not failure.retryable:
            break
        if not resend_unanswered and not _surely_not_taken(failure, error):
            raise SendFailed(failure.reason, retryable=False, unconfirmed=True, detail="the target may have taken it")
    assert failure is not None
    raise failure
