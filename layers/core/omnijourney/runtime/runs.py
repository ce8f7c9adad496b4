"""The journey runs: their pynamodb model and every read and write of them.

One item per customer and execution: what started it (the entry), where it waits (step, awaited event, task
token) and how it ended. The first outcome recorded stands; erasure keeps the outcome and forgets the entry. An ended
run expires RUN_RETENTION_DAYS after its end (DynamoDB's TTL on `expires_at`); a running one never does.

Beside the runs, the same table keeps the entries a journey passed over (`skipped`, with a SkipReason): one item per
customer, journey and starting event, so a marketer can see why a customer did not enter. They sort after every run
(their key starts with `~`, journey names with a letter) so reading a customer's runs never reads them, and they
expire after SKIPPED_RETENTION_DAYS; erasure deletes them.

The path a run took is read from its execution's history (`states_entered`, `path_taken`), not stored: Step Functions
keeps it, and a plain wait or an exit has no Task that could record it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from omnijourney.events import event_digest
from omnijourney.journeys.contract import Entry
from omnijourney.platform.tables import Table, table_meta
from omnijourney.profiles import store
from omnijourney.vocabulary import SkipReason

SKIPPED_RETENTION_DAYS = 30
# A year and a month: longer than any shipped journey's `re_entry: {after_days}` (at most 300), so a yearly journey
# still finds last year's run. `re_entry: never` therefore means "not within this many days of the last run's end".
RUN_RETENTION_DAYS = 400
# Runs' keys start with the journey's name (a lowercase letter); skipped entries' with this, which sorts after them.
SKIPPED_PREFIX = "~skipped#"


class RunOutcome(StrEnum):
    running = "running"
    goal = "goal"
    exited = "exited"
    completed = "completed"
    holdout = "holdout"
    stopped = "stopped"
    failed = "failed"
    skipped = "skipped"  # never ran: an entry the journey passed over (kept apart from runs, see the module)


class JourneyRunRecord(Table):
    """One customer's run through one journey: what started it, where it waits, how it ended."""

    Meta = table_meta("journey_runs_table")

    customer_id = UnicodeAttribute(hash_key=True)
    # `<journey>#<execution name>`: a customer's runs of one journey sit together.
    run = UnicodeAttribute(range_key=True)
    journey = UnicodeAttribute()
    execution = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    ended_at = UTCDateTimeAttribute(null=True)
    outcome = UnicodeAttribute(default=RunOutcome.running.value)  # a RunOutcome
    reason = UnicodeAttribute(null=True)
    # The channel of the order (or event) that reached the goal: web, app, pos, phone…
    converted_on = UnicodeAttribute(null=True)
    # What ended it (the digest of an event id, or of another cause the stopping names): a retry of that cause stops
    # the execution again, since its first attempt may have failed between recording the end and stopping it.
    ended_by = UnicodeAttribute(null=True)
    entry = UnicodeAttribute(default="{}")
    # Set while a `wait_for` step waits: which step, the event it waits for, the token that resumes it.
    waiting_step = UnicodeAttribute(null=True)
    awaited = UnicodeAttribute(null=True)
    task_token = UnicodeAttribute(null=True)
    # Skipped entries expire SKIPPED_RETENTION_DAYS after they are recorded, runs RUN_RETENTION_DAYS after they end.
    expires_at = TTLAttribute(null=True)

    @property
    def entry_data(self) -> dict[str, Any]:
        return dict(json.loads(self.entry))

    @property
    def journey_entry(self) -> Entry:
        """The entry as the contract reads it (an erased run's, `{}`, as an empty one)."""
        data = json.loads(self.entry)
        if not data:
            return Entry(event_id="", type="", channel="", source="", at=self.started_at)
        return Entry.model_validate(data)

    @property
    def running(self) -> bool:
        return self.outcome == RunOutcome.running

    def as_report(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "customer_id": self.customer_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "outcome": self.outcome,
            "reason": self.reason,
            "execution": self.execution,
            "entry_channel": self.entry_data.get("channel"),
            "converted_on": self.converted_on,
        }


