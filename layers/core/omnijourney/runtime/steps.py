"""The journey-step function's work: each Task of a compiled journey, decided against the live profile.

Step Functions waits, routes and retries; everything that depends on the customer happens here, at
the moment it matters. A send is written to the ledger exactly once per (execution, step, visit):
retries of the same Task find the first outcome and return it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import assert_never

from pydantic import JsonValue, ValidationError
from pynamodb.exceptions import UpdateError

from omnijourney.analytics import facts, stream
from omnijourney.analytics.facts import RunEnd
from omnijourney.analytics.stream import FactsNotPut
from omnijourney.channels import OutgoingMessage, SendFailed, adapter_for
from omnijourney.channels.targets import reaches_customer
from omnijourney.events import EventType, OrderState
from omnijourney.journeys.catalog import journeys as published_journeys
from omnijourney.journeys.contract import (
    TASK,
    AnyTask,
    AwaitTask,
    BranchResult,
    BranchTask,
    Done,
    Entry,
    ExecutionInput,
    ExecutionOutput,
    ExecutionStatusChange,
    PlanWaitTask,
    RecordFailureTask,
    SendOutcome,
    SendResult,
    SendTask,
    SplitResult,
    SplitTask,
    StepResult,
    TaskInput,
    UpdateProfileTask,
    WaitPlan,
    readable,
)
from omnijourney.journeys.language import Policy, Send
from omnijourney.journeys.templates import TemplateFailed
from omnijourney.offers import NotPresented, Presented, present
from omnijourney.offers import offers as configured_offers
from omnijourney.platform import aws, clock
from omnijourney.platform.settings import get_settings
from omnijourney.profiles import service, store
from omnijourney.profiles.model import IssuedOffer, Note, Profile, with_note, with_traits
from omnijourney.runtime import guards, ledger, ledger_records, runs
from omnijourney.runtime.conditions import Happened, holds
from omnijourney.runtime.consistency import consistency, products
from omnijourney.runtime.ledger_records import LedgerRecord, LedgerStatus
from omnijourney.runtime.rendering import Rendered, render
from omnijourney.runtime.runs import JourneyRunRecord, RunOutcome
from omnijourney.runtime.triggers import drawn_group, journey_of
from omnijourney.vocabulary import NOTED, Category, MessageChannel, Reason, exited_on, undeliverable

# Executions that did not succeed end the run so; a succeeded one carries its outcome in its output.
FINAL_STATUSES = {"FAILED": RunOutcome.failed, "TIMED_OUT": RunOutcome.failed, "ABORTED": RunOutcome.stopped}
# Guard reasons that end the journey rather than hold one message.
ENDINGS: dict[str, SendOutcome] = {
    Reason.goal_reached: "goal",
    Reason.customer_erased: "exited",
    **{exited_on(event): "exited" for event in EventType},
}


# How often a refused send's `retry` mark is tried before its Task fails (_mark_for_retry).
MARK_ATTEMPTS = 3


class Retryable(Exception):
    """A failure worth another attempt: the state machine's Retry catches this error name."""


def perform(payload: object, follow: Callable[[str], None] = lambda _: None) -> dict[str, JsonValue]:
    """One Task of a journey: `payload` is the Payload the compiled state machine sends, read through the contract
    (journeys.contract), which accepts the payloads of every earlier deploy; the answer is what its Choices read.
    `follow` is told the correlation id of the delivery that started the run (for the handler's logs and traces)."""
    try:
        task = TASK.validate_python(payload)
    except ValidationError as error:
        raise readable(error) from None  # without the payload's values, which may be personal
    follow(task.entry.correlation)
    try:
        result = run_task(task).output()
        stream.flush()
    except FactsNotPut as failure:
        raise Retryable(failure.detail) from failure  # the retried Task finds its ledger entry and writes it again
    except Exception as error:
        # Throttling or an outage that outlasted the SDK's retries: Step Functions tries the Task again later (each
        # Task finds what an earlier attempt did), instead of failing the whole journey through its Catch.
        if aws.transient(error):
            raise Retryable(f"AWS answered {type(error).__name__}; another attempt may pass") from error
        raise
    return result


