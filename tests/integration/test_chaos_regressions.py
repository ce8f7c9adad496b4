"""Regressions found by chaos (tests/integration/test_chaos.py, `make bench`): a throttled write is no claim, a Task
that AWS throttled past the SDK's retries is tried again by Step Functions, not failed, a staff note whose profile
write failed is written by the retried Task, a run's end that AWS throttled is recorded by the retry (not taken for
"already ended"), an event's stop of a run is recorded before the execution's status change can, an offer retried
before it was recorded gets the code of its step, and a refused send whose `retry` mark was throttled is still sent.

The seeded runs are the seeds that found each defect (docs/operations.md, "Faults"); the fault-free outcome of each
scenario is played once per module."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError, PutError, UpdateError

from omnijourney.journeys import contract
from omnijourney.journeys.contract import Entry
from omnijourney.platform import aws
from omnijourney.platform.tables import connection
from omnijourney.runtime import ledger, ledger_records, runs, steps
from omnijourney.runtime.ledger_records import LedgerStatus
from omnijourney_tools.chaos.faults import FaultInjector, FaultKind, FaultPlan
from omnijourney_tools.chaos.outcome import Outcome
from omnijourney_tools.chaos.run import play_under
from omnijourney_tools.simulation.scenario import read
from tests.conftest import RECEIVED_AT, delivery, signed
from tests.integration.conftest import Harness
from tests.integration.test_reconcile import welcome_entry

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
THROTTLED_PUT = FaultPlan(rate=1.0, kinds=(FaultKind.throttled,), calls=("dynamodb.PutItem",), outlasting=1.0, limit=1)
THROTTLED_UPDATE = FaultPlan(
    rate=1.0, kinds=(FaultKind.throttled,), calls=("dynamodb.UpdateItem",), outlasting=1.0, limit=1
)


@cache
def fault_free(scenario: str) -> Outcome:
    return play_under(read(SCENARIOS / f"{scenario}.jsonl"), FaultPlan(rate=0)).outcome


def differences_under(scenario: str, seed: int) -> list[str]:
    run = play_under(read(SCENARIOS / f"{scenario}.jsonl"), FaultPlan(rate=0.1, seed=seed))
    assert run.escaped.total() > 0  # the faults reached the functions
    return run.outcome.differences(fault_free(scenario))


def test_a_throttled_claim_raises_instead_of_saying_another_attempt_claimed_it(harness: Harness) -> None:
    faults = FaultInjector(THROTTLED_PUT)
    with faults.installed([connection().client]), faults.armed(), pytest.raises(PutError):
        ledger.claim(welcome_entry(), retrying=False)

    assert faults.escaped == {FaultKind.throttled: 1}
    assert list(ledger_records.every_entry()) == []
    # The next attempt claims it; one after that finds it claimed.
    assert ledger.claim(welcome_entry(), retrying=False) is True
    assert ledger.claim(welcome_entry(), retrying=False) is False


def throttled_read(_: Any) -> None:
    raise GetError("Failed to get item", cause=_client_error("ProvisionedThroughputExceededException", 400))


def refused_read(_: Any) -> None:
    raise GetError("Failed to get item", cause=_client_error("ValidationException", 400))


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetItem")


def test_a_task_throttled_past_the_sdk_retries_is_retryable_and_a_refused_one_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = {"action": "plan_wait"}  # never read: the task's work is replaced
    monkeypatch.setattr(contract.TASK, "validate_python", lambda _: _AnyTask())
    monkeypatch.setattr(steps, "run_task", throttled_read)
    with pytest.raises(steps.Retryable):
        steps.perform(payload)

    monkeypatch.setattr(steps, "run_task", refused_read)
    with pytest.raises(GetError):
        steps.perform(payload)


class _AnyTask:
    class entry:
        correlation = "test-correlation"


def test_a_staff_note_whose_profile_write_failed_is_written_by_the_retried_task() -> None:
    # Seed 15 fails the profile write of the call-center note "Call Lena Fischer …" past the SDK's retries.
    run = play_under(read(SCENARIOS / "shoes.jsonl"), FaultPlan(rate=0.1, seed=15))

    assert run.recoveries["Step Functions Retry"] == 1
    assert run.outcome.differences(fault_free("shoes")) == []
    (lena,) = run.outcome.profiles.values()
    assert [action["channel"] for action in lena["next_best_actions"]] == ["call_center", "in_store"]


def started_run() -> runs.JourneyRunRecord:
    entry = Entry(event_id="segment:m-1", type="cart_updated", channel="web", source="segment", at=RECEIVED_AT)
    return runs.start("cus_lena", "abandoned_cart", "abandoned_cart-lena-1", RECEIVED_AT, entry)


def test_a_throttled_end_of_a_run_raises_instead_of_saying_it_had_ended(harness: Harness) -> None:
    run = started_run()
    faults = FaultInjector(THROTTLED_UPDATE)
    with faults.installed([connection().client]), faults.armed(), pytest.raises(UpdateError):
        runs.end(run, runs.RunOutcome.goal, RECEIVED_AT, "goal_reached")

    assert faults.escaped == {FaultKind.throttled: 1}
    stored = runs.get("cus_lena", "abandoned_cart", "abandoned_cart-lena-1")
    assert stored is not None
    assert stored.running
    # The retry records the outcome; a later end (the execution's status change) changes nothing.
    assert runs.end(run, runs.RunOutcome.goal, RECEIVED_AT, "goal_reached") is True
    assert runs.end(run, runs.RunOutcome.stopped, RECEIVED_AT + timedelta(seconds=1)) is False
    ended = runs.get("cus_lena", "abandoned_cart", "abandoned_cart-lena-1")
    assert ended is not None
    assert (ended.outcome, ended.reason) == ("goal", "goal_reached")


@pytest.mark.parametrize(
    ("scenario", "seed"),
    [
        # The order that reaches the welcome series' goal: its run's end throttled, taken for "already ended".
        ("shoes", 6),
        # An execution's status change whose end of the run was throttled: the run stayed `running` for good.
        ("rejected_inputs_change_nothing", 6),
        ("stop_by_sms_holds_the_cart_reminder", 14),
    ],
)
def test_a_run_whose_end_was_throttled_ends_as_without_the_fault(scenario: str, seed: int) -> None:
    assert differences_under(scenario, seed) == []


def test_a_goal_reached_keeps_its_outcome_when_the_stopped_execution_reports_first(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by seed 18 of shoes: the order reaching the cart journey's goal stopped its execution, then failed to
    record the goal. On AWS the execution's status change (ABORTED) comes at once and the event only after the
    queue's visibility timeout: the status change recorded `stopped`, and the redelivered order found the run over."""
    for case in ("customers_create", "checkouts_create"):  # Lena's cart journey waits for its first hour
        assert harness.deliver(signed(delivery("shopify", case)))[0] == 202
    ended = runs.end
    throttled: list[str] = []

    def throttled_once(run: runs.JourneyRunRecord, *args: Any, **kwargs: Any) -> bool:
        if run.journey == "abandoned_cart" and not throttled:
            throttled.append(run.execution)
            raise UpdateError(
                "Failed to update item", cause=_client_error("ProvisionedThroughputExceededException", 400)
            )
        return ended(run, *args, **kwargs)

    monkeypatch.setattr(runs, "end", throttled_once)
    assert harness.post(signed(delivery("shopify", "orders_create")))[0] == 202
    with pytest.raises(RuntimeError, match="did not drain"):
        harness.backend.drain(max_rounds=1)  # the order failed and waits on the queue to be received again
    harness.backend.clock.settle()  # meanwhile any execution stopped ends, and EventBridge reports it
    harness.backend.status_changes()
    harness.backend.drain()

    assert len(throttled) == 1
    [cart] = [run for run in runs.every_run() if run.journey == "abandoned_cart"]
    assert (cart.outcome, cart.reason) == ("goal", "goal_reached")