def run_key(journey: str, execution: str) -> str:
    return f"{journey}#{execution}"


def of_customers(customer_ids: Iterable[str]) -> list[JourneyRunRecord]:
    """Every journey run of a customer and of everyone merged into them (not their skipped entries)."""
    before_skipped = JourneyRunRecord.run < SKIPPED_PREFIX
    return [run for customer_id in customer_ids for run in JourneyRunRecord.query(customer_id, before_skipped)]


def skipped_key(journey: str, event_id: str) -> str:
    return f"{SKIPPED_PREFIX}{journey}#{event_id}"


def skipped(customer_id: str, journey: str, event_id: str) -> JourneyRunRecord | None:
    """The entry `event_id` of `journey` that was passed over (record_skipped), if it was."""
    try:
        return JourneyRunRecord.get(customer_id, skipped_key(journey, event_id))
    except JourneyRunRecord.DoesNotExist:
        return None


def record_skipped(customer_id: str, event_id: str, skipped: Iterable[tuple[str, SkipReason]], at: datetime) -> None:
    """The journeys `event_id` would have started but did not, and why. Keyed by journey and event, so a retried event
    writes the same items again."""
    expires_at = at + timedelta(days=SKIPPED_RETENTION_DAYS)
    with store.classified():
        for journey, reason in skipped:
            JourneyRunRecord(
                customer_id,
                skipped_key(journey, event_id),
                journey=journey,
                execution="",
                started_at=at,
                ended_at=at,
                outcome=RunOutcome.skipped.value,
                reason=reason.value,
                expires_at=expires_at,
            ).save()


def forget_skipped(customer_ids: Iterable[str]) -> None:
    """Erasure: the entries the journeys passed over go (they say what the customer did, and when)."""
    for customer_id in customer_ids:
        for item in JourneyRunRecord.query(customer_id, JourneyRunRecord.run.startswith(SKIPPED_PREFIX)):
            item.delete()


def get(customer_id: str, journey: str, execution: str) -> JourneyRunRecord | None:
    try:
        return JourneyRunRecord.get(customer_id, run_key(journey, execution))
    except JourneyRunRecord.DoesNotExist:
        return None


def start(customer_id: str, journey: str, execution: str, started_at: datetime, entry: Entry) -> JourneyRunRecord:
    """Record a run before its execution starts. A retried event finds it recorded (the condition fails: passed
    over); a record DynamoDB refuses is store.Refused, and throttling goes back to the queue."""
    run = JourneyRunRecord(
        customer_id,
        run_key(journey, execution),
        journey=journey,
        execution=execution,
        started_at=started_at,
        entry=entry.model_dump_json(),
    )
    with suppress(store.ConcurrentUpdate), store.classified():
        run.save(condition=JourneyRunRecord.run.does_not_exist())
    return run


def forget(run: JourneyRunRecord) -> None:
    """A run whose execution will never start: left running, it would keep the customer out of the journey."""
    run.delete()


def end(
    run: JourneyRunRecord,
    outcome: str,
    at: datetime,
    reason: str | None = None,
    converted_on: str | None = None,
    *,
    ended_by: str | None = None,
) -> bool:
    """Record how a run ended (a RunOutcome, or what an execution's output names), once: the first outcome stands
    (a later StopExecution or retry changes nothing), and False says another outcome stood already. Throttling or
    an outage raises, so the caller's retry records it: taken for "already ended", it left runs running for good.
    From then on the run expires (RUN_RETENTION_DAYS). `ended_by`: what ended it (an event id), kept as its digest."""
    actions: list[Action] = [
        JourneyRunRecord.outcome.set(str(outcome)),
        JourneyRunRecord.ended_at.set(at),
        JourneyRunRecord.expires_at.set(at + timedelta(days=RUN_RETENTION_DAYS)),
        JourneyRunRecord.task_token.remove(),
        JourneyRunRecord.waiting_step.remove(),
        JourneyRunRecord.awaited.remove(),
    ]
    if reason is not None:
        actions.append(JourneyRunRecord.reason.set(reason))
    if converted_on is not None:
        actions.append(JourneyRunRecord.converted_on.set(converted_on))
    if ended_by is not None:
        actions.append(JourneyRunRecord.ended_by.set(event_digest(ended_by)))
    try:
        run.update(actions=actions, condition=JourneyRunRecord.outcome == RunOutcome.running.value)
    except UpdateError as error:
        if _condition_failed(error):
            return False
        raise
    return True


