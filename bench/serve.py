"""`python -m bench.serve`: `omnijourney serve` driven from this (second) process over loopback. Prints; never asserts.

Bounded load: --events Segment track calls (one event each, as /v1/track) over --connections keep-alive
connections, stopping after --max-seconds whatever is left. Then every customer's profile is read back through the
profile API and each accepted event must be in its recent activity: none may be lost.

The server handles one request at a time (moto and the journeys' clock are one process-wide backend), and every
request waits for its events to reach the profile, so a request's latency is mostly its turn in that queue.
"""

from __future__ import annotations

import argparse
import math
import queue
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.commands import listening
from omnijourney.profiles.store import HISTORY_READ_LIMIT
from omnijourney_tools.serve.tracking import LOCAL_WRITE_KEY

DEFAULT_EVENTS = 2_000
DEFAULT_CONNECTIONS = 50
DEFAULT_MAX_SECONDS = 600.0
# Each customer gets fewer events than the profile shows in its recent activity, so all of them can be checked.
EVENTS_PER_CUSTOMER = HISTORY_READ_LIMIT - 10
STARTUP_SECONDS = 90


@dataclass(frozen=True)
class TrackCall:
    customer: int
    name: str

    @property
    def email(self) -> str:
        return email_of(self.customer)

    def body(self) -> dict[str, Any]:
        return {
            "userId": f"bench-user-{self.customer}",
            "event": self.name,
            "properties": {"source": "bench"},
            "context": {"traits": {"email": self.email}},
        }


@dataclass
class Load:
    """What the connections saw; appended to by every connection's thread."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: list[TrackCall] = field(default_factory=list)
    transport_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: TrackCall, status: int | None, seconds: float) -> None:
        with self.lock:
            if status is None:
                self.transport_errors += 1
                return
            self.latencies.append(seconds)
            self.statuses[status] += 1
            if status == 200:
                self.accepted.append(call)


def email_of(customer: int) -> str:
    return f"bench-{customer}@example.com"


def calls(events: int) -> list[TrackCall]:
    """Customers' events interleaved, so concurrent connections write to the same profiles."""
    customers = math.ceil(events / EVENTS_PER_CUSTOMER)
    return [TrackCall(index % customers, f"Bench event {index}") for index in range(events)]


def drive(url: str, work: list[TrackCall], connections: int, max_seconds: float) -> tuple[Load, float, int]:
    """Send the calls over `connections` keep-alive connections; the load, the wall seconds and how many were sent."""
    pending: queue.SimpleQueue[TrackCall] = queue.SimpleQueue()
    for call in work:
        pending.put(call)
    load = Load()
    deadline = time.monotonic() + max_seconds

    def connection() -> None:
        with requests.Session() as session:
            session.auth = (LOCAL_WRITE_KEY, "")
            while time.monotonic() < deadline:
                try:
                    call = pending.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    status: int | None = session.post(f"{url}/v1/track", json=call.body(), timeout=120).status_code
                except requests.RequestException:
                    status = None
                load.record(call, status, time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=connection) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load, time.perf_counter() - started, len(work) - pending.qsize()


def lost_events(url: str, accepted: list[TrackCall]) -> int:
    """Accepted events missing from their customer's profile, read back through the profile API."""
    expected: dict[str, set[str]] = {}
    for call in accepted:
        expected.setdefault(call.email, set()).add(call.name)
    lost = 0
    with requests.Session() as session:
        for email, names in expected.items():
            response = session.get(f"{url}/profiles", params={"email": email}, timeout=60)
            found = {entry["name"] for entry in response.json().get("recent_activity", [])} if response.ok else set()
            lost += len(names - found)
    return lost


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="stop sending after this")
    args = parser.parse_args(argv)
    work = calls(args.events)
    customers = len({call.customer for call in work})
    started = time.perf_counter()
    with listening("serve") as server:
        startup = time.perf_counter() - started
        load, seconds, sent = drive(server.url, work, args.connections, args.max_seconds)
        lost = lost_events(server.url, load.accepted)
    accepted = len(load.accepted)
    print(
        f"omnijourney serve over loopback, driven from a second process (server ready in {startup:.1f} s)\n"
        f"load: {sent} of {args.events} Segment track calls (/v1/track, one event each) for {customers} customers, "
        f"{args.connections} concurrent keep-alive connections, at most {args.max_seconds:g} s\n"
        f"answers by status {dict(sorted(load.statuses.items()))}; transport errors {load.transport_errors}\n"
        f"accepted {accepted} events in {seconds:.1f} s: {accepted / seconds:.1f} events/s"
        f" (10,000 events, --events 10000, would take about {10_000 / max(accepted / seconds, 0.1) / 60:.0f} min)\n"
        f"latency per call: p50 {percentile(load.latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(load.latencies, 0.99) * 1000:.0f} ms, "
        f"mean {statistics.fmean(load.latencies) * 1000:.0f} ms\n"
        f"lost: {lost} accepted events missing from their profile's recent activity "
        f"(each of {len({call.email for call in load.accepted})} profiles read back through GET /profiles?email=)\n"
        f"server stopped with exit status {server.stopped}"
    )


if __name__ == "__main__":
    main()
