"""Regressions found by chaos (tests/integration/test_chaos.py, `make bench`): a throttled write is no claim, a Task
that AWS throttled past the SDK's retries is tried again by Step Functions, not failed, and a staff note whose profile
write failed is written by the retried Task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError, PutError

from omnijourney.journeys import contract
from omnijourney.platform.tables import connection
from omnijourney.runtime import ledger, steps
from omnijourney.runtime.ledger import LedgerStatus
from omnijourney.vocabulary import Category, MessageChannel
from omnijourney_tools.chaos.faults import FaultInjector, FaultKind, FaultPlan
from omnijourney_tools.chaos.run import play_under
from omnijourney_tools.simulation.scenario import read
from tests.conftest import RECEIVED_AT
from tests.integration.conftest import Harness

THROTTLED_PUT = FaultPlan(rate=1.0, kinds=(FaultKind.throttled,), calls=("dynamodb.PutItem",), outlasting=1.0, limit=1)


def welcome_entry() -> ledger.LedgerRecord:
    return ledger.entry(
        "cus_lena",
        "welcome_series-lena#welcome#2026-03-04T10:30:00+00:00",
        at=RECEIVED_AT,
        journey="welcome_series",
        step="welcome",
        priority=1,
        channel=MessageChannel.email,
        category=Category.marketing,
        template="welcome",
        offer=None,
        offer_withheld=None,
        recipient="lena.fischer@example.com",
        products=[],
        status=LedgerStatus.pending,
        reason=None,
    )


def test_a_throttled_claim_raises_instead_of_saying_another_attempt_claimed_it(harness: Harness) -> None:
    faults = FaultInjector(THROTTLED_PUT)
    with faults.installed([connection().client]), faults.armed(), pytest.raises(PutError):
        ledger.claim(welcome_entry(), retrying=False)

    assert faults.escaped == {FaultKind.throttled: 1}
    assert list(ledger.every_entry()) == []
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
    lines = read(Path(__file__).resolve().parents[2] / "scenarios" / "shoes.jsonl")
    expected = play_under(lines, FaultPlan(rate=0)).outcome

    run = play_under(lines, FaultPlan(rate=0.1, seed=15))

    assert run.recoveries["Step Functions Retry"] == 1
    assert run.outcome.differences(expected) == []
    (lena,) = run.outcome.profiles.values()
    assert [action["channel"] for action in lena["next_best_actions"]] == ["call_center", "in_store"]