def ended_by(run: JourneyRunRecord, cause: str) -> bool:
    """Whether `cause` (as given to `end`) ended the run."""
    return run.ended_by == event_digest(cause)


def _condition_failed(error: UpdateError) -> bool:
    """Only the condition says the item was not as expected; throttling or an outage says nothing about it."""
    return error.cause_response_code == "ConditionalCheckFailedException"


def end_unread(
    customer_id: str, journey: str, execution: str, *, outcome: str, at: datetime, reason: str | None
) -> bool:
    """`end` without reading the run first: the update's condition finds it still running, or changes nothing."""
    return end(JourneyRunRecord(customer_id, run_key(journey, execution)), outcome, at, reason)


def wait(run: JourneyRunRecord, step: str, awaited: str, task_token: str) -> None:
    """A `wait_for` step parks the run: the event it awaits (JSON) and the token that resumes it."""
    run.update(
        actions=[
            JourneyRunRecord.waiting_step.set(step),
            JourneyRunRecord.awaited.set(awaited),
            JourneyRunRecord.task_token.set(task_token),
        ]
    )


def resumed(run: JourneyRunRecord, task_token: str) -> None:
    """Forget the answered token, unless a newer wait stored its own meanwhile."""
    try:
        run.update(
            actions=[
                JourneyRunRecord.task_token.remove(),
                JourneyRunRecord.waiting_step.remove(),
                JourneyRunRecord.awaited.remove(),
            ],
            condition=JourneyRunRecord.task_token == task_token,
        )
    except UpdateError as error:
        if not _condition_failed(error):
            raise


def forget_entries(runs: Iterable[JourneyRunRecord]) -> None:
    """Erasure: a run keeps its outcome, not what started it."""
    for run in runs:
        run.update(actions=[JourneyRunRecord.entry.set("{}")])


def every_run() -> Iterator[JourneyRunRecord]:
    """Every run, in the table's order (a scan: for the simulation and tests, never on a function's path)."""
    return JourneyRunRecord.scan(JourneyRunRecord.outcome != RunOutcome.skipped.value)


def every_skipped() -> Iterator[JourneyRunRecord]:
    """Every skipped entry, in the table's order (a scan, as `every_run`)."""
    return JourneyRunRecord.scan(JourneyRunRecord.outcome == RunOutcome.skipped.value)


def report() -> list[dict[str, Any]]:
    """Every run as the simulation's report lists it, in the table's order."""
    return [run.as_report() for run in every_run()]


def skipped_report() -> list[dict[str, Any]]:
    """Every skipped entry as the simulation's report lists it, in the table's order."""
    return [
        {
            "at": item.started_at.isoformat(),
            "customer_id": item.customer_id,
            "journey": item.journey,
            "reason": item.reason,
        }
        for item in every_skipped()
    ]


def states_entered(execution_arn: str) -> list[str]:
    """The names of the states an execution entered, in order, from its whole history (GetExecutionHistory is
    paged: the paginator follows nextToken). Each is a state transition, which Standard workflows bill."""
    from omnijourney.platform.aws import (
        client,  # lazy: boto3 and its clients load on the first AWS call, not at the profile function's cold start
    )

    pages = client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [
        event["stateEnteredEventDetails"]["name"]
        for page in pages
        for event in page["events"]
        if event["type"].endswith("StateEntered")
    ]


def path_taken(entered: Iterable[str], step_ids: Collection[str]) -> list[str]:
    """The journey's steps a run went through, in order, a step visited twice listed twice: of the states it entered,
    those named by a step id (the compiler names a step's first state by its id; its helper states, `<id>.route`,
    `<id>.wait`, `<id>.defer`, and the outcomes' states are not steps)."""
    return [state for state in entered if state in step_ids]