def run_task(task: AnyTask) -> StepResult:
    """Every action of the contract has its case: mypy checks the match is exhaustive."""
    match task:
        case SendTask():
            return send(task)
        case PlanWaitTask():
            return plan_wait(task)
        case AwaitTask():
            return await_event(task)
        case BranchTask():
            return branch(task)
        case SplitTask():
            return split(task)
        case UpdateProfileTask():
            return update_profile(task)
        case RecordFailureTask():
            return record_failure(task)
        case _:
            assert_never(task)


def _profile(customer_id: str) -> Profile | None:
    record = store.load(customer_id)
    return record.profile if record else None


def _run(task: TaskInput) -> JourneyRunRecord | None:
    return runs.get(task.customer_id, task.journey, task.execution)


def _since_entry(profile: Profile, entry: Entry) -> list[Happened]:
    """What the customer did since entering: orders from the profile, everything else from the history."""
    entered = entry.at
    happened = [
        Happened(
            "order_completed",
            "order",
            order.at,
            {
                "order_skus": list(order.skus),
                "order_total": float(order.total),
                "currency": order.currency,
                "channel": order.channel.value,
            },
        )
        for order in profile.orders
        if order.at > entered and order.state is OrderState.placed
    ]
    for record in store.history([profile.customer_id, *profile.merged_from], since=entered):
        at = datetime.fromisoformat(record.entry.split("#", 1)[0])
        if at > entered and record.event_type != "order_completed":
            fields = {"name": record.name, "channel": record.channel, "source": record.source}
            happened.append(Happened(record.event_type, record.name, at, fields))
    return happened


def _sent(profile: Profile, read_id: str, read: list[LedgerRecord], now: datetime) -> list[guards.Sent]:
    """Messages that went out to this customer (and anyone merged into them) within the longest cap window;
    `read` is the already read ledger of `read_id`, the step's customer, who may be merged into `profile`."""
    rules = consistency()
    horizon = now - timedelta(days=max(rules.frequency_cap.days, 31))
    others = [
        entry
        for customer_id in (profile.customer_id, *profile.merged_from)
        if customer_id != read_id
        for entry in ledger_records.sent_to(customer_id)
    ]
    return [
        guards.Sent(entry.at, entry.journey, int(entry.priority), entry.category)
        for entry in (*read, *others)
        # A message to an internal webhook target (a CRM, a warehouse) never reached the customer: not capped.
        if entry.status == LedgerStatus.sent and entry.at > horizon and reaches_customer(entry.channel, entry.recipient)
    ]


def send(task: SendTask) -> SendResult:
    now = clock.now()
    policy, message = task.policy, task.send
    step_key = _step_key(task)
    key = f"{step_key}{task.visit}"
    marketing = message.category == Category.marketing
    # One read of the ledger for this step's visits so far (a retry finds its entry; since when a ticket holds it)
    # and, for marketing, for what was sent within the caps' window: the customer's whole ledger, or the step's.
    read = ledger_records.entries(task.customer_id, None if marketing else step_key)
    visits = [entry for entry in read if entry.message_key.startswith(step_key)]
    earlier = next((visit for visit in visits if visit.message_key == key), None)
    if earlier is not None and _resent_as_is(earlier):
        return _deliver_again(earlier, message, task.entry, policy)
    if earlier is not None and earlier.status != LedgerStatus.retry:
        ledger.emit_outcome(earlier, _profile(task.customer_id))  # again: the first attempt's put may have failed
        return _outcome(earlier)
    run = _run(task)
    if run is not None and not run.running:
        # Ended by a goal, an exit, a merge or an erasure while its StopExecution was failing or on its way.
        return SendResult(outcome="goal" if run.outcome == RunOutcome.goal else "exited", reason=run.reason)
    profile = _profile(task.customer_id)
    watches_events = policy.goal is not None or bool(policy.exit_when)
    decision = guards.decide(
        journey=policy,
        send=message,
        profile=profile,
        entry=task.entry,
        since_entry=_since_entry(profile, task.entry) if profile and watches_events else [],
        sent=_sent(profile, task.customer_id, read, now) if profile and marketing else [],
        rules=consistency(),
        catalog=products(),
        now=now,
        held_since=min((visit.at for visit in visits if visit.reason == Reason.open_ticket), default=None),
    )
    template, offer, withheld = message.template, None, None
    if decision.status == "send" and message.offer is not None and profile is not None:
        entered = datetime.fromisoformat(task.visit)  # the same on every retry: the offer's code is derived from it
        template, offer, withheld, decision = _offer_for(
            message, profile.customer_id, decision, now, journey=policy.journey, step_entered=entered
        )
    if decision.status in ("goal", "exited") and run is not None:
        runs.end(run, decision.status, now, decision.reason, decision.converted_on)
    entry = ledger.entry(
        task.customer_id,
        key,
        at=now,
        journey=policy.journey,
        step=task.step,
        priority=policy.priority,
        channel=message.channel,
        category=message.category,
        template=template,
        offer=offer.model_dump(mode="json") | {"requested": message.offer} if offer else None,
        offer_withheld={"offer": message.offer, "reason": withheld} if withheld else None,
        recipient=decision.recipient,
        products=decision.products,
        status=_claimed_as(decision.status),
        reason=decision.reason,
        defer_seconds=decision.defer_seconds if decision.status == "deferred" else None,
        correlation_id=task.entry.correlation,
    )
    if not ledger.claim(entry, retrying=earlier is not None):
        claimed = ledger_records.get(task.customer_id, key)
        ledger.emit_outcome(claimed, profile)
        return _outcome(claimed)
    if decision.status != "send":
        ledger.emit_outcome(entry, profile)
        return SendResult(outcome=decision.status, reason=decision.reason, defer_seconds=decision.defer_seconds)
    assert profile is not None
    return _deliver(entry, message, profile, task.entry, policy, offer=offer)


