"""What an event does to journeys, right after it is recorded on the profile: runs start, resume, stop.

Runs once per event (the profile function is idempotent per event id), and every call is safe to
repeat: executions have deterministic names, a stale task token is ignored, stopping twice is harmless. What an event
does is derived again when it is delivered again after a failure (the profile already holds it, so recording it
changed nothing): an event among the profile's recent ones counts as having changed it, runs it ended have their
executions stopped again, and a run it recorded without its execution is started again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime

from omnijourney.analytics import facts, stream
from omnijourney.analytics.facts import RunGroup
from omnijourney.events import CanonicalEvent, event_digest
from omnijourney.journeys.catalog import journeys as published_journeys
from omnijourney.journeys.contract import Entry, ExecutionInput, entry_of, scheduled_entry, segment_entry
from omnijourney.journeys.language import Condition, EventMatch, Journey, ReEntry, SplitGroup
from omnijourney.platform import clock
from omnijourney.platform.settings import get_settings
from omnijourney.profiles import store
from omnijourney.profiles.model import Profile
from omnijourney.profiles.service import ProfileUpdate
from omnijourney.runtime import runs as journey_runs
from omnijourney.runtime.conditions import Happened, goal_event, holds, matches, matches_where, occurred
from omnijourney.runtime.runs import JourneyRunRecord, RunOutcome
from omnijourney.vocabulary import ComposedReason, Reason, SkipReason, exited_on


class ExecutionRefused(store.Refused):
    """Step Functions will never start this execution (its input past 256 KB): permanent, like any Refused."""

    title = "Refused by Step Functions"


@dataclass
class Reaction:
    started: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    # Journeys the event would have started, and why it did not (recorded: runs.record_skipped).
    skipped: list[tuple[str, SkipReason]] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "started": self.started,
            "resumed": self.resumed,
            "stopped": self.stopped,
            "skipped": [journey for journey, _ in self.skipped],
        }


def execution_name(journey: str, customer_id: str, event_id: str) -> str:
    """Deterministic, so a redelivered event starts nothing new; within Step Functions' 80 characters."""
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:16]
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{journey[:40]}-{customer_id.removeprefix('cus_')[:20]}-{digest}")


def drawn_group(customer_id: str, journey: str, step: str | None, groups: Sequence[SplitGroup]) -> SplitGroup:
    """A split's group for a customer, drawn from a hash of customer, journey and step: random across customers,
    stable for one (the split step draws it; a run's start records it as the run's group)."""
    seed = f"{customer_id}#{journey}#{step}".encode()
    draw = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") % 100
    total = 0
    for group in groups:
        total += group.percent
        if draw < total:
            return group
    return groups[0]


def run_group(journey: Journey, customer_id: str) -> RunGroup:
    """The group the journey's holdout split draws for the customer, whether or not the run reaches it."""
    for step in journey.steps:
        if step.split is not None and any(group.holdout for group in step.split):
            holdout = drawn_group(customer_id, journey.journey, step.id, step.split).holdout
            return RunGroup.holdout if holdout else RunGroup.treatment
    return RunGroup.treatment


def state_machine_arn(journey: str) -> str:
    return f"{get_settings().state_machine_prefix}{journey}"


def journey_of(state_machine: str) -> str:
    return state_machine.removeprefix(get_settings().state_machine_prefix)


def execution_arn(journey: str, execution: str) -> str:
    return f"{state_machine_arn(journey).replace(':stateMachine:', ':execution:')}:{execution}"


