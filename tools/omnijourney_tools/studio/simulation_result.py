"""A simulation's report as the Simulate page shows it: per customer a timeline, per journey a funnel, the metrics.

Every reason is said in the words of `omnijourney simulate`'s timeline (`simulation.timeline.in_words` and its
tables), so the page and the CLI never explain a hold differently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from omnijourney.vocabulary import NOTED, MessageChannel
from omnijourney_tools.simulation.timeline import (
    CHANNELS_IN_WORDS,
    ENDED,
    INPUT,
    MESSAGE,
    OUTCOMES_IN_WORDS,
    STARTED,
    collapsed,
    in_words,
)

# AWS Step Functions Standard workflows bill each state transition: $0.025 per 1,000 (us-east-1, and most regions),
# https://aws.amazon.com/step-functions/pricing/ (read 2026). Express workflows are billed differently.
STANDARD_USD_PER_TRANSITION = Decimal("0.025") / 1000


@dataclass(frozen=True)
class Happening:
    """One row of a customer's timeline. `kind` is input, started, skipped, sent, held, deferred or ended; `why` the
    reason in words; `text` the message as the customer read it ({"subject", "body"})."""

    at: datetime
    kind: str
    what: str
    why: str | None = None
    text: dict[str, Any] | None = None


@dataclass(frozen=True)
class CustomerTimeline:
    customer_id: str
    lifecycle_stage: str
    known_by: str
    happenings: list[Happening]

    @property
    def held(self) -> int:
        return sum(happening.kind == "held" for happening in self.happenings)


@dataclass(frozen=True)
class StepCounts:
    """How many of a journey's runs reached a step, had its message sent, or held (by the reason in words)."""

    step: str
    reached: int
    sent: int
    held: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Funnel:
    journey: str
    entered: int
    steps: list[StepCounts]
    goal: int
    not_entered: dict[str, int]


@dataclass(frozen=True)
class RunMetrics:
    customers: int
    clv_average: float
    cross_channel_conversion: float
    consistency_score: float
    consistency_violations: int
    messages_sent: int
    messages_suppressed: int
    state_transitions: int

    @property
    def cost_usd(self) -> Decimal:
        """What the run's state transitions would cost on Step Functions Standard."""
        return self.state_transitions * STANDARD_USD_PER_TRANSITION


@dataclass(frozen=True)
class Refused:
    """An input the backend refused, with its scenario line and the backend's words."""

    line: int
    status: int
    error: str


@dataclass(frozen=True)
class Result:
    scenario: str
    lines: int
    customers: list[CustomerTimeline]
    funnels: list[Funnel]
    metrics: RunMetrics
    held_by_reason: dict[str, int]
    refused: list[Refused]


def result_of(scenario: str, lines: int, report: dict[str, Any], steps: dict[str, list[str]]) -> Result:
    """The page's view of `report` (from `simulate`); `steps` lists each journey's step ids in the file's order."""
    metrics = report["metrics"]
    return Result(
        scenario=scenario,
        lines=lines,
        customers=[_timeline(profile, report) for profile in report["profiles"]],
        funnels=[_funnel(journey, steps.get(journey, []), report) for journey in _journeys_in(report)],
        metrics=RunMetrics(
            customers=metrics["customers"],
            clv_average=metrics["clv"]["average"],
            cross_channel_conversion=metrics["cross_channel_conversion_rate"],
            consistency_score=metrics["consistency_score"],
            consistency_violations=len(metrics["consistency_violations"]),
            messages_sent=metrics["messages_sent"],
            messages_suppressed=metrics["messages_suppressed"],
            state_transitions=metrics["state_transitions"],
        ),
        held_by_reason=dict(
            Counter(
                in_words(message["reason"] or "", message["channel"])
                for message in report["messages"]
                if message["status"] != "sent"
            ).most_common()
        ),
        refused=[
            Refused(entry["line"], entry["status"], entry["error"])
            for entry in report["inputs"]
            if entry.get("error") is not None
        ],
    )


def _journeys_in(report: dict[str, Any]) -> list[str]:
    return sorted({run["journey"] for run in report["journeys"]} | {entry["journey"] for entry in report["skipped"]})


