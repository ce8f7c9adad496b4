"""Shared segments at run time: membership computed again on each event that can move it (in the profile's own
write: with_segments is the profile function's `derive`), and, for what time alone moves (a birthday, a window of
days, days since), on the local day the profile says it is due (evaluate_due_segments, hourly).

Both are safe to repeat and to race with each other: the history entry of an event is written before its profile,
every profile write is conditional on its version, and a journey's entry has a deterministic execution name.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from omnijourney.events import CanonicalEvent
from omnijourney.journeys.catalog import journeys as published_journeys
from omnijourney.journeys.contract import segment_entry
from omnijourney.journeys.language import Did, EventMatch
from omnijourney.journeys.segments import SegmentsConfig
from omnijourney.journeys.segments import segments as configured_segments
from omnijourney.platform import clock
from omnijourney.profiles import store
from omnijourney.profiles.model import Profile
from omnijourney.profiles.service import amend
from omnijourney.runtime import ledger_records
from omnijourney.runtime import runs as journey_runs
from omnijourney.runtime.conditions import Facts, Happened, Membership, holds, matches, occurred, segments_now
from omnijourney.runtime.consistency import consistency
from omnijourney.runtime.guards import local_time
from omnijourney.runtime.runs import RunOutcome
from omnijourney.runtime.triggers import (
    ENTERED_ON_DAY,
    Reaction,
    enter,
    entered_segments,
    one_run_per_journey,
    stop_again,
    stop_run,
)
from omnijourney.vocabulary import Reason


def with_segments(before: Profile | None, after: Profile, event: CanonicalEvent) -> Profile:
    """`after` with its segments computed again where this event can move them, in the same write (service.Derive):
    those whose count this event changes (a second product view toward `browsed_not_bought`), those reading the
    profile when it changed, every one for a new customer and after a merge (the history now spans both). The
    history is read only for a segment whose profile conditions hold, and never for a new customer (theirs is this
    event)."""
    config = configured_segments()
    now = clock.now()
    zone = local_time(after, consistency())
    whole = before is None or after.merged_from != before.merged_from
    if whole:
        names = set(config.segments)
    else:
        names = _moved_by(config, event, after, Facts(now, zone))
        names |= config.reading_profile if after != before else set()
    if not names:
        return after

    @cache
    def read() -> Facts:
        return _facts(config, after, names, now, zone, recording=event, history_read=before is not None)

    membership = segments_now(config, after, Facts(now, zone), names, event.event_id, read=read)
    # Only the segments computed give their next day: the earlier of it and the one kept is safe (see next_change).
    due = membership.next_change if whole else _earlier(after.segments_due, membership.next_change)
    return _with(after, membership, due)


def history_properties(event: CanonicalEvent) -> frozenset[str]:
    """The properties of `event` its history entry keeps: those a segment's `did`/`did_not` tests."""
    return configured_segments().history_properties(event.type)


def _moved_by(config: SegmentsConfig, event: CanonicalEvent, profile: Profile, today: Facts) -> set[str]:
    """The segments counting this event that it can move the customer into or out of (and those referring to
    them). Not: one the customer is in when the event only adds to a `did`, nor one they are out of when it only
    adds to a `did_not`; nor one whose windows all began after the event happened (a late replay)."""
    happened = occurred(event, profile)
    moved: set[str] = set()
    for name, segment in config.segments.items():
        fed = [
            test
            for test in segment.when.counted
            if today.day_of(event.occurred_at) >= today.first_day(test.within_days)
            and matches(EventMatch(event=test.event, name=test.name, where=test.where), happened)
        ]
        only_more_of_the_same = all(isinstance(test, Did) == (name in profile.segments) for test in fed)
        if fed and not only_more_of_the_same:
            moved.add(name)
    return config.with_dependents(moved)


def _facts(
    config: SegmentsConfig,
    profile: Profile,
    names: Collection[str],
    now: datetime,
    zone: ZoneInfo,
    *,
    recording: CanonicalEvent | None = None,
    history_read: bool = True,
) -> Facts:
    """What `names` read beside the profile: the history within their longest window (with the event being recorded,
    whose own entry may not be readable yet), the last message if one asks."""
    customer_ids = [profile.customer_id, *profile.merged_from]
    history: list[Happened] = []
    days = config.window_days(names)
    if days:
        since = Facts(now, zone).first_day(days)
        if history_read:
            start = datetime.combine(since, time(), zone).astimezone(UTC)
            skipped = recording.event_id if recording is not None else None
            history = [_happened(each) for each in store.history(customer_ids, since=start) if each.event_id != skipped]
        if recording is not None and Facts(now, zone).day_of(recording.occurred_at) >= since:
            history.append(occurred(recording, profile))
    last_message = None
    if config.read_messages(names):
        last_message = max((sent.at for each in customer_ids for sent in ledger_records.sent_to(each)), default=None)
    return Facts(now=now, zone=zone, history=tuple(history), last_message_at=last_message)