def react(event: CanonicalEvent, update: ProfileUpdate) -> Reaction:
    journeys = published_journeys().journeys
    reaction = Reaction()
    if not _may_matter(event, update, journeys.values()):
        return reaction  # most events (page views, product views) touch no journey: no reads at all
    profile = update.profile
    now = clock.now()
    runs = journey_runs.of_customers((profile.customer_id, *profile.merged_from))
    cause = event.event_id
    stop_again(runs, cause)
    running = one_run_per_journey([run for run in runs if run.running], now, reaction, cause=cause)
    happened = occurred(event, profile)
    for run in running:
        journey = journeys.get(run.journey)
        ending = _ending(journey, run, happened, profile) if journey else None
        if ending is not None:
            outcome, reason, converted_on = ending
            stop_run(run, outcome, reason, now, reaction, converted_on=converted_on, cause=cause)
        elif run.task_token and run.awaited:
            awaited = EventMatch.model_validate_json(run.awaited)
            if matches(awaited, happened):
                _resume(run, event, profile, reaction)
    keeps = published_journeys().entry_keeps
    for journey in journeys.values():
        # Each journey keeps of the event only what its own conditions and templates use.
        entry = entry_of(event, profile, keeps[journey.journey])
        if _triggered(journey, event, update, entry) or _audience_now_admits(journey, update, entry, runs, now):
            enter(journey, profile, entry, runs, now=now, reaction=reaction)
    journey_runs.record_skipped(profile.customer_id, event.event_id, reaction.skipped, now)
    return reaction


def enter(
    journey: Journey, profile: Profile, entry: Entry, runs: list[JourneyRunRecord], *, now: datetime, reaction: Reaction
) -> None:
    """The customer enters the journey with `entry`, unless its audience or re-entry rule refuses (then it is in
    `reaction.skipped`). Safe to repeat: the entry's own run, recorded by an attempt whose StartExecution failed,
    is started again under its deterministic name; ended meanwhile (a goal, the holdout split), its `run_started`
    fact is put again, which the failed attempt may not have put."""
    own_name = execution_name(journey.journey, profile.customer_id, entry.event_id)
    own_run = next((run for run in runs if run.execution == own_name), None)
    if own_run is not None and own_run.running:
        _start(journey, profile, entry, now, reaction)
        return
    if own_run is not None:
        _emit_started(journey, own_run.customer_id, own_name, own_run.started_at, own_run.journey_entry)
        return
    refused = _refused(journey, profile, entry, runs, now)
    if refused is None:
        _start(journey, profile, entry, now, reaction)
    else:
        reaction.skipped.append((journey.journey, refused))


def _audience_now_admits(
    journey: Journey, update: ProfileUpdate, entry: Entry, runs: list[JourneyRunRecord], now: datetime
) -> bool:
    """A segment entry the audience refused is tried again on a later event that changed the profile, while the
    customer is still in the segment and the audience now holds (an anonymous browser who identifies with an email):
    once, as the run it starts ends the retrying. Not that run itself: recorded by an attempt of this event whose
    StartExecution failed, it is started again (`enter`)."""
    profile = update.profile
    segment = journey.entry.segment
    mark = profile.segments.get(segment) if segment is not None else None
    unchanged = not changed_profile(update)
    if segment is None or mark is None or mark == update.event_id or journey.audience is None or unchanged:
        return False
    if not holds(journey.audience, profile, entry):
        return False
    entered_by = segment_entry_id(segment, mark, profile, now)
    skipped = [
        skip
        for customer_id in (profile.customer_id, *profile.merged_from)
        for skip in [journey_runs.skipped(customer_id, journey.journey, entered_by)]
        if skip is not None and skip.reason == SkipReason.audience.value
    ]
    own_run = execution_name(journey.journey, profile.customer_id, entry.event_id)
    started_since = [
        run
        for run in runs
        if run.journey == journey.journey
        and run.execution != own_run
        and any(run.started_at >= skip.started_at for skip in skipped)
    ]
    return bool(skipped) and not started_since


def segment_entry_id(segment: str, mark: str, profile: Profile, now: datetime) -> str:
    """The id of the entry that put the customer in a segment: the event's, or the evaluation of their local day."""
    if mark.startswith(ENTERED_ON_DAY):
        return segment_entry(segment, date.fromisoformat(mark.removeprefix(ENTERED_ON_DAY)), now, profile).event_id
    return mark


