"""Journey work a failed attempt left undone is redone by its retry (runtime/triggers.py, runtime/segments.py): the
fault is injected at the call that matters, the work is retried as AWS retries it (SQS delivers the event again, the
scheduler invokes the hourly evaluation again), and the customer's runs end as they would have without the fault."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import QueryError

from omnijourney.edge.sources.delivery import Delivery
from omnijourney.platform import aws
from omnijourney.profiles import store
from omnijourney.runtime import ledger_records, runs
from omnijourney.runtime.runs import JourneyRunRecord
from omnijourney.runtime.triggers import execution_arn
from tests.conftest import RECEIVED_AT, delivery, sample, signed
from tests.integration.conftest import Harness

EMAIL = "lena.fischer@example.com"


def throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


def segment_post(case: str, **changes: Any) -> Delivery:
    return signed(delivery("segment", case, body=json.dumps(sample("segment", case) | changes).encode()))


def shopify_post(case: str, **changes: Any) -> Delivery:
    return signed(delivery("shopify", case, body=json.dumps(sample("shopify", case) | changes).encode()))


def viewed(harness: Harness, message_id: str, at: datetime) -> None:
    stamp = at.isoformat().replace("+00:00", "Z")
    assert (
        harness.deliver(segment_post("product_viewed", messageId=message_id, timestamp=stamp, sentAt=stamp))[0] == 202
    )


def runs_of(journey: str) -> list[JourneyRunRecord]:
    return sorted((run for run in runs.every_run() if run.journey == journey), key=lambda run: run.started_at)


def execution_status(run: JourneyRunRecord) -> str:
    described = aws.client("stepfunctions").describe_execution(executionArn=execution_arn(run.journey, run.execution))
    return str(described["status"])


class FailingOnce:
    """`work` failing once with `failure`, at the first call `when` accepts: before the work, or `after` it (done, and
    then the attempt failed); `calls` are those `when` accepted."""

    def __init__(
        self,
        work: Callable[..., Any],
        failure: Exception,
        *,
        when: Callable[..., bool] = lambda *_, **__: True,
        after: bool = False,
    ) -> None:
        self.work, self.failure, self.when, self.after = work, failure, when, after
        self.calls: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.when(*args, **kwargs):
            return self.work(*args, **kwargs)
        self.calls.append(kwargs or args)
        first = len(self.calls) == 1
        if first and not self.after:
            raise self.failure
        done = self.work(*args, **kwargs)
        if first:
            raise self.failure
        return done


def test_a_run_whose_segment_the_customer_left_is_stopped_by_the_retried_hourly_evaluation(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lena views the trail runner on 3 March and again late on 5 March (Berlin): browse abandonment starts and waits
    two hours. At midnight the first view leaves the segment's 3-day window, so she leaves the segment the journey
    exits on. The hourly evaluation ends the run and its StopExecution is throttled; the scheduler's retry stops it."""
    harness.deliver(segment_post("identify_app"))
    viewed(harness, "view-1", RECEIVED_AT - timedelta(days=1))
    harness.backend.clock.advance_to(datetime(2026, 3, 5, 22, 30, tzinfo=UTC))  # 23:30 in Berlin
    viewed(harness, "view-2", datetime(2026, 3, 5, 22, 29, tzinfo=UTC))
    [run] = runs_of("browse_abandonment")
    assert run.running
    stepfunctions = aws.client("stepfunctions")
    stop = FailingOnce(stepfunctions.stop_execution, throttled("StopExecution"))
    monkeypatch.setattr(stepfunctions, "stop_execution", stop)

    harness.backend.clock.advance_to(datetime(2026, 3, 5, 23, 30, tzinfo=UTC))  # 00:30 on 6 March in Berlin
    with pytest.raises(ClientError):
        harness.backend.call_function("journey_schedule", {"segments": "daily"})
    assert execution_status(run) == "RUNNING"  # ended on record, its execution still waiting
    harness.backend.call_function("journey_schedule", {"segments": "daily"})  # the scheduler's retry

    assert len(stop.calls) == 2
    [ended] = runs_of("browse_abandonment")
    assert (ended.outcome, ended.reason) == ("exited", "exit_condition")
    harness.backend.clock.settle()  # the stopped execution ends
    assert execution_status(ended) == "ABORTED"


