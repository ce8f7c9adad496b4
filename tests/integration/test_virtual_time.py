"""Journeys on moto under the virtual clock: days of waiting pass at once, at exact virtual times, every run alike."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from omnijourney.platform import aws, clock
from omnijourney_tools.local import MOTO_CONFIG, REGION
from omnijourney_tools.local.lambdas import Handler, route_lambdas
from omnijourney_tools.local.virtual_time import VirtualClock

START = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
HOLD = timedelta(hours=1)
REPLY_WINDOW = timedelta(days=1)
SEND_OFFER = "omnijourney-send-offer"
AWAIT_REPLY = "omnijourney-await-reply"
RECORD_OUTCOME = "omnijourney-record-outcome"
BACKOFF = {"IntervalSeconds": 60, "BackoffRate": 2.0, "MaxAttempts": 3}


class Retryable(Exception):
    """The channel is briefly unavailable; the journey's Retry names this error."""


def offer_journey(*, hold: dict[str, Any] | None = None, retry: dict[str, Any] | None = None) -> dict[str, Any]:
    """Wait, send an offer, wait a day for the reply by task token, then route on it."""

    def record(outcome: str) -> dict[str, Any]:
        payload = {"customer.$": "$$.Execution.Name", "outcome": outcome}
        return {**lambda_task(RECORD_OUTCOME, payload), "ResultPath": None, "End": True}

    return {
        "StartAt": "Hold",
        "States": {
            "Hold": {"Type": "Wait", **(hold or {"Seconds": int(HOLD.total_seconds())}), "Next": "SendOffer"},
            "SendOffer": {
                **lambda_task(SEND_OFFER, {"customer.$": "$$.Execution.Name"}),
                "Retry": [{"ErrorEquals": ["Retryable"], **(retry or BACKOFF)}],
                "ResultPath": None,
                "Next": "AwaitReply",
            },
            "AwaitReply": {
                **lambda_task(AWAIT_REPLY, {"customer.$": "$$.Execution.Name", "token.$": "$$.Task.Token"}),
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "TimeoutSeconds": int(REPLY_WINDOW.total_seconds()),
                "ResultPath": "$.reply",
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.noReply", "Next": "Route"}],
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.noReply", "IsPresent": True, "Next": "Lapsed"},
                    {"Variable": "$.reply.answer", "StringEquals": "yes", "Next": "Converted"},
                ],
                "Default": "Declined",
            },
            "Converted": record("converted"),
            "Lapsed": record("lapsed"),
            "Declined": {"Type": "Fail", "Error": "Declined", "Cause": "the customer said no"},
        },
    }


def lambda_task(function: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload": payload},
    }


class Channel:
    """The journey's Lambda functions, in process: who was called when (virtual time), and the reply tokens."""

    def __init__(self, outages: dict[str, int] | None = None) -> None:
        self.calls: list[tuple[str, str, datetime]] = []
        self.tokens: dict[str, str] = {}
        self._outages = dict(outages or {})

    def handlers(self) -> dict[str, Handler]:
        return {SEND_OFFER: self.send_offer, AWAIT_REPLY: self.await_reply, RECORD_OUTCOME: self.record_outcome}

    def send_offer(self, event: dict[str, Any]) -> dict[str, Any]:
        customer = event["customer"]
        self.calls.append(("send", customer, clock.now()))
        if self._outages.get(customer, 0) > 0:
            self._outages[customer] -= 1
            raise Retryable("the SMS gateway is unavailable")
        return {"sent": True}

    def await_reply(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("await", event["customer"], clock.now()))
        self.tokens[event["customer"]] = event["token"]
        return {"listening": True}

    def record_outcome(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((event["outcome"], event["customer"], clock.now()))
        return {}


class Journeys:
    """The journey deployed on moto, its executions driven by the test under the virtual clock."""

    def __init__(self, virtual_clock: VirtualClock, channel: Channel, state_machine_arn: str) -> None:
        self.clock = virtual_clock
        self.channel = channel
        self.state_machine_arn = state_machine_arn
        self.sfn = aws.client("stepfunctions")

    def start(self, customer: str, **journey_input: Any) -> str:
        return str(
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=customer, input=json.dumps(journey_input)
            )["executionArn"]
        )

    def describe(self, execution_arn: str) -> dict[str, Any]:
        description: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
        return description

    def status(self, execution_arn: str) -> str:
        return str(self.describe(execution_arn)["status"])

    def reply(self, customer: str, answer: str) -> None:
        self.sfn.send_task_success(taskToken=self.channel.tokens[customer], output=json.dumps({"answer": answer}))

    def opt_out(self, customer: str) -> None:
        self.sfn.send_task_failure(taskToken=self.channel.tokens[customer], error="OptedOut", cause="STOP")

    def stop(self, execution_arn: str) -> None:
        self.sfn.stop_execution(executionArn=execution_arn)


