"""The local server: each request becomes an API Gateway (HTTP API v2) event for the same handlers Lambda runs, on the
whole backend on moto in this process, and the journeys' clock follows the wall clock.

One lock serialises every request and every clock tick: moto, the virtual clock and the resolvers (which keep the
current event on the app) are one process-wide backend, as a single Lambda container is. After each request the
events queue is drained through the profile function and the journeys run until they wait again, so the profile and
the journeys are up to date when the answer leaves (a 202 still means "queued"). Executions that ended are reported
to the journey-step function at the next tick, a moment later, as EventBridge reports them on AWS.

`serve_app` is that backend as a Starlette app; `listener.run` serves it on uvicorn, as it serves the studio.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from omnijourney.platform.settings import get_settings
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.local import LOCAL_SECRETS, LambdaContext, LocalBackend, http_event, webhook_receiver
from omnijourney_tools.local.webhook_receiver import LOCAL_WEBHOOK_SECRET
from omnijourney_tools.serve import DEFAULT_HOST, listener, openapi, tracking
from omnijourney_tools.serve.tracking import LOCAL_WRITE_KEY
from omnijourney_tools.simulation.runner import live_customer_ids, messages

TICK_SECONDS = 0.2
OPENAPI_PATH = "/openapi.json"
MESSAGES_PATH = "/_local/messages"
JSON = "application/json"

logger = logging.getLogger(__name__)
Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, body: object, content_type: str = JSON) -> Answer:
        return cls(status, json.dumps(body).encode(), [("Content-Type", content_type)])

    @classmethod
    def problem(cls, status: int, title: str, detail: str, **extra: str) -> Answer:
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        return cls.json(status, body, "application/problem+json")

    @classmethod
    def from_lambda(cls, response: Mapping[str, Any]) -> Answer:
        """A Lambda proxy (payload 2.0) response, as API Gateway turns it into HTTP."""
        body = response.get("body") or ""
        raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        headers = [(name, str(value)) for name, value in (response.get("headers") or {}).items()]
        headers += [("Set-Cookie", cookie) for cookie in response.get("cookies") or []]
        return cls(int(response["statusCode"]), raw, headers)


class RealTime:
    """Moves the backend's virtual clock along with the wall clock, `speed` times as fast.

    Timers due on the way fire in order, and executions that end at one are reported before the next fires, as the
    simulator does between scenario lines.
    """

    def __init__(self, backend: LocalBackend, speed: float) -> None:
        self._backend = backend
        self._speed = speed
        # The clock started before the backend was provisioned, seconds ago: from here on it reads the wall clock.
        self._started_at = max(backend.clock.now(), datetime.now(UTC))
        backend.clock.advance_to(self._started_at)
        self._started_wall = time.monotonic()

    def catch_up(self) -> None:
        target = self._started_at + timedelta(seconds=self._speed * (time.monotonic() - self._started_wall))
        clock = self._backend.clock
        while (due := clock.next_due()) is not None and due <= target:
            clock.advance_to(due)
            self._backend.status_changes()
        clock.advance_to(target)


class LocalServer:
    """What answers a request: the path decides the handler, under the one lock; see the module docstring."""

    def __init__(self, backend: LocalBackend, speed: float) -> None:
        self.backend = backend
        self.real_time = RealTime(backend, speed)
        self._lock = threading.Lock()
        # Requests wait for the backend as tasks, one worker thread at a time, not as threads parked on the lock.
        self.backend_turn = anyio.CapacityLimiter(1)
        self._closed = False
        # Reporting ended executions lists every journey's executions: after a request it waits for the next tick,
        # as EventBridge on AWS delivers status changes a moment after the fact.
        self._executions_may_have_ended = False
        tracking_context = LambdaContext(function_name="local-segment-tracking-api")
        # Path prefix → the handler behind it, as the HTTP API routes them (the Tracking API exists only here).
        self._routes: list[tuple[str, Invoke]] = [
            ("/webhooks/", lambda event: backend.call_function("ingest", event)),
            ("/profiles", lambda event: backend.call_function("profile_api", event)),
            ("/staff/", lambda event: backend.call_function("staff_api", event)),
            ("/v1/", lambda event: tracking.lambda_handler(event, tracking_context)),
        ]
        self.openapi = openapi.document(backend.handler).encode()

    def now(self) -> datetime:
        return self.backend.clock.now()

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if path == OPENAPI_PATH and method == "GET":
            return Answer(200, self.openapi, [("Content-Type", JSON)])
        if path == MESSAGES_PATH and method == "GET":
            return self._locked(self._ledger)
        invoke = next((invoke for prefix, invoke in self._routes if path.startswith(prefix)), None)
        if invoke is None:
            return Answer.problem(404, "Not found", f"no route for {method} {path}")
        event = _event(method, path, query, headers, body)
        return self._locked(lambda: self._invoke(invoke, event))

    def _locked(self, work: Callable[[], Answer]) -> Answer:
        with self._lock:
            if self._closed:
                return Answer.problem(503, "Shutting down", "the local server is stopping")
            self.real_time.catch_up()
            return work()

    def _invoke(self, invoke: Invoke, event: dict[str, Any]) -> Answer:
        try:
            answer = Answer.from_lambda(invoke(event))
            self.backend.drain()
            self.backend.clock.settle()
            self._executions_may_have_ended = True
        except Exception:  # the edge: a failing function is API Gateway's 500, not a dead server
            logger.exception("%s %s failed", event["requestContext"]["http"]["method"], event["rawPath"])
            return Answer.json(500, {"message": "Internal Server Error"})
        return answer

    def _ledger(self) -> Answer:
        """Local only: every send, suppression and deferral so far, under the customer's live id."""
        return Answer.json(200, {"messages": messages(live_customer_ids())})

    def tick(self) -> None:
        """One beat of the journeys' clock: they catch up with real time, and the executions that ended since the
        last request are reported."""
        with self._lock:
            if self._closed:
                return
            try:
                self.real_time.catch_up()
                if self._executions_may_have_ended:
                    self._executions_may_have_ended = False
                    self.backend.status_changes()
            except Exception:  # one failing journey step must not stop the clock for every other journey
                logger.exception("the journey clock failed to advance")

    def close(self) -> None:
        """No request or tick runs after this returns, so the backend can be stopped."""
        with self._lock:
            self._closed = True