def test_a_redelivered_event_ends_the_run_whose_exit_condition_it_made_true(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On her birthday Lena withdraws email and SMS consent in the shop before the 09:00 wish: she is in
    `opted_out_everywhere`, the birthday journey's exit. The first attempt failed after recording her consent (the
    runs could not be read); the redelivered event changes nothing on the profile and still ends the run."""
    traits = sample("segment", "identify_app")["traits"] | {"birthday": "1990-03-05"}
    harness.deliver(segment_post("identify_app", traits=traits))
    harness.backend.clock.advance_to(datetime(2026, 3, 4, 23, 30, tzinfo=UTC))  # 00:30 on 5 March in Berlin
    harness.backend.call_function("journey_schedule", {"segments": "daily"})
    [run] = runs_of("birthday")
    assert run.running
    reads = FailingOnce(runs.of_customers, QueryError("Failed to query items", cause=throttled("Query")))
    monkeypatch.setattr(runs, "of_customers", reads)
    withdrawn = {
        "state": "unsubscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2026-03-05T00:40:00+01:00",
    }
    opted_out = shopify_post(
        "customers_create",
        updated_at="2026-03-05T00:40:00+01:00",
        email_marketing_consent=withdrawn,
        sms_marketing_consent=withdrawn,
    )

    assert harness.deliver(opted_out)[0] == 202  # received again after the failure

    assert len(reads.calls) == 2
    _, view = harness.lookup(email=EMAIL)
    assert "opted_out_everywhere" in view["segments"]
    [ended] = runs_of("birthday")
    assert (ended.outcome, ended.reason) == ("exited", "exit_condition")
    harness.backend.clock.settle()
    assert execution_status(ended) == "ABORTED"


def test_a_redelivered_identify_starts_the_journey_its_audience_refused_before(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An anonymous browser views the trail runner twice: browse abandonment's audience (reachable by email) refuses
    her. She then identifies in the app with her email, and the journey would start; its StartExecution is throttled.
    The redelivered identify starts it: the run it recorded is its own, not an earlier start that ends the retrying."""
    for n, at in enumerate((RECEIVED_AT - timedelta(days=1), RECEIVED_AT - timedelta(minutes=5))):
        viewed(harness, f"view-{n}", at)
    assert runs_of("browse_abandonment") == []
    assert [skip.journey for skip in runs.every_skipped()] == ["browse_abandonment"]
    stepfunctions = aws.client("stepfunctions")
    start = FailingOnce(
        stepfunctions.start_execution,
        throttled("StartExecution"),
        when=lambda **request: request["name"].startswith("browse_abandonment-"),
    )
    monkeypatch.setattr(stepfunctions, "start_execution", start)

    assert harness.deliver(segment_post("identify_app"))[0] == 202

    assert len(start.calls) == 2
    [run] = runs_of("browse_abandonment")
    assert run.running
    assert execution_status(run) == "RUNNING"


def test_a_redelivered_merge_stops_the_second_run_of_a_journey(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lena signs up twice in the shop, with her own and her work address: two customers, each in the welcome series.
    An update naming her second account with her own address merges them; the attempt failed right after the merge's
    transaction. Delivered again, the event merges nothing more, and still stops the later run: one reminder."""
    assert harness.deliver(signed(delivery("shopify", "customers_create")))[0] == 202
    second = shopify_post("customers_create", id=7390123456790, email="lena.work@example.com")
    assert harness.deliver(second)[0] == 202
    harness.backend.clock.settle()
    first_run, second_run = runs_of("welcome_series")
    assert first_run.customer_id != second_run.customer_id
    assert first_run.running
    assert second_run.running
    # The merge's transaction is written; the next call of the attempt (the journey runs read) never is.
    merge = FailingOnce(store.merge, throttled("Query"), after=True)
    monkeypatch.setattr(store, "merge", merge)
    merging = shopify_post("customers_update", id=7390123456790, email=EMAIL)

    assert harness.deliver(merging)[0] == 202

    assert len(merge.calls) == 1  # the redelivery found the customers merged
    kept, stopped = runs_of("welcome_series")
    assert kept.running
    assert (stopped.outcome, stopped.reason) == ("stopped", "merged")
    # Nothing opened in three days: one reminder, from the run that goes on.
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(days=5))
    reminders = [entry for entry in ledger_records.every_entry() if entry.step == "resend_welcome"]
    assert [entry.message_key.split("#")[0] for entry in reminders if entry.status == "sent"] == [kept.execution]
