"""`omnijourney <command> --port 0` started as a user starts it, in a process of its own, for the benches that drive
it over loopback (bench/serve.py, bench/studio.py)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

STOP_SECONDS = 60


@dataclass
class Listening:
    url: str
    stopped: int | None = None  # the exit status, once stopped


@contextmanager
def listening(command: str) -> Iterator[Listening]:
    """`omnijourney <command> --port 0` on a free loopback port, its URL as it announces it on its first line; stopped
    with Ctrl-C's SIGINT at the end (SystemExit if it does not start)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "omnijourney_tools.cli", command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # one access-log line per request
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()  # "" if it stops without a word
    found = re.search(r"listening on (http://\S+)", first_line)
    if found is None:
        process.kill()
        process.wait(STOP_SECONDS)
        raise SystemExit(f"omnijourney {command} did not start: {first_line!r}")
    running = Listening(found.group(1))
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        running.stopped = process.wait(STOP_SECONDS)
