"""What a Lambda cold start pays for imports: each handler loaded as Lambda loads it, against bare boto3.

Each import runs in a fresh interpreter that sees only the standard library, the core layer (built for this
machine with the recipe of the arm64 one, bytecode included) and the function's own asset, and writes no bytecode,
as on Lambda's read-only /opt. The figures are this machine's; Lambda's arm64 cores differ, the ratios less.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from infra.packaging import HOST_PLATFORM, HOST_PYTHON, build_layer, function_asset

RUNS = 5
# The timed statement runs after the interpreter is up, so start-up is not counted; RSS is the whole process.
# Linux keeps ru_maxrss across exec, so a child of this (large) process would report our peak: read VmHWM instead.
_PROBE = """
import json, resource, sys, time
sys.path[:0] = {path!r}
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
HANDLERS = ("ingest", "profile", "profile_api", "staff_api", "journey_step", "journey_schedule")
# What a handler imports on its first invocation, not at cold start (its `# lazy:` imports): measured with the
# handler too, so the table shows what the first request pays as well. The journey functions serve Step Functions'
# Tasks and its schedule, where no person waits on the first Task; the APIs and ingest serve people and vendors.
FIRST_INVOCATION = {
    "profile": ("omnijourney.profiles.service", "omnijourney.runtime.triggers", "omnijourney.runtime.segments"),
    "profile_api": ("omnijourney.profiles.service", "omnijourney.runtime.ledger_records"),
    "staff_api": ("omnijourney.profiles.service", "omnijourney.runtime.ledger_records"),
    "journey_step": ("omnijourney.runtime.steps",),
    "journey_schedule": ("omnijourney.runtime.triggers", "omnijourney.runtime.segments", "omnijourney.runtime.ledger"),
}
FIRST = " + first invocation"


def probes(layer: Path) -> dict[str, tuple[str, list[str]]]:
    """name → (statement, sys.path before the standard library)."""
    python = str(layer / "python")
    handlers = {
        f"functions/{name}/handler.py": ("import handler", [python, str(function_asset(name))]) for name in HANDLERS
    }
    first = {
        f"functions/{name}/handler.py{FIRST}": (
            "; ".join(["import handler", *(f"import {module}" for module in modules)]),
            [python, str(function_asset(name))],
        )
        for name, modules in FIRST_INVOCATION.items()
    }
    return {"python, no import": ("pass", []), "import boto3": ("import boto3", [python]), **handlers, **first}


def probe(statement: str, path: list[str], layer: Path) -> tuple[float, int]:
    """Seconds to run `statement` and the peak RSS in KB, in a new interpreter set up as Lambda's."""
    environment = {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "OMNIJOURNEY_CONFIG_DIR": str(layer / "omnijourney" / "config"),
        "OMNIJOURNEY_JOURNEYS_DIR": str(layer / "omnijourney" / "journeys"),
    }
    output = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _PROBE.format(statement=statement, path=path)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    seconds, rss_kb = json.loads(output.splitlines()[-1])
    return float(seconds), int(rss_kb)


def cold_imports() -> dict[str, tuple[float, int]]:
    """name → (median seconds, median peak RSS KB) over RUNS fresh interpreters."""
    layer = build_layer(platform=HOST_PLATFORM, python_version=HOST_PYTHON)
    named = probes(layer)
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in named}
    for _ in range(RUNS):  # round robin, so a noisy moment on the machine hits every import alike
        for name, (statement, path) in named.items():
            runs[name].append(probe(statement, path, layer))
    return {
        name: (statistics.median(s for s, _ in samples), int(statistics.median(r for _, r in samples)))
        for name, samples in runs.items()
    }
