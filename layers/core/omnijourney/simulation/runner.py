"""Running a scenario: each line at its virtual time through the real handlers on the local backend."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from omnijourney import config
from omnijourney.local import LOCAL_HOST, LOCAL_SECRETS, LocalBackend, http_event
from omnijourney.simulation.metrics import metrics
from omnijourney.simulation.scenario import (
    AdvanceLine,
    DeliveryLine,
    EraseLine,
    LookupLine,
    ScenarioLine,
    ScheduleLine,
)
from omnijourney.sources import SOURCE_NAMES, get_source
from omnijourney.sources.delivery import Delivery

if TYPE_CHECKING:
    from omnijourney.profiles.store import ProfileRecord

WRONG_SECRET = "not-the-secret"  # noqa: S105 - signs the scenario's deliberately invalid deliveries
Progress = Callable[[int, int], None]


class Simulation:
    """One scenario run: a fresh backend, a virtual clock, and the report built as lines are applied.

    The compiled journeys run on moto's Step Functions executor with their Lambda tasks answered by the
    journey-step handler in this process; waits, timeouts, retries and quiet-hours deferrals fire at
    virtual times, in order, before each line is applied.
    """

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.report: dict[str, Any] = {
            "inputs": [],
            "messages": [],
            "lookups": [],
            "journeys": [],
            "profiles": [],
            "metrics": {},
        }
        # Erased customer id → when: the audit flags only what was sent after.
        self.erased: dict[str, str] = {}

    def run(self, lines: Iterable[ScenarioLine], progress: Progress | None = None) -> dict[str, Any]:
        virtual_clock = self.backend.clock
        lines = list(lines)
        for index, line in enumerate(lines, start=1):
            # Timer by timer, so an execution that ends in between is recorded when it ends.
            while (due := virtual_clock.next_due()) is not None and due <= line.at:
                virtual_clock.advance_to(due)
                self.backend.status_changes()
            virtual_clock.advance_to(line.at.astimezone(UTC))
            self.apply(line)
            virtual_clock.settle()
            self.backend.status_changes()
            if progress:
                progress(index, len(lines))
        from omnijourney.profiles import service

        live_records = live_profiles()
        self.report["profiles"] = [service.view_of(record) for record in live_records]
        live = live_customer_ids(live_records)
        self.report["messages"] = messages(live)
        self.report["journeys"] = journey_runs(live)
        self.report["metrics"] = metrics(
            self.report["profiles"],
            self.report["messages"],
            journeys=self.report["journeys"],
            activity=activity(live_records),
            rules=config.consistency(),
            erased=self.erased,
        )
        return self.report

    def apply(self, line: ScenarioLine) -> None:
        if isinstance(line, DeliveryLine):
            status, error = self.deliver(line)
            self.report["inputs"].append({"line": line.number, "status": status, "error": error})
        elif isinstance(line, LookupLine):
            ((key, value),) = line.lookup.items()
            status, body = self._profile_request(key, value)
            entry = {"line": line.number, "status": status, "profile": body if status == 200 else None}
            self.report["lookups"].append(entry | ({} if status == 200 else {"error": body.get("detail")}))
        elif isinstance(line, EraseLine):
            ((key, value),) = line.erase.items()
            status, body = self._profile_request(key, value)
            if status == 200:
                status, body = self.backend.call_http(
                    "profile_api", http_event("DELETE", f"/profiles/{body['customer_id']}")
                )
                self.erased.update(dict.fromkeys(body.get("erased", []), line.at.astimezone(UTC).isoformat()))
            self.report["inputs"].append(
                {
                    "line": line.number,
                    "status": status,
                    "error": None if status == 200 else body.get("detail"),
                }
            )
        elif isinstance(line, ScheduleLine):
            started = self.backend.call_function("journey_schedule", {"journey": line.schedule})
            self.report["inputs"].append({"line": line.number, "status": 200, "error": None} | started)
        else:
            assert isinstance(line, AdvanceLine)

    def deliver(self, line: DeliveryLine) -> tuple[int, str | None]:
        if line.source == "ses":
            if not isinstance(line.body, dict):
                return 400, "an SES line's body must be the event record or its SNS notification"
            self.backend.publish_ses_event(line.body)
            self.backend.drain()
            return 202, None
        headers = dict(line.headers)
        if line.form is not None:
            body = urlencode(line.form).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif line.raw is not None:
            body = line.raw.encode()
        else:
            body = json.dumps(line.body).encode()
            headers.setdefault("Content-Type", "application/json")
        path = f"/webhooks/{line.source}"
        if line.source in SOURCE_NAMES and line.signature != "missing":
            secret = LOCAL_SECRETS[line.source] if line.signature == "valid" else WRONG_SECRET
            delivery = Delivery(line.source, body, headers, f"https://{LOCAL_HOST}{path}")
            headers.update(get_source(line.source).sign(delivery, secret, line.at))
        status, answer = self.backend.call_http("ingest", http_event("POST", path, headers=headers, body=body))
        self.backend.drain()
        return status, None if status < 300 else answer.get("detail")

    def _profile_request(self, key: str, value: str) -> tuple[int, dict[str, Any]]:
        if key == "customer_id":
            return self.backend.call_http("profile_api", http_event("GET", f"/profiles/{value}"))
        return self.backend.call_http("profile_api", http_event("GET", "/profiles", query={key: value}))


def live_profiles() -> list[ProfileRecord]:
    """Every live profile's record (not merged away), by customer id."""
    from omnijourney.profiles import store

    live = [record for record in store.ProfileRecord.scan() if not record.merged_into]
    return sorted(live, key=lambda record: record.customer_id)