def _offer_for(
    message: Send, customer_id: str, decision: guards.Decision, now: datetime, *, journey: str, step_entered: datetime
) -> tuple[str, IssuedOffer | None, NotPresented | None, guards.Decision]:
    """The template and offer a send presents: the customer's one live offer for the products it promotes, a new
    one (recorded on the profile before anything is sent), or the step's `without_offer` template with the reason
    the offer was withheld (or, without one, the message held with that reason)."""
    assert message.offer is not None
    name = message.offer
    presented: list[Presented] = []

    def issue(profile: Profile) -> Profile:
        # Decided on the profile being written (retried on a concurrent write), so two sends agree on one code.
        offer = present(
            name,
            configured_offers(),
            profile,
            promotes=decision.products,
            channel=message.channel,
            at=now,
            journey=journey,
            step_entered=step_entered,
        )
        if not isinstance(offer, Reason):
            offer = guards.offer_held(message, offer.skus, profile, consistency()) or offer
        presented[:] = [offer]
        if isinstance(offer, Reason) or any(issued.code == offer.code for issued in profile.offers):
            return profile
        return profile.model_copy(update={"offers": (*profile.offers, offer)})

    if service.amend(customer_id, issue) is None:
        return message.template, None, None, replace(decision, status="exited", reason=Reason.customer_erased)
    offer = presented[0]
    if not isinstance(offer, Reason):
        return message.template, offer, None, decision
    if message.without_offer is not None:
        return message.without_offer, None, offer, decision
    return message.template, None, None, replace(decision, status="suppressed", reason=offer)


def _step_key(task: TaskInput) -> str:
    return f"{task.execution}#{task.step}#"


def _claimed_as(decided: str) -> LedgerStatus:
    """The entry's status when claimed: a message to send is `pending` until the provider answers; one held back
    is written as it ends (a goal or exit reached suppresses it)."""
    if decided == "deferred":
        return LedgerStatus.deferred
    if decided == "send":
        return LedgerStatus.pending
    return LedgerStatus.suppressed


def _outcome(entry: LedgerRecord) -> SendResult:
    """What an earlier attempt decided. A `pending` entry means it stopped mid-send: count it as sent,
    because at most once is the promise to the customer; SES's record of the email confirms it later, and what no
    provider confirms stays `pending`, listed for staff and counted (docs/operations.md, "Sends")."""
    if entry.status in (LedgerStatus.sent, LedgerStatus.pending):
        return SendResult(outcome="sent", reason=None)
    if entry.status == LedgerStatus.deferred:
        return SendResult(outcome="deferred", reason=entry.reason, defer_seconds=entry.deferred_for)
    ending = ENDINGS.get(entry.reason or "")
    return SendResult(outcome=ending or "suppressed", reason=entry.reason)


