"""`omnijourney serve` in a subprocess on a free port, driven over loopback by real clients.

A server takes a few seconds to start (moto compiles every journey), so each test process starts at most one per
journey speed and shares it (tests use identifiers of their own); at the end each is stopped with SIGINT, as Ctrl-C
would, and must stop cleanly (exit status 0).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any

import pytest
import requests

from tests.processes import first_line, log_tail

STARTUP_SECONDS = 90
STOP_SECONDS = 30


@dataclass(frozen=True)
class Served:
    """A running `omnijourney serve`."""

    url: str
    pid: int
    log_file: IO[str]

    def log(self) -> str:
        """What the server has written to stderr so far (its log)."""
        self.log_file.seek(0)
        return self.log_file.read()

    def profile(self, **lookup: str) -> dict[str, Any]:
        """GET /profiles?<key>=<value>, as a POS or call-center tool asks."""
        response = requests.get(f"{self.url}/profiles", params=lookup, timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def journeys_now(self) -> datetime:
        """The journeys' clock, to the second, as a fresh answer dates it (the server catches its clock up before
        answering): what a sender whose signature carries a timestamp (HubSpot, Zendesk) signs with at --speed."""
        response = requests.get(f"{self.url}/_local/messages", timeout=30)
        response.raise_for_status()
        return parsedate_to_datetime(response.headers["Date"])

    def messages(self) -> list[dict[str, Any]]:
        """The message ledger (local-only endpoint)."""
        response = requests.get(f"{self.url}/_local/messages", timeout=30)
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def wait_for_message(self, matches: Callable[[dict[str, Any]], bool], seconds: float = 30) -> dict[str, Any]:
        """The first ledger entry that matches, waiting while the journeys' clock runs."""
        deadline = time.monotonic() + seconds
        while True:
            found = [message for message in self.messages() if matches(message)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no such message within {seconds} s; the ledger has {self.messages()}")
            time.sleep(0.2)


class Servers:
    """One running server per journey speed, started on first use."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._running: dict[float, Served] = {}

    def at(self, speed: float) -> Served:
        if speed not in self._running:
            self._running[speed] = self._stack.enter_context(served(speed))
        return self._running[speed]


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        yield Servers(stack)


@contextmanager
def served(speed: float, stop: signal.Signals = signal.SIGINT, options: Sequence[str] = ()) -> Iterator[Served]:
    """The server, with `options` of `serve`, stopped at the end with `stop` (Ctrl-C is SIGINT; a service manager sends
    SIGTERM)."""
    command = [sys.executable, "-m", "omnijourney_tools.cli", "serve", "--port", "0", "--speed", str(speed), *options]
    # Appending: the server's writes land at the end whatever the test's reads move the shared offset to.
    with tempfile.TemporaryFile("a+") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            announced = first_line(process, STARTUP_SECONDS)
            address = re.search(r"listening on (http://\S+)", announced)
            assert address, f"serve did not start: {announced!r}\n{log_tail(log)}"
            yield Served(address.group(1), process.pid, log)
        finally:
            process.send_signal(stop)
            try:
                status = process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
        assert status == 0, f"serve did not stop cleanly (exit {status}):\n{log_tail(log)}"
