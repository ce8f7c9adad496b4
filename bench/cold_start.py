"""What a Lambda cold start pays for imports: each handler loaded in a fresh interpreter, against bare boto3."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"
RUNS = 5
# The timed statement runs after the interpreter is up, so start-up is not counted; RSS is the whole process.
# Linux keeps ru_maxrss across exec, so a child of this (large) process would report our peak: read VmHWM instead.
_PROBE = """
import importlib.util, json, resource, time
started = time.perf_counter()
{statement}
elapsed = time.perf_counter() - started
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps([elapsed, peak_kb]))
"""
# As omnijourney.local.load_handler does it, without importing omnijourney.local (which imports boto3 itself).
_LOAD_HANDLER = """
spec = importlib.util.spec_from_file_location("handler", {path!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""


def statements() -> dict[str, str]:
    handlers = {
        f"functions/{name}/handler.py": _LOAD_HANDLER.format(path=str(FUNCTIONS / name / "handler.py"))
        for name in ("ingest", "profile", "profile_api")
    }
    return {"python, no import": "pass", "import boto3": "import boto3", **handlers}


def probe(statement: str) -> tuple[float, int]:
    """Seconds to run `statement` and the peak RSS in KB, in a new interpreter."""
    output = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement)], capture_output=True, text=True, check=True
    ).stdout
    seconds, rss_kb = json.loads(output.splitlines()[-1])
    return float(seconds), int(rss_kb)


def cold_imports() -> dict[str, tuple[float, int]]:
    """name → (median seconds, median peak RSS KB) over RUNS fresh interpreters."""
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in statements()}
    for _ in range(RUNS):  # round robin, so a noisy moment on the machine hits every import alike
        for name, statement in statements().items():
            runs[name].append(probe(statement))
    return {
        name: (statistics.median(s for s, _ in samples), int(statistics.median(r for _, r in samples)))
        for name, samples in runs.items()
    }
