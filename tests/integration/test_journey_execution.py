"""Each shipped journey, compiled, runs on moto's Step Functions executor under the virtual clock.

The journey-step function is a stub that answers as the test scripts it (send outcomes, branch cases,
split groups, errors), so every path of every journey is followed: each branch, each wait_for's event
and timeout, the goal exit, deferral, retry and the failure record. Transition counts are printed for
the common path of each journey (Standard workflows are priced per transition).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnijourney.app import config
from omnijourney.journeys.compiler import compile_journey
from omnijourney.platform import aws, clock
from omnijourney_tools.local.lambdas import route_lambdas
from omnijourney_tools.local.virtual_time import VirtualClock
from tests.integration.conftest import fake_aws

START = datetime(2026, 3, 2, 19, 12, tzinfo=UTC)
STEP_FUNCTION = "journey-step-stub"
ENTRY = {"event_id": "segment:checkout-1", "type": "checkout_started", "at": START.isoformat(), "channel": "web"}


class Retryable(Exception):
    """What the real step function raises for a passing outage; the compiled Retry names it."""


class Broken(Exception):
    """A failure no retry fixes."""


@dataclass
class StepStub:
    """The journey-step function as scripted by a test: answers per step, and a record of every call."""

    sends: dict[str, list[str]] = field(default_factory=dict)  # step → outcomes of its successive calls
    cases: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    failures: dict[str, list[type[Exception]]] = field(default_factory=dict)
    calls: list[tuple[str, str | None, datetime]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    def __call__(self, task: dict[str, Any]) -> dict[str, Any]:
        step, action = task["step"], task["action"]
        self.calls.append((action, step, clock.now()))
        pending = self.failures.get(step or action, [])
        if pending:
            raise pending.pop(0)("scripted failure")
        if action == "send":
            outcomes = self.sends.get(step, [])
            outcome = outcomes.pop(0) if outcomes else "sent"
            return {"outcome": outcome, "defer_seconds": 6 * 3600}
        if action == "plan_wait":
            return {"seconds": 3600}
        if action == "await":
            self.tokens[step] = task["task_token"]
            return {}
        if action == "branch":
            return {"case": self.cases.get(step, -1)}
        if action == "split":
            return {"group": self.groups.get(step, 0)}
        return {}

    def visited(self, action: str) -> list[str | None]:
        return [step for called, step, _ in self.calls if called == action]


@dataclass
class Run:
    status: str
    outcome: dict[str, Any] | None
    states: list[str]
    stub: StepStub
    started_at: datetime
    ended_at: datetime

    def called_at(self, step: str) -> list[datetime]:
        return [at for _, called, at in self.stub.calls if called == step]


class Deployed:
    def __init__(self, virtual_clock: VirtualClock, role: str, function_arn: str) -> None:
        self.clock = virtual_clock
        self.role = role
        self.function_arn = function_arn
        self.sfn = aws.client("stepfunctions")
        self.machines: dict[str, str] = {}
        self.stubs: dict[str, StepStub] = {}

    def step_function(self, task: dict[str, Any]) -> dict[str, Any]:
        return self.stubs[task["execution"]](task)

    def machine(self, journey: str) -> str:
        if journey not in self.machines:
            definition = compile_journey(config.journeys().journeys[journey], self.function_arn)
            self.machines[journey] = self.sfn.create_state_machine(
                name=journey, definition=json.dumps(definition), roleArn=self.role, type="STANDARD"
            )["stateMachineArn"]
        return self.machines[journey]

    def run(self, journey: str, stub: StepStub, name: str, *, answer: str | None = None) -> Run:
        """Start a run, let every wait pass (answering `answer`'s wait_for when it starts waiting), and report it."""
        self.stubs[name] = stub
        started_at = self.clock.now()
        arn = self.sfn.start_execution(
            stateMachineArn=self.machine(journey), name=name, input=json.dumps({"customer_id": name, "entry": ENTRY})
        )["executionArn"]
        limit = self.clock.now() + timedelta(days=366)
        while self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            if answer is not None and answer in stub.tokens:
                self.sfn.send_task_success(taskToken=stub.tokens.pop(answer), output='{"event": {}}')
                self.clock.settle()
                continue
            due = self.clock.next_due()
            assert due is not None, "the execution is stuck: nothing waits on the clock"
            assert due <= limit, "the execution would run past Step Functions' one-year limit"
            self.clock.advance_to(due)
        description = self.sfn.describe_execution(executionArn=arn)
        history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        states = [event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event]
        output = json.loads(description.get("output") or "{}")
        return Run(description["status"], output.get("outcome"), states, stub, started_at, self.clock.now())


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    """moto with the stub function, under one virtual clock; each run starts when the one before it ended."""
    with fake_aws(), VirtualClock(START) as virtual_clock:
        role = aws.client("iam").create_role(RoleName="journeys", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        function_arn = aws.client("lambda").create_function(
            FunctionName=STEP_FUNCTION, Runtime="python3.12", Role=role, Handler="h.h", Code={"ZipFile": b"stub"}
        )["FunctionArn"]
        environment = Deployed(virtual_clock, role, function_arn)
        with route_lambdas({STEP_FUNCTION: environment.step_function}):
            yield environment


@pytest.fixture
def run_journey(deployed: Deployed, request: pytest.FixtureRequest) -> Any:
    def run(journey: str, stub: StepStub | None = None, *, answer: str | None = None) -> Run:
        name = request.node.name[:80]
        return deployed.run(journey, stub or StepStub(), name, answer=answer)

    return run


def transitions(run: Run) -> int:
    return len(run.states)


def test_abandoned_cart_common_path_sends_email_then_sms_and_exits(run_journey: Any) -> None:
    run = run_journey("abandoned_cart", StepStub(cases={"sms_allowed": 0}))
    assert run.status == "SUCCEEDED"
    assert run.outcome == {"outcome": "exited", "reason": "reminders sent"}
    assert run.stub.visited("send") == ["cart_email", "cart_sms"]
    assert run.called_at("cart_email") == [run.started_at + timedelta(hours=1)]
    print(f"\nabandoned_cart common path: {transitions(run)} transitions")
    assert transitions(run) == 10


def test_abandoned_cart_without_sms_consent_takes_the_otherwise_branch(run_journey: Any) -> None:
    run = run_journey("abandoned_cart", StepStub(cases={"sms_allowed": -1}))
    assert run.stub.visited("send") == ["cart_email"]
    assert run.states[-1] == "done"


def test_a_goal_reported_at_a_send_ends_the_journey_as_a_conversion(run_journey: Any) -> None:
    run = run_journey("abandoned_cart", StepStub(sends={"cart_email": ["goal"]}))
    assert (run.status, run.outcome) == ("SUCCEEDED", {"outcome": "goal"})
    assert run.stub.visited("send") == ["cart_email"]


def test_an_exit_reported_at_a_send_ends_the_journey(run_journey: Any) -> None:
    run = run_journey("abandoned_cart", StepStub(sends={"cart_email": ["exited"]}))
    assert run.outcome == {"outcome": "exited"}


def test_a_deferred_send_waits_and_is_asked_again(run_journey: Any) -> None:
    run = run_journey("abandoned_cart", StepStub(sends={"cart_email": ["deferred", "sent"]}, cases={"sms_allowed": -1}))
    assert run.called_at("cart_email") == [run.started_at + timedelta(hours=1), run.started_at + timedelta(hours=7)]


def test_a_passing_outage_is_retried_with_backoff(run_journey: Any) -> None:
    stub = StepStub(failures={"cart_email": [Retryable, Retryable]}, cases={"sms_allowed": -1})
    run = run_journey("abandoned_cart", stub)
    assert run.outcome == {"outcome": "exited", "reason": "reminders sent"}
    first, *retries = run.called_at("cart_email")
    assert len(retries) == 2
    assert first < retries[0] < retries[1] <= first + timedelta(seconds=2 + 4)  # full jitter under 2 s, then 4 s


def test_a_step_that_keeps_failing_is_recorded_and_fails_the_execution(run_journey: Any) -> None:
    run = run_journey("abandoned_cart", StepStub(failures={"cart_email": [Broken]}))
    assert run.status == "FAILED"
    assert run.stub.visited("record_failure") == [None]
    assert run.states[-2:] == ["RecordFailure", "Failed"]


def test_welcome_series_takes_the_event_path_when_the_email_is_opened(run_journey: Any) -> None:
    run = run_journey("welcome_series", answer="wait_for_first_look")
    assert run.stub.visited("send") == ["welcome", "bestsellers"]
    assert run.outcome == {"outcome": "exited", "reason": "series complete"}
    print(f"\nwelcome_series common path: {transitions(run)} transitions")
    assert transitions(run) == 6


def test_welcome_series_resends_when_nothing_is_opened_in_three_days(run_journey: Any) -> None:
    run = run_journey("welcome_series")
    assert run.stub.visited("send") == ["welcome", "resend_welcome"]
    assert run.called_at("resend_welcome") == [run.started_at + timedelta(days=3)]


def test_support_follow_up_thanks_a_customer_who_answered(run_journey: Any) -> None:
    run = run_journey("support_follow_up", answer="wait_for_reply")
    assert run.stub.visited("send") == ["satisfaction_check"]
    assert run.stub.visited("update_profile") == ["thanked"]
    print(f"\nsupport_follow_up common path: {transitions(run)} transitions")
    assert transitions(run) == 6


def test_support_follow_up_calls_a_customer_who_did_not_answer(run_journey: Any) -> None:
    run = run_journey("support_follow_up")
    assert run.stub.visited("send") == ["satisfaction_check", "agent_call"]
    assert run.stub.visited("update_profile") == []


def test_post_purchase_common_path_thanks_asks_for_a_review_and_cross_sells(run_journey: Any) -> None:
    run = run_journey("post_purchase", StepStub(groups={"holdout_split": 0}))
    assert run.stub.visited("send") == ["thank_you", "review_request", "cross_sell", "tell_the_store"]
    assert run.outcome == {"outcome": "completed"}
    assert run.ended_at == run.started_at + timedelta(days=9)
    print(f"\npost_purchase common path: {transitions(run)} transitions")
    assert transitions(run) == 13


def test_post_purchase_holdout_group_is_sent_nothing_more(run_journey: Any) -> None:
    run = run_journey("post_purchase", StepStub(groups={"holdout_split": 1}))
    assert run.stub.visited("send") == ["thank_you", "review_request"]
    assert run.outcome == {"outcome": "holdout"}


def test_win_back_texts_a_customer_who_can_be_reached_by_sms(run_journey: Any) -> None:
    run = run_journey("win_back", StepStub(cases={"still_away": 0}))
    assert run.stub.visited("send") == ["we_miss_you", "win_back_text"]
    assert run.stub.visited("update_profile") == ["tag_lapsed"]
    print(f"\nwin_back common path: {transitions(run)} transitions")
    assert transitions(run) == 9


def test_win_back_only_tags_a_customer_who_cannot_be_texted(run_journey: Any) -> None:
    run = run_journey("win_back", StepStub(cases={"still_away": -1}))
    assert run.stub.visited("send") == ["we_miss_you"]
    assert run.outcome == {"outcome": "completed"}


def test_monthly_picks_sends_its_one_email_and_completes(run_journey: Any) -> None:
    run = run_journey("monthly_picks")
    assert run.stub.visited("send") == ["picks"]
    assert run.outcome == {"outcome": "completed"}
    print(f"\nmonthly_picks common path: {transitions(run)} transitions")
    assert transitions(run) == 3
