"""The local HTTP server: each request becomes an API Gateway (HTTP API v2) event for the same handlers Lambda runs,
on the whole backend on moto in this process, and the journeys' clock follows the wall clock.

One lock serialises every request and every clock tick: moto, the virtual clock and the resolvers (which keep the
current event on the app) are one process-wide backend, as a single Lambda container is. After each request the
events queue is drained through the profile function and the journeys run until they wait again, so the profile and
the journeys are up to date when the answer leaves (a 202 still means "queued"). Executions that ended are reported
to the journey-step function at the next tick, a moment later, as EventBridge reports them on AWS.
"""

from __future__ import annotations

import base64
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TextIO
from urllib.parse import parse_qs, urlsplit

from omnijourney_tools.local import LOCAL_SECRETS, LambdaContext, LocalBackend, http_event
from omnijourney_tools.serve import DEFAULT_HOST, openapi, tracking
from omnijourney_tools.serve.tracking import LOCAL_WRITE_KEY
from omnijourney_tools.simulation.runner import live_customer_ids, messages

TICK_SECONDS = 0.2
# API Gateway refuses larger payloads itself; the functions have their own, smaller limits.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
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
    def problem(cls, status: int, title: str, detail: str) -> Answer:
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
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
        self._closed = False
        self._stop = threading.Event()
        # Reporting ended executions lists every journey's executions: after a request it waits for the next tick,
        # as EventBridge on AWS delivers status changes a moment after the fact.
        self._executions_may_have_ended = False
        tracking_context = LambdaContext(function_name="local-segment-tracking-api")
        # Path prefix → the handler behind it, as the HTTP API routes them (the Tracking API exists only here).
        self._routes: list[tuple[str, Invoke]] = [
            ("/webhooks/", lambda event: backend.call_function("ingest", event)),
            ("/profiles", lambda event: backend.call_function("profile_api", event)),
            ("/v1/", lambda event: tracking.lambda_handler(event, tracking_context)),
        ]
        self.openapi = openapi.document(backend.handler).encode()

    def now(self) -> datetime:
        return self.backend.clock.now()

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        url = urlsplit(target)
        if url.path == OPENAPI_PATH and method == "GET":
            return Answer(200, self.openapi, [("Content-Type", JSON)])
        if url.path == MESSAGES_PATH and method == "GET":
            return self._locked(self._ledger)
        invoke = next((invoke for prefix, invoke in self._routes if url.path.startswith(prefix)), None)
        if invoke is None:
            return Answer.problem(404, "Not found", f"no route for {method} {url.path}")
        event = _event(method, url.path, url.query, headers, body)
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
        except Exception:  # the edge: a failing function is API Gateway's 500, not a dead server thread
            logger.exception("%s %s failed", event["requestContext"]["http"]["method"], event["rawPath"])
            return Answer.json(500, {"message": "Internal Server Error"})
        return answer

    def _ledger(self) -> Answer:
        """Local only: every send, suppression and deferral so far, under the customer's live id."""

        return Answer.json(200, {"messages": messages(live_customer_ids())})

    def run_clock(self) -> None:
        """The ticker thread: every TICK_SECONDS, journeys catch up with real time and the executions that ended
        since are reported, until `close()`."""
        while not self._stop.wait(TICK_SECONDS):
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
        self._stop.set()
        with self._lock:
            self._closed = True


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


class RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every method goes to `LocalServer.answer`."""

    local: ClassVar[LocalServer]
    server_version = "omnijourney-serve"
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server answers 501 to a method without a do_<METHOD>; here every method, QUERY or BREW alike, reaches
        # the resolvers, which answer 404 to what they do not route, as API Gateway does.
        if name.startswith("do_"):
            return self._respond
        raise AttributeError(name)

    def _respond(self) -> None:
        body = self._read_body()
        if body is None:
            return
        # A header sent twice arrives once, its values joined by commas, as API Gateway passes it.
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        self._send(self.local.answer(self.command, self.path, headers, body))

    def _read_body(self) -> bytes | None:
        """The body, or None once an error has been answered (the connection then closes: the rest is unread)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(Answer.problem(400, "Bad request", "Content-Length is not a number of bytes"))
            return None
        if length > MAX_REQUEST_BYTES:
            self._refuse(Answer.problem(413, "Payload too large", f"at most {MAX_REQUEST_BYTES} bytes per request"))
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        """A chunked body (clients that stream one send it so; API Gateway takes it as well)."""
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                size = -1
            if size < 0:
                self._refuse(Answer.problem(400, "Bad request", "the chunked body is malformed"))
                return None
            if len(body) + size > MAX_REQUEST_BYTES:
                self._refuse(Answer.problem(413, "Payload too large", f"at most {MAX_REQUEST_BYTES} bytes per request"))
                return None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailer fields, up to the empty line
                    pass
                return bytes(body)
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _refuse(self, answer: Answer) -> None:
        self.close_connection = True
        self._send(answer, [("Connection", "close")])

    def _send(self, answer: Answer, extra: list[tuple[str, str]] | None = None) -> None:
        self.send_response(answer.status)
        for name, value in [*answer.headers, *(extra or [])]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header is the journeys' clock, which runs `--speed` times as fast as the wall clock: what a
        # sender whose signature carries a timestamp (Zendesk) must sign with.
        return format_datetime(self.local.now(), usegmt=True)


class LocalHTTPServer(ThreadingHTTPServer):
    # The socket's listen backlog: the default of 5 refuses connections when a client opens dozens at once.
    request_queue_size = 128


def serve(host: str, port: int, speed: float, out: TextIO = sys.stdout) -> None:
    """Run until Ctrl-C (or SIGTERM): then stop taking requests, stop the clock, stop moto."""
    with LocalBackend() as backend:
        local = LocalServer(backend, speed)
        handler = type("LocalRequestHandler", (RequestHandler,), {"local": local})
        with LocalHTTPServer((host, port), handler) as http_server:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, _interrupt)
            clock = threading.Thread(target=local.run_clock, name="journey-clock", daemon=True)
            clock.start()
            _announce(out, f"http://{host}:{http_server.server_port}", speed, local.now())
            try:
                http_server.serve_forever()
            except KeyboardInterrupt:
                print("omnijourney serve: stopping", file=out, flush=True)
            finally:
                local.close()
                clock.join()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _announce(out: TextIO, url: str, speed: float, started_at: datetime) -> None:

    secrets = ", ".join(f"{source} {secret}" for source, secret in LOCAL_SECRETS.items())
    print(
        f"omnijourney serve: listening on {url} (OpenAPI at {url}{OPENAPI_PATH}, messages at {url}{MESSAGES_PATH})\n"
        f"  journeys run at {speed:g}x real time from {started_at.isoformat()}; the Date header tells their time\n"
        f"  Segment write key {LOCAL_WRITE_KEY}; webhook secrets: {secrets}\n"
        "  state is in memory (moto) and ends with the server; Ctrl-C stops",
        file=out,
        flush=True,
    )
