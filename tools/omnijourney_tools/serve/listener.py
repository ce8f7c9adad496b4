"""The HTTP layer of the local servers: an ASGI app on uvicorn, with limits, timeouts and an access log that keeps
personal data out.

h11 (uvicorn's pure-Python parser) refuses malformed framing (a Content-Length that is not a number, bad chunking,
oversized headers) with 400 before the app sees the request. Connections are asyncio protocols, not threads, and each
request must arrive whole within REQUEST_READ_SECONDS: a client that sends half a request and stalls costs a file
descriptor for that long, never a thread. Ctrl-C or SIGTERM stops taking connections, lets the requests in flight
finish, then runs the app's lifespan shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

# Headers and body of one request must arrive within this (nginx's default is 60 s; clients on loopback are quick).
REQUEST_READ_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
# Beyond this many open connections uvicorn answers 503 at once, rather than letting memory grow.
MAX_CONNECTIONS = 256
MAX_HEADER_BYTES = 16 * 1024
# How long Ctrl-C waits for the requests in flight before cancelling them.
SHUTDOWN_SECONDS = 10
LISTEN_BACKLOG = 128
ACCESS_LOGGER = "omnijourney_tools.serve.access"

access_log = logging.getLogger(ACCESS_LOGGER)
SignalHandler = Callable[[int, FrameType | None], Any] | int | None

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "loggers": {
        # uvicorn.access is not configured: its lines carry the query string. AccessLog writes ours.
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "omnijourney_tools.serve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each request, headers and body.

    uvicorn times out only an idle keep-alive connection, and any byte received restarts that timer, so a client
    that trickles half a request would keep its connection for ever. The deadline starts when the connection opens
    and again when a response completes (the next request's turn); it ends once the whole request has arrived.
    """

    _read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_read_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._cancel_read_deadline()

    def on_response_complete(self) -> None:
        # Before super(), which may read a pipelined request whole (handle_events then ends this deadline).
        self._start_read_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_deadline()
        super().connection_lost(exc)

    def _start_read_deadline(self) -> None:
        self._cancel_read_deadline()
        if not self.transport.is_closing():
            self._read_deadline = self.loop.call_later(REQUEST_READ_SECONDS, self._read_too_slow)

    def _cancel_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_too_slow(self) -> None:
        self._read_deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            # Closing tells an app that awaits the body that the client is gone (http.disconnect).
            self.transport.close()


class AccessLog:
    """ASGI middleware: one line per answer with the method, the path and the status, never the query string
    (lookups carry phones and emails in it)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                access_log.info("%s %s %d", scope["method"], scope["path"], message["status"])
            await send(message)

        await self._app(scope, receive, logged)


def run(
    app: ASGIApp, host: str, port: int, on_listening: Callable[[str], None], *, app_dates_answers: bool = False
) -> None:
    """Serve `app` until Ctrl-C or SIGTERM, then shut down gracefully and return.

    `on_listening(url)` is called once the socket listens (port 0 picks a free one; the URL says which). Requests
    that arrive before the app's lifespan has started wait in the listen backlog. `app_dates_answers`: the app sets
    each answer's Date header itself, so uvicorn must not add a second one.
    """
    listening = _listening_socket(host, port)
    name, bound_port = listening.getsockname()[:2]
    config = uvicorn.Config(
        AccessLog(app),
        http=DeadlineH11Protocol,
        ws="none",
        lifespan="on",
        log_config=LOG_CONFIG,
        access_log=False,
        # The app reads X-Forwarded-Proto itself (for Twilio's signed URL); uvicorn must not rewrite the scope.
        proxy_headers=False,
        server_header=False,
        date_header=not app_dates_answers,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=MAX_CONNECTIONS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )
    server = uvicorn.Server(config)
    on_listening(f"http://{_url_host(name)}:{bound_port}")
    previous = _interrupt_on_sigterm()
    try:
        server.run(sockets=[listening])
    except KeyboardInterrupt:
        # uvicorn shuts down on the signal, then raises it again for the caller: the shutdown is done.
        return
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        listening.close()
    if not server.started:  # uvicorn has logged why (the app's lifespan failed to start, say)
        raise RuntimeError("the server did not start: see the log above")


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    # Accepted connections inherit it on Linux, and asyncio sets it only on sockets made with IPPROTO_TCP: without it a
    # reused connection's body waits ~40 ms for the ACK of its headers (Nagle with delayed ACKs).
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listening


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _interrupt_on_sigterm() -> SignalHandler:
    """SIGTERM as Ctrl-C: uvicorn re-raises the signal after its shutdown, and this handler makes that an exception
    `run` catches, instead of the default of killing the process before the backend is stopped."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