def _may_matter(event: CanonicalEvent, update: ProfileUpdate, journeys: Iterable[Journey]) -> bool:
    """Whether any journey could start, resume or stop on this event (a merge may leave two runs of one journey; an
    event delivered again after it changed the profile may have left work undone, a merge's included)."""
    if update.merged or redelivered(update):
        return True
    changed = changed_profile(update)
    for journey in journeys:
        awaited = [step.wait_for.event for step in journey.steps if step.wait_for is not None]
        policy = journey.policy
        exits = [match.event for match in policy.exit_events]
        goal = journey.goal
        if event.type in (journey.entry.event, goal.event if goal else None, *awaited, *exits):
            return True
        entered_stage = update.stage_changed and update.profile.lifecycle_stage == journey.entry.stage
        if (goal is not None and goal.when is not None) or entered_stage:
            return True
        if journey.entry.segment in entered_segments(update.profile, event.event_id):
            return True
        # A segment entry the audience refused may now be admitted (_audience_now_admits), checked in memory first.
        audience = journey.audience
        in_segment = journey.entry.segment in update.profile.segments
        if in_segment and audience is not None and changed and holds(audience, update.profile, None):
            return True
        # An exit condition can only come to hold when the profile (or its segments) changed; a new one has no runs.
        # Checked in memory: only one that holds now is worth reading the runs for.
        if changed and not update.created and any(_may_hold(when, update.profile) for when in policy.exit_conditions):
            return True
    return False


def redelivered(update: ProfileUpdate) -> bool:
    """The event changed the profile in an earlier attempt, which failed after writing it: the profile holds it."""
    return not update.changed and update.event_id in update.profile.recent_events


def changed_profile(update: ProfileUpdate) -> bool:
    """The event changed the profile, in this attempt or in an earlier one (`redelivered`)."""
    return update.changed or redelivered(update)


def _may_hold(condition: Condition, profile: Profile) -> bool:
    """Whether an exit condition may hold on this profile (one testing the entry event is decided per run)."""
    return condition.event is not None or holds(condition, profile, None)


# What put a customer in a segment at the evaluation of their local day: `daily:<their local date>`.
ENTERED_ON_DAY = "daily:"


def entered_segments(profile: Profile, cause: str) -> set[str]:
    """The segments `cause` (an event id, or the evaluation of a local day) put the customer in: also when it is
    retried."""
    return {name for name, entered_by in profile.segments.items() if entered_by == cause}


def run_schedule(journey_name: str) -> Reaction:
    """A scheduled journey's turn (EventBridge Scheduler calls it with its expression): every live customer
    in its audience whose re-entry rule allows enters, with the schedule's firing as the entry."""
    journey = published_journeys().journeys[journey_name]
    if journey.entry.schedule is None:
        raise ValueError(f"journey {journey_name!r} does not start on a schedule")
    now = clock.now()
    reaction = Reaction()
    for profile in store.live_profiles():
        fired = scheduled_entry(journey_name, journey.entry.schedule, now, profile)
        # Outside the audience is not a skip here: a schedule fires for every customer, and most are not meant.
        if journey.audience is not None and not holds(journey.audience, profile, fired):
            continue
        runs = journey_runs.of_customers((profile.customer_id, *profile.merged_from))
        skipped_before = len(reaction.skipped)
        # As an event's entry: a retried firing finds the runs it started and puts their `run_started` facts again.
        enter(journey, profile, fired, runs, now=now, reaction=reaction)
        journey_runs.record_skipped(profile.customer_id, fired.event_id, reaction.skipped[skipped_before:], now)
    return reaction


def one_run_per_journey(
    running: list[JourneyRunRecord], now: datetime, reaction: Reaction, *, cause: str | None = None
) -> list[JourneyRunRecord]:
    """Two customers merged may both be in one journey: the earlier run goes on, the other stops (no double sends).
    `cause`: as stop_run's."""
    kept: dict[str, JourneyRunRecord] = {}
    for run in sorted(running, key=lambda run: (run.started_at, run.run)):
        if run.journey in kept:
            stop_run(run, RunOutcome.stopped, Reason.merged, now, reaction, cause=cause)
        else:
            kept[run.journey] = run
    return list(kept.values())