def _timeline(profile: dict[str, Any], report: dict[str, Any]) -> CustomerTimeline:
    customer = profile["customer_id"]
    rows: list[tuple[datetime, int, Happening]] = []
    # The profile's recorded events stand for the inputs that reached this customer (the newest the profile keeps).
    for event in profile["recent_activity"]:
        what = " ".join(part for part in (event["type"].replace("_", " "), event.get("name")) if part)
        rows.append((_at(event["at"]), INPUT, Happening(_at(event["at"]), "input", f"{what} ({event['channel']})")))
    for entry in report["skipped"]:
        if entry["customer_id"] == customer:
            happening = Happening(
                _at(entry["at"]), "skipped", f"{entry['journey']} not started", in_words(entry["reason"])
            )
            rows.append((happening.at, STARTED, happening))
    for run in report["journeys"]:
        if run["customer_id"] != customer:
            continue
        rows.append((_at(run["started_at"]), STARTED, Happening(_at(run["started_at"]), "started", run["journey"])))
        if run["ended_at"]:
            rows.append((_at(run["ended_at"]), ENDED, _ended(run)))
    for message in collapsed([message for message in report["messages"] if message["customer_id"] == customer]):
        rows.append((_at(message["at"]), MESSAGE, _message(message)))
    identifiers = {kind: values[-1] for kind, values in profile["identifiers"].items() if values}
    return CustomerTimeline(
        customer_id=customer,
        lifecycle_stage=profile["lifecycle_stage"],
        known_by=", ".join(f"{kind.replace('_', ' ')} {value}" for kind, value in identifiers.items()),
        happenings=[happening for _, _, happening in sorted(rows, key=lambda row: (row[0], row[1]))],
    )


def _message(message: dict[str, Any]) -> Happening:
    channel = MessageChannel(message["channel"])
    what = f"{message['journey']} › {message['step']}: {CHANNELS_IN_WORDS[channel]} {message['template']}"
    at = _at(message["at"])
    if message["status"] == "sent":
        offer = message.get("offer")
        withheld = message.get("offer_withheld")
        sent = "noted on the profile" if channel in NOTED else f"sent to {message['to']}"
        return Happening(
            at,
            "sent",
            f"{what} {sent}" + (f", offer {offer['code']} ({offer['discount']})" if offer else ""),
            in_words(withheld["reason"], message["channel"]) if withheld else None,
            message.get("text"),
        )
    times = f" (×{message['times']})" if message.get("times", 1) > 1 else ""
    kind = "deferred" if message["status"] == "deferred" else "held"
    return Happening(at, kind, what + times, in_words(message["reason"] or "", message["channel"]))


def _ended(run: dict[str, Any]) -> Happening:
    outcome = OUTCOMES_IN_WORDS.get(run["outcome"], run["outcome"])
    path = " → ".join(run.get("path") or [])
    why = in_words(run["reason"]) if run["reason"] else None
    return Happening(_at(run["ended_at"]), "ended", f"{run['journey']} {outcome}" + (f" ({path})" if path else ""), why)


def _funnel(journey: str, step_ids: list[str], report: dict[str, Any]) -> Funnel:
    runs = [run for run in report["journeys"] if run["journey"] == journey]
    messages = [message for message in report["messages"] if message["journey"] == journey]
    # Steps as the file lists them, then any the runs took that the file no longer has (it changed since).
    taken = [step for run in runs for step in run.get("path") or []]
    order = list(dict.fromkeys([*step_ids, *taken]))
    steps = []
    for step in order:
        at_step = [message for message in messages if message["step"] == step]
        sent = {message["execution"] for message in at_step if message["status"] == "sent"}
        held: dict[str, set[str]] = {}
        for message in at_step:
            if message["status"] != "sent":
                held.setdefault(in_words(message["reason"] or "", message["channel"]), set()).add(message["execution"])
        reached = sum(step in (run.get("path") or []) for run in runs)
        steps.append(StepCounts(step, reached, len(sent), {why: len(runs_held) for why, runs_held in held.items()}))
    skipped = Counter(in_words(entry["reason"]) for entry in report["skipped"] if entry["journey"] == journey)
    return Funnel(
        journey=journey,
        entered=len(runs),
        steps=steps,
        goal=sum(run["outcome"] == "goal" for run in runs),
        not_entered=dict(skipped.most_common()),
    )


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