def test_an_execution_whose_stop_failed_is_stopped_by_the_redelivered_event(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of recording the end first: the goal is recorded, StopExecution is throttled, and the redelivered
    order (its run already over) stops the execution, which would otherwise wait out its hour and run on."""
    for case in ("customers_create", "checkouts_create"):
        assert harness.deliver(signed(delivery("shopify", case)))[0] == 202
    stepfunctions = aws.client("stepfunctions")
    stop_execution = stepfunctions.stop_execution
    stops: list[str] = []

    def throttled_once(**request: Any) -> Any:
        if ":abandoned_cart-" in request["executionArn"]:
            stops.append(request["executionArn"])
            if len(stops) == 1:
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StopExecution"
                )
        return stop_execution(**request)

    monkeypatch.setattr(stepfunctions, "stop_execution", throttled_once)
    assert harness.deliver(signed(delivery("shopify", "orders_create")))[0] == 202
    harness.backend.clock.settle()

    assert len(stops) == 2
    assert stops[0] == stops[1]
    assert stepfunctions.describe_execution(executionArn=stops[0])["status"] == "ABORTED"
    [cart] = [run for run in runs.every_run() if run.journey == "abandoned_cart"]
    assert (cart.outcome, cart.reason) == ("goal", "goal_reached")


@pytest.mark.parametrize("seed", [8, 10])
def test_an_offer_issued_by_a_retried_task_has_the_code_the_customer_redeems(seed: int) -> None:
    """The cart email's Task failed before it issued the offer; the retry, seconds later, issued another code than
    the one the customer brings to the till (the scenario's order), so the offer expired instead of being redeemed."""
    assert differences_under("one_offer_every_channel", seed) == []


@pytest.mark.parametrize("seed", [5, 8])
def test_a_night_sms_retried_seconds_late_is_deferred_once_until_morning(seed: int) -> None:
    """The deferral computed at a retry's fractional second truncates to whole seconds, so the wait ends just before
    quiet hours do and the SMS is deferred a second time, for one second."""
    assert differences_under("night_sms_waits_for_morning", seed) == []


def test_a_refused_email_whose_retry_mark_was_throttled_is_sent_by_the_retried_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SES refuses the first email past the SDK's retries, and DynamoDB throttles the ledger's `retry` mark once: the
    mark is tried again, so the retried Task sends the email instead of finding it `pending` (counted as sent)."""
    refused = FaultPlan(rate=1.0, kinds=(FaultKind.server_error,), calls=("sesv2.SendEmail",), outlasting=1.0, limit=1)
    marked = ledger.mark
    throttled: list[str] = []

    def throttled_once(record: ledger_records.LedgerRecord, status: LedgerStatus, reason: str) -> None:
        if not throttled:
            throttled.append(record.message_key)
            raise UpdateError(
                "Failed to update item", cause=_client_error("ProvisionedThroughputExceededException", 400)
            )
        marked(record, status, reason)

    monkeypatch.setattr(ledger, "mark", throttled_once)

    run = play_under(read(SCENARIOS / "shoes.jsonl"), refused)

    assert len(throttled) == 1
    assert run.recoveries["Step Functions Retry"] == 1
    assert run.outcome.pending == []
    assert run.outcome.differences(fault_free("shoes")) == []