@contextmanager
def deployed(channel: Channel, definition: dict[str, Any]) -> Iterator[Journeys]:
    """A fresh moto with the journey's functions and state machine, under a virtual clock starting at START."""
    with mock_aws(config=MOTO_CONFIG), VirtualClock(START) as virtual_clock, route_lambdas(channel.handlers()):
        role = aws.client("iam").create_role(RoleName="journey", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for function in channel.handlers():
            aws.client("lambda").create_function(
                FunctionName=function,
                Runtime="python3.12",
                Role=role,
                Handler="handler.lambda_handler",
                Code={"ZipFile": unused_code()},
            )
        state_machine_arn = aws.client("stepfunctions").create_state_machine(
            name="offer", definition=json.dumps(definition), roleArn=role
        )["stateMachineArn"]
        yield Journeys(virtual_clock, channel, state_machine_arn)


def unused_code() -> bytes:
    """moto wants a deployment package; the routed handlers answer instead of it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def channel() -> Channel:
    return Channel()


@pytest.fixture
def journeys(channel: Channel) -> Iterator[Journeys]:
    with deployed(channel, offer_journey()) as running:
        yield running


def test_unanswered_offer_lapses_exactly_when_the_reply_window_closes(journeys: Journeys, channel: Channel) -> None:
    execution = journeys.start("ada")
    window_closes = START + HOLD + REPLY_WINDOW

    journeys.clock.advance_to(window_closes - timedelta(seconds=1))
    assert journeys.status(execution) == "RUNNING"

    journeys.clock.advance_to(window_closes)
    assert journeys.status(execution) == "SUCCEEDED"
    assert channel.calls == [
        ("send", "ada", START + HOLD),
        ("await", "ada", START + HOLD),
        ("lapsed", "ada", window_closes),
    ]
    assert journeys.clock.now() == window_closes


def test_reply_before_the_window_closes_converts_when_it_was_sent(journeys: Journeys, channel: Channel) -> None:
    execution = journeys.start("ada")
    replied_at = START + HOLD + timedelta(hours=5)
    journeys.clock.advance_to(replied_at)

    journeys.reply("ada", "yes")
    journeys.clock.settle()

    assert journeys.status(execution) == "SUCCEEDED"
    assert channel.calls[-1] == ("converted", "ada", replied_at)
    assert json.loads(journeys.describe(execution)["output"]) == {"reply": {"answer": "yes"}}


def test_converted_journey_does_not_lapse_when_the_window_closes_later(journeys: Journeys, channel: Channel) -> None:
    journeys.start("ada")
    journeys.clock.advance_to(START + HOLD + timedelta(minutes=1))
    journeys.reply("ada", "yes")

    journeys.clock.advance_to(START + HOLD + REPLY_WINDOW * 3)

    assert [outcome for outcome, _, _ in channel.calls] == ["send", "await", "converted"]


def test_declined_offer_ends_in_the_fail_state(journeys: Journeys) -> None:
    execution = journeys.start("ada")
    journeys.clock.advance_to(START + HOLD)

    journeys.reply("ada", "no")
    journeys.clock.settle()

    assert journeys.describe(execution)["error"] == "Declined"


def test_opted_out_customer_fails_the_journey_with_the_senders_error(journeys: Journeys) -> None:
    execution = journeys.start("ada")
    journeys.clock.advance_to(START + HOLD + timedelta(minutes=30))

    journeys.opt_out("ada")
    journeys.clock.settle()

    assert journeys.status(execution) == "FAILED"
    assert journeys.describe(execution)["error"] == "OptedOut"


def test_send_is_retried_with_backoff_at_virtual_times_and_then_succeeds() -> None:
    channel = Channel(outages={"ada": 2})
    with deployed(channel, offer_journey()) as journeys:
        journeys.start("ada")
        journeys.clock.advance_to(START + HOLD + timedelta(minutes=10))

    sent = START + HOLD
    assert channel.calls == [
        ("send", "ada", sent),
        ("send", "ada", sent + timedelta(seconds=60)),
        ("send", "ada", sent + timedelta(seconds=60 + 120)),
        ("await", "ada", sent + timedelta(seconds=60 + 120)),
    ]


def test_stopped_journey_is_aborted_and_sends_nothing(journeys: Journeys, channel: Channel) -> None:
    execution = journeys.start("ada")
    journeys.clock.advance_to(START + timedelta(minutes=10))

    journeys.stop(execution)
    journeys.clock.settle()
    assert journeys.status(execution) == "ABORTED"
    assert journeys.describe(execution)["stopDate"] == START + timedelta(minutes=10)

    journeys.clock.advance_to(START + REPLY_WINDOW * 2)
    assert channel.calls == []


def test_fifty_concurrent_journeys_repeat_exactly() -> None:
    first, outcomes = run_campaign()
    second, _ = run_campaign()

    assert first == second
    assert outcomes == Counter({"SUCCEEDED": 25, "FAILED": 24, "ABORTED": 1})


def run_campaign() -> tuple[str, Counter[str]]:
    """50 customers with staggered holds, flaky sends with jittered retries, and every kind of reply or none.

    Returns a digest of every handler call (in call order, with virtual times) and every execution's outcome.
    """
    customers = [f"customer-{number:02}" for number in range(50)]
    channel = Channel(outages={customer: number % 3 for number, customer in enumerate(customers)})
    jittered = {**BACKOFF, "MaxDelaySeconds": 100, "JitterStrategy": "FULL"}
    definition = offer_journey(hold={"SecondsPath": "$.holdSeconds"}, retry=jittered)
    with deployed(channel, definition) as journeys:
        executions = {
            customer: journeys.start(customer, holdSeconds=3600 + 600 * (number % 5))
            for number, customer in enumerate(customers)
        }
        journeys.clock.advance_to(START + timedelta(minutes=30))
        journeys.stop(executions["customer-49"])
        journeys.clock.advance_to(START + timedelta(hours=3))
        for number, customer in enumerate(customers[:-1]):
            if number % 4 == 0:
                journeys.reply(customer, "yes")
            elif number % 4 == 1:
                journeys.reply(customer, "no")
            elif number % 4 == 2:
                journeys.opt_out(customer)
        journeys.clock.advance_to(START + REPLY_WINDOW * 2)
        descriptions = [journeys.describe(executions[customer]) for customer in customers]
    outcomes = [
        {key: description.get(key) for key in ("name", "status", "error", "output", "stopDate")}
        for description in descriptions
    ]
    calls = [(kind, customer, at.isoformat()) for kind, customer, at in channel.calls]
    report = json.dumps({"calls": calls, "outcomes": outcomes}, default=str)
    return hashlib.sha256(report.encode()).hexdigest(), Counter(description["status"] for description in descriptions)


def test_timestamp_wait_and_execution_dates_follow_the_virtual_clock() -> None:
    send_at = START + timedelta(hours=14)
    definition = {
        "StartAt": "UntilMorning",
        "States": {
            "UntilMorning": {"Type": "Wait", "Timestamp": send_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "Next": "Send"},
            "Send": {**lambda_task(SEND_OFFER, {"customer.$": "$$.Execution.Name"}), "End": True},
        },
    }
    channel = Channel()
    with deployed(channel, definition) as journeys:
        execution = journeys.start("ada")
        journeys.clock.advance_to(START + REPLY_WINDOW)
        description = journeys.describe(execution)

    assert channel.calls == [("send", "ada", send_at)]
    assert description["startDate"] == START
    assert description["stopDate"] == send_at


def test_parallel_branches_wait_side_by_side_in_virtual_time() -> None:
    definition = {
        "StartAt": "BothChannels",
        "States": {
            "BothChannels": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Short", "States": {"Short": {"Type": "Wait", "Seconds": 100, "End": True}}},
                    {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 200, "End": True}}},
                ],
                "ResultPath": None,
                "Next": "Send",
            },
            "Send": {**lambda_task(SEND_OFFER, {"customer.$": "$$.Execution.Name"}), "End": True},
        },
    }
    channel = Channel()
    with deployed(channel, definition) as journeys:
        journeys.start("ada")
        journeys.clock.advance_to(START + HOLD)

    assert channel.calls == [("send", "ada", START + timedelta(seconds=200))]


def test_a_lambda_without_a_handler_fails_the_task_naming_the_function() -> None:
    channel = Channel()
    definition = {
        "StartAt": "Send",
        "States": {"Send": {**lambda_task("omnijourney-unrouted", {}), "End": True}},
    }
    with deployed(channel, definition) as journeys:
        execution = journeys.start("ada")
        description = journeys.describe(execution)

    assert description["error"] == "Lambda.ResourceNotFoundException"
    assert "'omnijourney-unrouted'" in description["cause"]