def _ending(
    journey: Journey, run: JourneyRunRecord, happened: Happened, profile: Profile
) -> tuple[RunOutcome, Reason | ComposedReason, str | None] | None:
    """(outcome, reason, converted on) when this event reaches the run's goal or one of its exits."""
    goal = journey.goal
    entry = run.journey_entry
    if goal is not None:
        converted_on = goal_event(goal, entry, [happened])
        if converted_on is not None:
            return RunOutcome.goal, Reason.goal_reached, converted_on
        if goal.when is not None and holds(goal.when, profile, entry):
            return RunOutcome.goal, Reason.goal_reached, "profile"
    policy = journey.policy
    for match in policy.exit_events:
        if matches(match, happened):
            return RunOutcome.exited, exited_on(match.event), None
    if any(holds(condition, profile, entry) for condition in policy.exit_conditions):
        return RunOutcome.exited, Reason.exit_condition, None
    return None


def stop_runs(
    runs: Iterable[JourneyRunRecord], outcome: str, reason: Reason | ComposedReason, now: datetime
) -> list[str]:
    """End the running ones among `runs` and stop their executions; the executions stopped. Repeated (a retried
    erasure), it stops again the executions of those it ended, whose stopping may have failed."""
    reaction = Reaction()
    stop_again(runs, reason)
    for run in runs:
        if run.running:
            stop_run(run, outcome, reason, now, reaction, cause=reason)
    return reaction.stopped


def stop_run(
    run: JourneyRunRecord,
    outcome: str,
    reason: Reason | ComposedReason,
    now: datetime,
    reaction: Reaction,
    *,
    converted_on: str | None = None,
    cause: str | None = None,
) -> None:
    """End the run, then stop its execution. Recorded first: the execution's status change (ABORTED), which comes
    at once, finds the outcome recorded, where the other way round a failed record let it record `stopped` before
    the retried cause could record its own. A run ended and not yet stopped sends nothing (each send reads the run),
    and a retry of `cause` (an event id, or what else ended it) stops it again: `stop_again`."""
    if journey_runs.end(run, outcome, now, reason, converted_on, ended_by=cause):
        _stop_execution(run, outcome, reason)
        reaction.stopped.append(run.execution)


def stop_again(runs: Iterable[JourneyRunRecord], cause: str) -> None:
    """The executions of the runs `cause` ended stopped again (harmless when they are): an earlier attempt of it may
    have failed between recording the end and stopping the execution."""
    for run in runs:
        if not run.running and journey_runs.ended_by(run, cause):
            _stop_execution(run, run.outcome, run.reason or "")


def _stop_execution(run: JourneyRunRecord, outcome: str, reason: str) -> None:
    from omnijourney.platform.aws import (
        client,  # lazy: boto3 and its clients load on the first AWS call, not at the profile function's cold start
    )

    stepfunctions = client("stepfunctions")
    # An execution that never started, was deleted or has ended is fine: the run record is what counts.
    with suppress(stepfunctions.exceptions.ExecutionDoesNotExist):
        stepfunctions.stop_execution(
            executionArn=execution_arn(run.journey, run.execution), error=f"omnijourney.{outcome}", cause=reason
        )


def _resume(run: JourneyRunRecord, event: CanonicalEvent, profile: Profile, reaction: Reaction) -> None:
    from omnijourney.platform.aws import (
        client,  # lazy: boto3 and its clients load on the first AWS call, not at the profile function's cold start
    )

    stepfunctions = client("stepfunctions")
    token = run.task_token
    assert token is not None  # only a waiting run is resumed
    output = {"event": {"type": event.type.value, "name": event.name, "at": event.occurred_at.isoformat()}}
    # Answer first, forget the token after: if answering fails, the retried event answers again.
    answered = True
    try:
        stepfunctions.send_task_success(taskToken=token, output=json.dumps(output))
    except (stepfunctions.exceptions.TaskTimedOut, stepfunctions.exceptions.InvalidToken):
        answered = False  # the wait already timed out or the run ended: a late answer is harmless
    journey_runs.resumed(run, token)
    if answered:
        reaction.resumed.append(run.execution)


