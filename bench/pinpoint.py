"""`omnijourney import pinpoint endpoints --scenario` over a generated export of 100,000 endpoints (gzipped, as an
export job writes it): records per second and the converting process's peak memory, against a 1,000-endpoint export,
so what grows with the file shows. Each conversion runs in a fresh interpreter that reads its own peak (VmHWM:
Linux keeps ru_maxrss across exec, so a child of this process would report ours)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SIZES = (1_000, 100_000)
# Endpoints per user, on average: an email, a phone and now and then a device.
CHANNELS = ("EMAIL", "SMS", "GCM", "EMAIL", "APNS")
_CONVERT = """
import json, sys, time
from omnijourney_tools.cli import main
started = time.perf_counter()
status = main({arguments!r})
elapsed = time.perf_counter() - started
with open("/proc/self/status") as process:
    peak_kb = next(int(line.split()[1]) for line in process if line.startswith("VmHWM:"))
print(json.dumps([status, elapsed, peak_kb]), file=sys.stderr)
"""


@dataclass(frozen=True)
class Conversion:
    endpoints: int
    megabytes: float
    seconds: float
    peak_mb: float

    @property
    def per_second(self) -> float:
        return self.endpoints / self.seconds


def endpoint(number: int) -> dict[str, object]:
    """The `number`th endpoint of the generated export: a user every 2.5 endpoints, one in 20 opted out, one in 50
    inactive, shaped as the AWS documentation's export example."""
    user = number * 2 // 5
    channel = CHANNELS[number % len(CHANNELS)]
    address = {
        "EMAIL": f"customer{user}.{number % 2}@example.org",
        "SMS": f"+49151{user:08d}",
    }.get(channel, f"device-token-{number:012d}")
    return {
        "ChannelType": channel,
        "EndpointStatus": "INACTIVE" if number % 50 == 0 else "ACTIVE",
        "OptOut": "ALL" if number % 20 == 0 else "NONE",
        "Address": address,
        "Location": {"Country": "DE", "City": "Berlin", "PostalCode": "10115"},
        "Demographic": {"Locale": "de_DE", "Timezone": "Europe/Berlin", "Platform": "android"},
        "EffectiveDate": f"2024-05-{1 + number % 28:02d}T10:00:00.000Z",
        "Attributes": {"Interests": ["Shoes", "Running"]},
        "User": {"UserId": f"user_{user}", "UserAttributes": {"FirstName": ["Mia"], "Tier": ["gold"]}},
        "ApplicationId": "6e0b7591a90841d2b5d93fa11143e5a7",
        "Id": f"endpoint_{number}",
        "CohortId": str(number % 100),
        "CreationDate": "2024-01-11T10:00:00.000Z",
    }


def write_export(path: Path, endpoints: int) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as file:
        for number in range(1, endpoints + 1):
            file.write(json.dumps(endpoint(number), separators=(",", ":")) + "\n")


def convert(folder: Path, endpoints: int) -> Conversion:
    export = folder / f"endpoints-{endpoints}.json.gz"
    write_export(export, endpoints)
    arguments = [
        "import",
        "pinpoint",
        "endpoints",
        str(export),
        "--scenario",
        str(folder / f"customers-{endpoints}.jsonl"),
        "--report",
        str(folder / "pinpoint-import.md"),
    ]
    finished = subprocess.run(
        [sys.executable, "-c", _CONVERT.format(arguments=arguments)], capture_output=True, text=True, check=True
    )
    status, seconds, peak_kb = json.loads(finished.stderr.splitlines()[-1])
    if status != 0:
        raise SystemExit(f"the import of {endpoints} endpoints exited {status}")
    return Conversion(endpoints, export.stat().st_size / 1e6, seconds, peak_kb / 1024)


def pinpoint_conversions() -> list[Conversion]:
    with tempfile.TemporaryDirectory() as folder:
        return [convert(Path(folder), endpoints) for endpoints in SIZES]