def live_customer_ids(live_records: list[ProfileRecord] | None = None) -> dict[str, str]:
    """Every customer id, merged-away ones included → the live profile's id (erased customers are absent)."""
    live = {}
    for record in live_profiles() if live_records is None else live_records:
        live.update(dict.fromkeys((record.customer_id, *record.profile.merged_from), record.customer_id))
    return live


def activity(live_records: list[ProfileRecord]) -> dict[str, list[dict[str, Any]]]:
    """Each live customer's recorded events (with those of everyone merged into them), oldest first."""
    from omnijourney.profiles import store

    activity = {}
    for record in live_records:
        entries = store.history([record.customer_id, *record.profile.merged_from], limit=10_000)
        activity[record.customer_id] = [
            {
                "at": entry.entry.split("#", 1)[0],
                "type": entry.event_type,
                "channel": entry.channel,
                "consent": json.loads(entry.consent or "{}"),
            }
            for entry in reversed(entries)
        ]
    return activity


def messages(live: dict[str, str]) -> list[dict[str, Any]]:
    """Every send, suppression and deferral in the ledger, in time order, under the customer's live id."""
    from omnijourney.runtime.records import LedgerRecord

    entries = [
        entry.as_report() | {"customer_id": live.get(entry.customer_id, entry.customer_id)}
        for entry in LedgerRecord.scan()
    ]
    return sorted(entries, key=lambda entry: (entry["at"], entry["customer_id"], entry["journey"], entry["step"]))


def journey_runs(live: dict[str, str]) -> list[dict[str, Any]]:
    from omnijourney.runtime.records import JourneyRunRecord

    runs = [
        run.as_report() | {"customer_id": live.get(run.customer_id, run.customer_id)} for run in JourneyRunRecord.scan()
    ]
    return sorted(runs, key=lambda run: (run["started_at"], run["customer_id"], run["journey"]))


def simulate(lines: Iterable[ScenarioLine], progress: Progress | None = None) -> dict[str, Any]:
    lines = list(lines)
    with LocalBackend(stage="sim", start=lines[0].at.astimezone(UTC) if lines else None) as backend:
        return Simulation(backend).run(lines, progress)
