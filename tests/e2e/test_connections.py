"""What `omnijourney serve` does with slow, ambiguous and oversized requests, seen from a client's socket, and what
it writes to its log.

Raw sockets, because ordinary clients never send what these tests send: half a request, or a request framed two ways.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from omnijourney.platform.settings import get_settings
from tests.e2e.conftest import Served, Servers, served
from tests.e2e.test_signed_webhooks import new_customer, pos_order, shopify_headers

STALLED = 50
# Long enough for the server to close a stalled connection (it allows 10 s to read a request); never reached when it
# does.
CLOSE_WAIT_SECONDS = 60
HALF_HEADERS = b"POST /webhooks/shopify HTTP/1.1\r\nHost: localhost\r\nContent-Le"
HALF_BODY = b'POST /webhooks/shopify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"id": '


@pytest.fixture(scope="module")
def server(servers: Servers) -> Served:
    return servers.at(1)


def connect(server: Served) -> socket.socket:
    address = urlsplit(server.url)
    return socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=30)


@contextmanager
def stalled(server: Served, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that each send half a request, half of them stopping in the headers, half in the body."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(connect(server)) for _ in range(count)]
        for index, connection in enumerate(sockets):
            connection.sendall(HALF_HEADERS if index % 2 else HALF_BODY)
        yield sockets


def exchange(server: Served, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes; the answer's status and JSON body."""
    with connect(server) as connection:
        connection.sendall(request)
        answer = http.client.HTTPResponse(connection)
        answer.begin()
        return answer.status, json.loads(answer.read())


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_fifty_stalled_connections_hold_no_thread_each_and_a_lookup_still_answers(server: Served) -> None:
    before = threads_of(server.pid)
    with stalled(server, STALLED):
        lookup = requests.get(f"{server.url}/profiles", params={"email": "nobody@example.com"}, timeout=30)
        assert (lookup.status_code, lookup.json()["detail"]) == (404, "no customer has email nobody@example.com")
        # A thread per connection would be 50 more.
        assert threads_of(server.pid) < before + STALLED // 5


def test_a_connection_that_stalls_mid_request_is_closed_by_the_server(server: Served) -> None:
    with stalled(server, 2) as sockets:
        for connection in sockets:
            connection.settimeout(CLOSE_WAIT_SECONDS)
            assert connection.recv(1024) == b"", "the server answered a request it never received whole"


def test_a_request_framed_by_both_content_length_and_chunks_is_refused_and_changes_nothing(server: Served) -> None:
    customer = new_customer()
    body = json.dumps(pos_order(customer)).encode()
    headers = shopify_headers("orders/create", body) | {
        "Host": "localhost",
        "Content-Length": str(len(body)),
        "Transfer-Encoding": "chunked",
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"

    status, problem = exchange(server, f"POST /webhooks/shopify HTTP/1.1\r\n{head}\r\n".encode() + chunked)

    assert (status, problem["title"]) == (400, "Bad request")
    assert "not both" in problem["detail"]
    assert requests.get(f"{server.url}/profiles", params={"email": customer["email"]}, timeout=30).status_code == 404


def test_a_body_larger_than_the_ingest_accepts_is_refused_with_413_before_it_is_sent(server: Served) -> None:
    limit = get_settings().max_body_bytes
    request = (
        "POST /webhooks/shopify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {limit + 1}\r\n\r\n"
    )

    status, problem = exchange(server, request.encode())

    assert (status, problem["title"], problem["field"]) == (413, "Payload too large", "body")
    assert str(limit) in problem["detail"]


def test_the_log_names_each_lookup_without_the_phone_or_email_it_asked_for(server: Served) -> None:
    tag = uuid.uuid4().hex[:10]
    email, phone = f"asked-{tag}@example.com", f"+49151{random.randrange(10**7, 10**8)}"
    for lookup in ({"email": email}, {"phone": phone}):
        requests.get(f"{server.url}/profiles", params=lookup, timeout=30)

    log = server.log()

    assert tag not in log
    assert phone[1:] not in log
    assert log.count("GET /profiles 404") >= 2


def test_sigterm_stops_the_server_cleanly() -> None:
    # served() asserts the exit status 0 once the server has stopped.
    with served(1, stop=signal.SIGTERM) as server:
        assert requests.get(f"{server.url}/openapi.json", timeout=30).status_code == 200