def _happened(record: store.HistoryRecord) -> Happened:
    fields = {"name": record.name, "channel": record.channel, "source": record.source}
    return Happened(record.event_type, record.name, record.occurred_at, fields | {"properties": record.kept_properties})


def _earlier(kept: date | None, found: date | None) -> date | None:
    return min((day for day in (kept, found) if day is not None), default=None)


def _with(profile: Profile, membership: Membership, due: date | None) -> Profile:
    if membership.members == profile.segments and due == profile.segments_due:
        return profile
    return profile.model_copy(update={"segments": membership.members, "segments_due": due})


def evaluate_due_segments() -> Reaction:
    """Time's turn (hourly on AWS, a `{"schedule": "segments"}` line in a scenario): every live customer whose
    segments are due today in their timezone (Profile.segments_due) has those time alone moves computed again; those
    who entered a segment enter the journeys it starts, runs whose exit or goal condition now holds end. Nothing is
    read or written for a customer not due. Journeys start before the profile is written: a run that fails in
    between leaves the customer due, and the next one starts the same entries again, which start nothing new."""
    config = configured_segments()
    reaction = Reaction()
    if not config.timed:
        return reaction  # no segment changes with time: nothing to do, not even the scan
    now = clock.now()
    for stored in store.live_profiles():
        today = _today(stored, now)
        if stored.segments_due is None or stored.segments_due > today:
            continue
        evaluated = _evaluated(config, stored, now)
        if evaluated.segments != stored.segments:
            entered = entered_segments(evaluated, _day_mark(today))
            _after_change(evaluated, entered, today, now, reaction)
        amend(stored.customer_id, _evaluation(config, stored, evaluated, now))
    return reaction


def _today(profile: Profile, now: datetime) -> date:
    return now.astimezone(local_time(profile, consistency())).date()


def _day_mark(today: date) -> str:
    """What the evaluation of a customer's local day is called where an event id would be: the segments it put them
    in, and the runs it ended."""
    return f"{ENTERED_ON_DAY}{today.isoformat()}"


def _evaluation(
    config: SegmentsConfig, read: Profile, evaluated: Profile, now: datetime
) -> Callable[[Profile], Profile]:
    """The change to the live profile: `evaluated` if it is still the profile `read`, else computed again (its
    history read again) on what changed meanwhile."""
    return lambda live: evaluated if live == read else _evaluated(config, live, now)


def _evaluated(config: SegmentsConfig, profile: Profile, now: datetime) -> Profile:
    """The profile with the segments time alone moves computed as of today, and their next due day."""
    zone = local_time(profile, consistency())
    mark = _day_mark(_today(profile, now))

    @cache
    def read() -> Facts:
        return _facts(config, profile, config.timed, now, zone)

    membership = segments_now(config, profile, Facts(now, zone), config.timed, mark, read=read)
    return _with(profile, membership, membership.next_change)


def _after_change(profile: Profile, entered: set[str], today: date, now: datetime, reaction: Reaction) -> None:
    """A customer's segments changed with time: journeys entered on a segment start, runs whose goal or exit
    condition now holds end. The evaluation of their day is the cause of the ends, as an event is of its own: a retry
    of a failed evaluation (the profile still unmarked) stops again the executions it ended (`stop_again`)."""
    journeys = published_journeys().journeys
    runs = journey_runs.of_customers((profile.customer_id, *profile.merged_from))
    cause = _day_mark(today)
    stop_again(runs, cause)
    for run in one_run_per_journey([run for run in runs if run.running], now, reaction, cause=cause):
        journey = journeys.get(run.journey)
        if journey is None:
            continue
        entry = run.journey_entry
        if journey.goal is not None and journey.goal.when is not None and holds(journey.goal.when, profile, entry):
            stop_run(run, RunOutcome.goal, Reason.goal_reached, now, reaction, converted_on="profile", cause=cause)
        elif any(holds(condition, profile, entry) for condition in journey.policy.exit_conditions):
            stop_run(run, RunOutcome.exited, Reason.exit_condition, now, reaction, cause=cause)
    for journey in journeys.values():
        if journey.entry.segment not in entered:
            continue
        entry = segment_entry(journey.entry.segment, today, now, profile)
        skipped_before = len(reaction.skipped)
        enter(journey, profile, entry, runs, now=now, reaction=reaction)
        journey_runs.record_skipped(profile.customer_id, entry.event_id, reaction.skipped[skipped_before:], now)