@asynccontextmanager
async def journey_clock(local: LocalServer) -> AsyncIterator[None]:
    """The clock ticking every TICK_SECONDS while the app runs; on the way out, `local.close()`.

    The lifespan of `serve_app`; an app that mounts `serve_app` enters it from its own lifespan (Starlette does not
    run a mounted app's lifespan)."""

    async def ticking() -> None:
        while True:
            await anyio.sleep(TICK_SECONDS)
            await anyio.to_thread.run_sync(local.tick, limiter=local.backend_turn)

    async with anyio.create_task_group() as clock:
        clock.start_soon(ticking)
        try:
            yield
        finally:
            clock.cancel_scope.cancel()
    await anyio.to_thread.run_sync(local.close)


class Gateway:
    """ASGI, as API Gateway stands in front of the functions: the whole body read (up to `max_body_bytes`), then
    `LocalServer.answer` for every path and method, HEAD or BREW alike (the resolvers answer 404 to what they do not
    route)."""

    def __init__(self, local: LocalServer, max_body_bytes: int) -> None:
        self._local = local
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if "content-length" in request.headers and "transfer-encoding" in request.headers:
            # h11 frames such a request by its chunks; a proxy in front may have framed it by Content-Length, which
            # is how requests are smuggled (RFC 9112 section 6.3). Refused, and the connection closed.
            detail = "a request gives Content-Length or Transfer-Encoding, not both"
            await self._send(send, Answer.problem(400, "Bad request", detail), close=True)
            return
        try:
            body = await self._body(request)
        except ClientDisconnect:  # gone, or too slow (listener.REQUEST_READ_SECONDS): nobody to answer
            return
        if body is None:
            # The same status and field as the ingest's own refusal; the rest of the body is never read.
            detail = f"at most {self._max_body_bytes} bytes are accepted"
            await self._send(send, Answer.problem(413, "Payload too large", detail, field="body"), close=True)
            return
        # The path as sent, percent-encoding kept, as API Gateway passes rawPath.
        path = scope["raw_path"].decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        work = partial(self._local.answer, request.method, path, query, _joined(scope["headers"]), body)
        await self._send(send, await anyio.to_thread.run_sync(work, limiter=self._local.backend_turn))

    async def _body(self, request: Request) -> bytes | None:
        """The body, or None when it is larger than allowed."""
        declared = request.headers.get("content-length")
        if declared is not None and int(declared) > self._max_body_bytes:  # h11 has checked it is a number
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._max_body_bytes:
                return None
        return bytes(body)

    async def _send(self, send: Send, answer: Answer, *, close: bool = False) -> None:
        # Names keep their case (`Date`, as scripts that read the header with sed expect it).
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
        headers += [
            (b"Content-Length", str(len(answer.body)).encode()),
            # The journeys' clock, which runs `--speed` times as fast as the wall clock: what a sender whose
            # signature carries a timestamp (Zendesk) must sign with.
            (b"Date", format_datetime(self._local.now(), usegmt=True).encode()),
            (b"Server", b"omnijourney-serve"),
        ]
        if close:
            headers.append((b"Connection", b"close"))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


