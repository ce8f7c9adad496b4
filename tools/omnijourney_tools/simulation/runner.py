"""Running a scenario: each line at its virtual time through the real handlers on the local backend."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from omnijourney.app import config
from omnijourney.edge.sources import SOURCE_NAMES, get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.platform import aws
from omnijourney.profiles import service, store
from omnijourney.runtime import ledger, runs
from omnijourney_tools.local import LOCAL_HOST, LOCAL_SECRETS, LocalBackend, http_event
from omnijourney_tools.simulation.conversions import with_conversions
from omnijourney_tools.simulation.metrics import metrics
from omnijourney_tools.simulation.scenario import (
    IMPORTED_SOURCE,
    AdvanceLine,
    DeliveryLine,
    EraseLine,
    LookupLine,
    ScenarioLine,
    ScheduleLine,
)

if TYPE_CHECKING:
    from omnijourney.profiles.store import ProfileRecord

WRONG_SECRET = "not-the-secret"  # noqa: S105 - signs the scenario's deliberately invalid deliveries
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Findings:
    """What one backend saw of a scenario (or of its share of the customers); the report is made from these."""

    inputs: list[dict[str, Any]]
    lookups: list[dict[str, Any]]
    profiles: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    journeys: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    # Each live customer's recorded events, for the audit; erased customer id → when.
    activity: dict[str, list[dict[str, Any]]]
    erased: dict[str, str]
    # What the facts' delivery stream wrote (newline-delimited records), when asked for (`simulate --lake`).
    fact_records: list[bytes] = field(default_factory=list)


class Simulation:
    """One scenario run: a fresh backend, a virtual clock, and the report built as lines are applied.

    The compiled journeys run on moto's Step Functions executor with their Lambda tasks answered by the
    journey-step handler in this process; waits, timeouts, retries and quiet-hours deferrals fire at
    virtual times, in order, before each line is applied.
    """

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.inputs: list[dict[str, Any]] = []
        self.lookups: list[dict[str, Any]] = []
        # Erased customer id → when: the audit flags only what was sent after.
        self.erased: dict[str, str] = {}

    def run(self, lines: Iterable[ScenarioLine], progress: Progress | None = None, *, facts: bool = False) -> Findings:
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

        live_records = live_profiles()
        live = live_customer_ids(live_records)
        return Findings(
            inputs=self.inputs,
            lookups=self.lookups,
            profiles=[service.view_of(record) for record in live_records],
            messages=messages(live),
            journeys=[run | self.walked(run["journey"], run["execution"]) for run in journey_runs(live)],
            skipped=skipped(live),
            activity=activity(live_records),
            erased=self.erased,
            fact_records=self.backend.fact_records() if facts else [],
        )

    def walked(self, journey: str, execution: str) -> dict[str, Any]:
        """From the execution's history: the states it entered, what Step Functions Standard bills (each entry is
        a transition), and the path of steps it took."""

        machine = self.backend.state_machines[journey]
        entered = runs.states_entered(f"{machine.replace(':stateMachine:', ':execution:')}:{execution}")
        step_ids = {step.id for step in config.journeys().journeys[journey].steps}
        return {"transitions": len(entered), "path": runs.path_taken(entered, step_ids)}

    def apply(self, line: ScenarioLine) -> None:
        if isinstance(line, DeliveryLine):
            status, error = self.deliver(line)
            self.inputs.append({"line": line.number, "status": status, "error": error})
        elif isinstance(line, LookupLine):
            ((key, value),) = line.lookup.items()
            status, body = self._profile_request(key, value)
            entry = {"line": line.number, "status": status, "profile": body if status == 200 else None}
            self.lookups.append(entry | ({} if status == 200 else {"error": body.get("detail")}))
        elif isinstance(line, EraseLine):
            ((key, value),) = line.erase.items()
            status, body = self._profile_request(key, value)
            if status == 200:
                status, body = self.backend.call_http(
                    "profile_api", http_event("DELETE", f"/profiles/{body['customer_id']}")
                )
                self.erased.update(dict.fromkeys(body.get("erased", []), line.at.astimezone(UTC).isoformat()))
            self.inputs.append(
                {
                    "line": line.number,
                    "status": status,
                    "error": None if status == 200 else body.get("detail"),
                }
            )
        elif isinstance(line, ScheduleLine):
            started = self.backend.call_function("journey_schedule", line.function_input)["started"]
            # By name: which customer the table yields first says nothing.
            self.inputs.append({"line": line.number, "status": 200, "error": None, "started": sorted(started)})
        else:
            assert isinstance(line, AdvanceLine)

    def deliver(self, line: DeliveryLine) -> tuple[int, str | None]:
        if line.source == "ses":
            if not isinstance(line.body, dict):
                return 400, "an SES line's body must be the event record or its SNS notification"
            self.backend.publish_ses_event(line.body)
            self.backend.drain()
            return 202, None
        if line.source == IMPORTED_SOURCE:
            return self.import_endpoint(line)
        delivery = delivery_of(line)
        headers = dict(delivery.headers)
        if line.source in SOURCE_NAMES and line.signature != "missing":
            secret = LOCAL_SECRETS[line.source] if line.signature == "valid" else WRONG_SECRET
            headers.update(get_source(line.source).sign(delivery, secret, line.at))
        event = http_event("POST", f"/webhooks/{line.source}", headers=headers, body=delivery.body)
        status, answer = self.backend.call_http("ingest", event)
        self.backend.drain()
        return status, None if status < 300 else answer.get("detail")

    def import_endpoint(self, line: DeliveryLine) -> tuple[int, str | None]:
        """A Pinpoint endpoint record through the import path, as `import pinpoint endpoints --stage` sends it (never
        the webhook route: such records are unsigned)."""
        # lazy: botocore's Pinpoint model loads only for a scenario that has such lines
        from omnijourney_tools.pinpoint.endpoints import BadRecord, endpoint_from
        from omnijourney_tools.stage_queue import Place, QueueSender

        record = line.raw.encode() if line.raw is not None else json.dumps(line.body).encode()
        try:
            imported = endpoint_from(record, line.at)
        except BadRecord as bad:
            return bad.status, str(bad)
        if imported.message is not None:
            sender = QueueSender(aws.client("sqs"), self.backend.queue_url)
            sender.add(Place(IMPORTED_SOURCE, line.number), imported.message)
            sender.flush()
        self.backend.drain()
        return 202, None

    def _profile_request(self, key: str, value: str) -> tuple[int, dict[str, Any]]:
        if key == "customer_id":
            return self.backend.call_http("profile_api", http_event("GET", f"/profiles/{value}"))
        return self.backend.call_http("profile_api", http_event("GET", "/profiles", query={key: value}))


def delivery_of(line: DeliveryLine) -> Delivery:
    """The webhook call a delivery line stands for, unsigned: the body as the vendor encodes it."""
    headers = dict(line.headers)
    if line.form is not None:
        body = urlencode(line.form).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif line.raw is not None:
        body = line.raw.encode()
    else:
        body = json.dumps(line.body).encode()
        headers.setdefault("Content-Type", "application/json")
    return Delivery(line.source, body, headers, f"https://{LOCAL_HOST}/webhooks/{line.source}", line.at)


def live_profiles() -> list[ProfileRecord]:
    """Every live customer's record (store.live_records), by customer id."""
    return sorted(store.live_records(), key=lambda record: record.customer_id)


