"""Helpers for tests that start a command of the project as a process of its own (serve, studio)."""

from __future__ import annotations

import queue
import subprocess
import threading
from typing import IO


def first_line(process: subprocess.Popen[str], seconds: float) -> str:
    """The process's first line on stdout (what it announces on start), or "" if none comes within `seconds`."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline() if process.stdout else ""), daemon=True).start()
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        return ""


def log_tail(log: IO[str]) -> str:
    """The end of a process's log file, for an assertion's message."""
    log.seek(0)
    return log.read()[-5000:]