def _deliver(
    entry: LedgerRecord,
    message: Send,
    profile: Profile,
    journey_entry: Entry,
    policy: Policy,
    *,
    offer: IssuedOffer | None,
) -> SendResult:
    try:
        rendered = render(
            entry.template,
            profile,
            journey_entry,
            offer,
            templates=published_journeys().templates,
            catalog=products(),
            settings=get_settings(),
            zone=guards.local_time(profile, consistency()),
        )
    except TemplateFailed:
        # Held with a reason, not an error: what failed may quote the profile, and the journey goes on.
        ledger.mark(entry, LedgerStatus.suppressed, Reason.template_failed)
        ledger.emit_outcome(entry, profile)
        return SendResult(outcome="suppressed", reason=Reason.template_failed)
    if message.channel in NOTED:
        note = Note(channel=message.channel, text=rendered.body, journey=policy.journey, at=entry.at)
        try:
            service.amend(profile.customer_id, lambda current: with_note(current, note))
        except Exception as error:
            if not aws.transient(error):
                raise
            # As a provider's outage: the retried Task writes the note, where a `pending` entry would count it done.
            _mark_for_retry(entry, "profile_unavailable")
            raise Retryable("the note could not be written yet") from error
        provider_id = f"note:{profile.customer_id}"
    else:
        try:
            provider_id = _send_through_channel(entry, message, rendered)
        except SendFailed as failure:
            if failure.unconfirmed:
                # The provider may have it and would take it again as another (a HubSpot task): left `pending`, counted
                # as sent and listed as unconfirmed, never sent twice (docs/operations.md, "Sends").
                return SendResult(outcome="sent", reason=None)
            if failure.retryable:
                _mark_for_retry(entry, failure.reason)
                raise Retryable(failure.reason) from failure
            # A bad address or a rejected message: recorded, and the journey goes on.
            reason = undeliverable(failure.reason)
            ledger.mark(entry, LedgerStatus.suppressed, reason)
            ledger.emit_outcome(entry, profile)
            return SendResult(outcome="suppressed", reason=reason)
    ledger.mark_sent(entry, provider_id, subject=rendered.subject, body=rendered.body)
    ledger.emit_outcome(entry, profile)
    return SendResult(outcome="sent", reason=None)


def _resent_as_is(entry: LedgerRecord) -> bool:
    """A webhook a killed attempt left `pending` is sent again by the retried Task, as decided then: its `webhook-id` is
    the entry's key, so a receiver that deduplicates, as Standard Webhooks asks, takes it once; every other channel's
    `pending` entry counts as sent (_outcome)."""
    return entry.status == LedgerStatus.pending and entry.channel == MessageChannel.webhook


def _deliver_again(entry: LedgerRecord, message: Send, journey_entry: Entry, policy: Policy) -> SendResult:
    profile = _profile(entry.customer_id)
    if profile is None:  # erased since: nothing to render, nobody to tell
        return SendResult(outcome="sent", reason=None)
    shown = entry.presented_offer
    offer = IssuedOffer.model_validate(shown.issued) if shown is not None else None
    return _deliver(entry, message, profile, journey_entry, policy, offer=offer)


def _mark_for_retry(entry: LedgerRecord, reason: str) -> None:
    """Nothing went out: the entry says so, for the retried Task to send. This mark is all that tells a refused send
    from one in flight, and an entry left `pending` counts as sent, so a mark that AWS throttled past the SDK's
    retries is tried again, MARK_ATTEMPTS times in all, before the Task fails with the entry still `pending`."""
    for attempt in range(1, MARK_ATTEMPTS + 1):
        try:
            ledger.mark(entry, LedgerStatus.retry, reason)
        except UpdateError as error:
            if attempt == MARK_ATTEMPTS or not aws.transient(error):
                raise
        else:
            return


def _send_through_channel(entry: LedgerRecord, message: Send, rendered: Rendered) -> str:
    assert entry.recipient is not None
    outgoing = OutgoingMessage(
        message_key=entry.message_key,
        customer_id=entry.customer_id,
        journey=entry.journey,
        step=entry.step,
        channel=message.channel,
        category=message.category,
        to=entry.recipient,
        subject=rendered.subject,
        body=rendered.body,
        unsubscribe_url=rendered.unsubscribe_url if message.category == Category.marketing else None,
    )
    return adapter_for(message.channel).send(outgoing)