def serve_app(local: LocalServer) -> Starlette:
    """The local backend as a Starlette app: every route the HTTP API has, the Tracking API, /openapi.json and
    /_local/messages, with the journeys' clock running for the app's lifetime."""

    def lifespan(_: Starlette) -> AbstractAsyncContextManager[None]:
        return journey_clock(local)

    app = Starlette(lifespan=lifespan)
    # Every request goes to the gateway as the router's default: a route's pattern would not match every path (a
    # percent-encoded newline, say) and Starlette would answer a plain-text 404 of its own.
    app.router.default = Gateway(local, get_settings().max_body_bytes)
    return app


def _joined(raw_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """A header sent twice arrives once, its values joined by commas, as API Gateway passes it."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw_headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _event(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The request as an HTTP API v2 event; the query string stays as sent (Twilio signs the URL with it)."""
    # HTTP API joins a repeated query parameter's values with commas.
    parameters = {name: ",".join(values) for name, values in parse_qs(query, keep_blank_values=True).items()}
    host = headers.get("host") or DEFAULT_HOST
    # A proxy in front (a tunnel for a vendor's webhooks) says which scheme the caller used; otherwise plain http.
    forwarded = {"x-forwarded-proto": headers.get("x-forwarded-proto") or "http"}
    event = http_event(method, path, headers={**headers, **forwarded}, body=body, query=parameters, host=host)
    event["rawQueryString"] = query
    return event


def serve(
    host: str,
    port: int,
    speed: float,
    out: TextIO = sys.stdout,
    *,
    config: Path | None = None,
    deliver_webhooks: bool = False,
) -> None:
    """Run until Ctrl-C (or SIGTERM): then stop taking requests, finish those in flight, stop the clock, stop moto.

    `config`: the definitions' folder (default: the project's config/). `deliver_webhooks`: the journeys' webhooks go
    over HTTP to the URLs configured, rather than to the receiver in this process."""
    with definitions_from(config_dir=config), LocalBackend() as backend:
        if deliver_webhooks:
            webhook_receiver.deliver_over_http()
        local = LocalServer(backend, speed)
        announce = partial(_announce, out, speed=speed, started_at=local.now(), deliver_webhooks=deliver_webhooks)
        # Its answers carry the journeys' clock as their Date.
        listener.run(serve_app(local), host, port, announce, app_dates_answers=True)
        print("omnijourney serve: stopped", file=out, flush=True)


def _announce(out: TextIO, url: str, *, speed: float, started_at: datetime, deliver_webhooks: bool) -> None:
    secrets = ", ".join(f"{source} {secret}" for source, secret in LOCAL_SECRETS.items())
    outbound = (
        "journeys' webhooks are POSTed to the URLs of config/webhooks.yaml, signed (Standard Webhooks) with "
        f"{LOCAL_WEBHOOK_SECRET}; sales tasks are taken by a local HubSpot"
        if deliver_webhooks
        else "journeys' webhooks and sales tasks are taken in this process by a local receiver and a local HubSpot"
    )
    print(
        f"omnijourney serve: listening on {url} (OpenAPI at {url}{OPENAPI_PATH}, messages at {url}{MESSAGES_PATH})\n"
        f"  journeys run at {speed:g}x real time from {started_at.isoformat()}; the Date header tells their time\n"
        f"  Segment write key {LOCAL_WRITE_KEY}; webhook secrets: {secrets}\n"
        f"  {outbound} (each send in {url}{MESSAGES_PATH})\n"
        "  state is in memory (moto) and ends with the server; Ctrl-C stops",
        file=out,
        flush=True,
    )
