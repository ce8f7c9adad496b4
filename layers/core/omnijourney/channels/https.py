"""Calling another system over HTTPS, for the outbound channels (webhooks, sales tasks): one attempt policy.

A 5xx, a 408, a 429, a timeout or a lost connection is tried again within the step (the target's `retries`, 1 s,
2 s, 4 s apart), then handed on as a retryable SendFailed, which Step Functions retries with its own backoff; any
other answer outside 2xx (a 4xx; a redirect, which is not followed) is the target refusing the message for good.
Logs name the target, never its URL (whose query string may carry a token) nor what was sent.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from omnijourney.channels import SendFailed
from omnijourney.channels.targets import Delivery

logger = logging.getLogger(__name__)

# url, body, headers, timeout in seconds → the HTTP status; raises TimeoutError or OSError when no answer came.
Post = Callable[[str, bytes, dict[str, str], float], int]

_THROTTLED = 429
_REQUEST_TIMEOUT = 408


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect of a POST as a GET without the body: the answer is taken as it is.
    def redirect_request(self, *_: object, **__: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects())


def post_over_https(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - https (config)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as answer:
        return int(answer.code)
    except urllib.error.URLError as failure:
        raise TimeoutError if isinstance(failure.reason, TimeoutError) else ConnectionError from None


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


class Pace:
    """At most `per_second` calls a second from this process (a target's `rate_limit_per_second`): each call waits
    for its slot. Across concurrent functions the target's 429 is what slows them (retryable)."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, name: str, delivery: Delivery) -> None:
        if delivery.rate_limit_per_second is None:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(name, now))
            self._next[name] = slot + 1 / delivery.rate_limit_per_second
        if slot > now:
            self._sleep(slot - now)


def attempt(
    name: str, delivery: Delivery, call: Callable[[], int], *, sleep: Callable[[float], None], pace: Pace
) -> int:
    """Call a target, again after a pause while it answers what another attempt can pass; its 2xx status, or the
    last SendFailed."""
    failure: SendFailed | None = None
    for pause in [0.0, *delivery.pauses]:
        if failure is not None:
            logger.info("calling %s again in %g s: %s", name, pause, failure.reason)
            sleep(pause)
        pace.wait(name, delivery)
        try:
            status = call()
        except TimeoutError:
            failure = SendFailed("timeout", retryable=True, detail=f"no answer within {delivery.timeout_seconds:g} s")
            continue
        except OSError:
            failure = SendFailed("connection_failed", retryable=True, detail="the connection failed")
            continue
        failure = classify(status)
        if failure is None:
            return status
        if not failure.retryable:
            break
    assert failure is not None
    raise failure