def live_customer_ids(live_records: list[ProfileRecord] | None = None) -> dict[str, str]:
    """Every customer id, merged-away ones included → the live profile's id (erased customers are absent)."""
    live = {}
    for record in live_profiles() if live_records is None else live_records:
        live.update(dict.fromkeys((record.customer_id, *record.profile.merged_from), record.customer_id))
    return live


def activity(live_records: list[ProfileRecord]) -> dict[str, list[dict[str, Any]]]:
    """Each live customer's recorded events (with those of everyone merged into them), oldest first."""

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

    entries = [
        entry | {"customer_id": live.get(entry["customer_id"], entry["customer_id"])} for entry in ledger.report()
    ]
    return sorted(entries, key=_message_order)


def _message_order(entry: dict[str, Any]) -> tuple[str, ...]:
    return entry["at"], entry["customer_id"], entry["journey"], entry["step"]


def _run_order(run: dict[str, Any]) -> tuple[str, ...]:
    return run["started_at"], run["customer_id"], run["journey"]


def journey_runs(live: dict[str, str]) -> list[dict[str, Any]]:
    reported = [run | {"customer_id": live.get(run["customer_id"], run["customer_id"])} for run in runs.report()]
    return sorted(reported, key=_run_order)


def skipped(live: dict[str, str]) -> list[dict[str, Any]]:
    """Every entry a journey passed over, in time order, under the customer's live id."""

    entries = [
        entry | {"customer_id": live.get(entry["customer_id"], entry["customer_id"])} for entry in runs.skipped_report()
    ]
    return sorted(entries, key=_skipped_order)


def _skipped_order(entry: dict[str, Any]) -> tuple[str, ...]:
    return entry["at"], entry["customer_id"], entry["journey"], entry["reason"]


def play(
    lines: Sequence[ScenarioLine], start: datetime | None, progress: Progress | None = None, *, facts: bool = False
) -> Findings:
    """The lines on a fresh backend whose clock starts at `start`; with `facts`, the analytics records it wrote."""
    with LocalBackend(stage="sim", start=start) as backend:
        return Simulation(backend).run(lines, progress, facts=facts)


def report_of(findings: Sequence[Findings]) -> dict[str, Any]:
    """The report, from what each backend found; lists in the order one backend would give them."""
    inputs: dict[int, dict[str, Any]] = {}
    for entry in (entry for found in findings for entry in found.inputs):
        earlier = inputs.get(entry["line"])  # a schedule's turn: every share started its own customers
        inputs[entry["line"]] = entry | {"started": sorted(earlier["started"] + entry["started"])} if earlier else entry
    profiles = sorted((profile for found in findings for profile in found.profiles), key=lambda p: p["customer_id"])
    # Equal keys belong to one customer, hence to one share: a stable sort keeps that share's order.
    ledger = sorted((message for found in findings for message in found.messages), key=_message_order)
    skipped = sorted((entry for found in findings for entry in found.skipped), key=_skipped_order)
    activity = dict(sorted(item for found in findings for item in found.activity.items()))
    journeys = with_conversions(
        sorted((run for found in findings for run in found.journeys), key=_run_order),
        config.journeys().journeys,
        profiles,
        activity,
    )
    erased = {customer: at for found in findings for customer, at in found.erased.items()}
    return {
        "inputs": [inputs[line] for line in sorted(inputs)],
        "messages": ledger,
        "lookups": sorted((lookup for found in findings for lookup in found.lookups), key=lambda entry: entry["line"]),
        "journeys": journeys,
        "skipped": skipped,
        "profiles": profiles,
        "metrics": metrics(
            profiles, ledger, journeys=journeys, activity=activity, rules=config.consistency(), erased=erased
        ),
    }
