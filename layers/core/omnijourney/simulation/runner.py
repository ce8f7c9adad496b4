"""Running a scenario: each line at its virtual time through the real handlers on the local backend."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from omnijourney import clock
from omnijourney.local import LOCAL_HOST, LOCAL_SECRETS, LocalBackend, http_event
from omnijourney.simulation.scenario import AdvanceLine, DeliveryLine, EraseLine, LookupLine, ScenarioLine
from omnijourney.sources import SOURCE_NAMES, get_source
from omnijourney.sources.delivery import Delivery

WRONG_SECRET = "not-the-secret"  # noqa: S105 - signs the scenario's deliberately invalid deliveries
Progress = Callable[[int, int], None]


class Simulation:
    """One scenario run: a fresh backend, a virtual clock, and the report built as lines are applied."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.now = datetime.now(UTC)
        self.report: dict[str, Any] = {"inputs": [], "lookups": [], "profiles": [], "metrics": {}}

    def run(self, lines: Iterable[ScenarioLine], progress: Progress | None = None) -> dict[str, Any]:
        lines = list(lines)
        if lines:
            self.now = lines[0].at
        clock.use(lambda: self.now)
        try:
            for index, line in enumerate(lines, start=1):
                self.now = line.at
                self.apply(line)
                if progress:
                    progress(index, len(lines))
            self.report["profiles"] = self.profiles()
            self.report["metrics"] = metrics(self.report["profiles"])
        finally:
            clock.use(None)
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
            self.report["inputs"].append(
                {
                    "line": line.number,
                    "status": status,
                    "error": None if status == 200 else body.get("detail"),
                }
            )
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

    def profiles(self) -> list[dict[str, Any]]:
        from omnijourney.profiles import service, store

        live = [record for record in store.ProfileRecord.scan() if not record.merged_into]
        return [service.view_of(record) for record in sorted(live, key=lambda record: record.customer_id)]


def metrics(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures defined in docs/metrics.md that profiles alone determine."""
    orders = [order for profile in profiles for order in profile["orders"]]
    revenue = sum((Decimal(str(order["total"])) for order in orders), Decimal(0))
    return {"customers": len(profiles), "orders": len(orders), "revenue": float(revenue)}


def simulate(lines: Iterable[ScenarioLine], progress: Progress | None = None) -> dict[str, Any]:
    with LocalBackend(stage="sim") as backend:
        return Simulation(backend).run(lines, progress)