def plan_wait(task: PlanWaitTask) -> WaitPlan:
    """Seconds until the step's local time of day in the customer's timezone."""
    profile = _profile(task.customer_id)
    rules = consistency()
    zone = guards.local_time(profile, rules) if profile else rules.quiet_hours.zone
    return WaitPlan(seconds=guards.seconds_until(clock.now(), zone, task.until, task.days, same_day=task.same_day))


def await_event(task: AwaitTask) -> Done:
    """Park the execution until the profile function sees the awaited event and answers the token."""
    run = _run(task)
    if run is not None:
        runs.wait(run, task.step, task.awaited.model_dump_json(exclude_unset=True), task.task_token)
    return Done()


def branch(task: BranchTask) -> BranchResult:
    """The first case that holds for the live profile, or -1 (otherwise)."""
    profile = _profile(task.customer_id)
    if profile is None:
        return BranchResult(case=-1)
    return BranchResult(case=next((n for n, case in enumerate(task.cases) if holds(case, profile, task.entry)), -1))


def split(task: SplitTask) -> SplitResult:
    """A group drawn from a hash of customer, journey and step: random across customers, stable for one."""
    group = drawn_group(task.customer_id, task.journey, task.step, task.groups)
    if group.holdout:
        run = _run(task)
        if run is not None:
            runs.end(run, RunOutcome.holdout, clock.now(), Reason.control_group)
    return SplitResult(group=task.groups.index(group))


def update_profile(task: UpdateProfileTask) -> Done:
    change = task.update

    def updated(profile: Profile) -> Profile:
        tags = [tag for tag in dict.fromkeys((*profile.tags, *change.add_tags)) if tag not in change.remove_tags]
        # Traits a journey sets are dated like an event's, so a later event's value still wins, within the budget.
        with_new_traits = with_traits(profile, change.traits, clock.now(), _step_key(task))
        return with_new_traits.model_copy(update={"tags": tuple(tags)})

    service.amend(task.customer_id, updated)
    return Done()


def record_failure(task: RecordFailureTask) -> Done:
    run = _run(task)
    if run is not None:
        runs.end(run, RunOutcome.failed, clock.now(), (task.error.Error if task.error else None) or "failed")
    return Done()


def execution_finished(event_detail: object, follow: Callable[[str], None] = lambda _: None) -> dict[str, JsonValue]:
    """A Step Functions status change (EventBridge): the run's outcome, unless a step or trigger recorded it."""
    try:
        detail = ExecutionStatusChange.model_validate(event_detail)
        execution_input = ExecutionInput.model_validate_json(detail.input or "{}")
    except ValidationError as error:
        raise readable(error) from None  # without the input's values, which may be personal
    journey = journey_of(detail.stateMachineArn)
    if execution_input.entry is not None:
        follow(execution_input.entry.correlation)
    customer_id = execution_input.customer_id
    if not customer_id:
        return {}
    output = ExecutionOutput.model_validate_json(detail.output or "{}").outcome
    outcome: str = FINAL_STATUSES.get(detail.status) or output.outcome
    runs.end_unread(customer_id, journey, detail.name, outcome=outcome, at=clock.now(), reason=output.reason)
    _emit_run_ended(customer_id, journey, detail)
    stream.flush()  # failing, the invocation fails: EventBridge's retry writes the fact again
    return {"outcome": str(outcome)}


def _emit_run_ended(customer_id: str, journey: str, detail: ExecutionStatusChange) -> None:
    """Every run ends with a status change, whatever ended it (a trigger, a step, its last state): its outcome as
    recorded by then, and the transitions of its history, complete only now (docs/analytics.md)."""
    run = runs.get(customer_id, journey, detail.name)
    if run is None or run.ended_at is None:
        return
    entered = runs.states_entered(f"{detail.stateMachineArn.replace(':stateMachine:', ':execution:')}:{detail.name}")
    end = RunEnd(
        customer_id=customer_id,
        journey=journey,
        execution=detail.name,
        at=run.ended_at,
        outcome=run.outcome,
        reason=run.reason,
        converted_on=run.converted_on,
        transitions=len(entered),
    )
    stream.emit(facts.run_ended_fact(end))