def _triggered(journey: Journey, event: CanonicalEvent, update: ProfileUpdate, entry: Entry) -> bool:
    """Whether `event` is the journey's entry: its event (with name and `where`), or reaching its stage or segment."""
    trigger = journey.entry
    if trigger.event is not None:
        matched = event.type == trigger.event and trigger.name in (None, event.name)
        return matched and matches_where(entry, trigger.where)
    if trigger.stage is not None:
        return update.stage_changed and update.profile.lifecycle_stage == trigger.stage
    if trigger.segment is not None:
        return trigger.segment in entered_segments(update.profile, event.event_id)
    return False  # scheduled journeys start from their schedule, not from events


def _refused(
    journey: Journey, profile: Profile, entry: Entry, runs: list[JourneyRunRecord], now: datetime
) -> SkipReason | None:
    """Why a triggered journey does not start for this customer, or None: the audience, then the runs."""
    if journey.audience is not None and not holds(journey.audience, profile, entry):
        return SkipReason.audience
    return _may_enter(journey, runs, now)


def _may_enter(journey: Journey, runs: list[JourneyRunRecord], now: datetime) -> SkipReason | None:
    """One run at a time per customer and journey; re-entry after that as the journey says. None: it may."""
    own = [run for run in runs if run.journey == journey.journey]
    if any(run.running for run in own):
        return SkipReason.running
    if not own or journey.re_entry == "always":
        return None
    if isinstance(journey.re_entry, ReEntry):
        # Calendar days: a monthly schedule firing a few milliseconds earlier than last time still re-enters.
        latest = max(run.started_at for run in own)
        return None if (now.date() - latest.date()).days >= journey.re_entry.after_days else SkipReason.re_entry
    return SkipReason.re_entry


def _start(journey: Journey, profile: Profile, entry: Entry, now: datetime, reaction: Reaction) -> None:
    from omnijourney.platform.aws import (
        client,  # lazy: boto3 and its clients load on the first AWS call, not at the profile function's cold start
    )

    name = execution_name(journey.journey, profile.customer_id, entry.event_id)
    # A retried event finds its run recorded; starting again answers with the same execution.
    run = journey_runs.start(profile.customer_id, journey.journey, name, now, entry)
    stepfunctions = client("stepfunctions")
    # Step Functions keeps inputs for 90 days and erasure cannot reach them: the event's id goes as its digest.
    kept = entry.model_copy(update={"event_id": event_digest(entry.event_id)})
    execution_input = ExecutionInput(customer_id=profile.customer_id, entry=kept).model_dump_json()
    try:
        # Started by an earlier attempt of this event and already over: nothing to do.
        with suppress(stepfunctions.exceptions.ExecutionAlreadyExists), store.classified(ExecutionRefused):
            stepfunctions.start_execution(
                stateMachineArn=state_machine_arn(journey.journey), name=name, input=execution_input
            )
    except ExecutionRefused:
        # It never started: a run left running would keep the customer out of the journey for good. The event is
        # quarantined, and replaying it once mended starts the run afresh.
        journey_runs.forget(run)
        raise
    _emit_started(journey, profile.customer_id, name, now, entry)
    reaction.started.append(name)


def _emit_started(journey: Journey, customer_id: str, execution: str, at: datetime, entry: Entry) -> None:
    """The run's `run_started` fact (its id is the execution's name: put again, it counts once)."""
    group = run_group(journey, customer_id)
    stream.emit(facts.run_started_fact(customer_id, journey.journey, execution, at, channel=entry.channel, group=group))
