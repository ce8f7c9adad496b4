"""The journey runtime on the local backend: a new subscriber enters the welcome series and is emailed once,
whatever Step Functions retries, a channel outage or an erasure request do meanwhile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.ses.models import ses_backends

from omnijourney.app import config
from omnijourney.channels import OutgoingMessage, SendFailed, use_adapter
from omnijourney.journeys.language import Journey
from omnijourney.platform import aws
from omnijourney.runtime import ledger as message_ledger
from omnijourney.runtime import runs as journey_runs
from omnijourney.runtime.ledger_records import LedgerRecord
from omnijourney.runtime.runs import JourneyRunRecord
from omnijourney_tools.local import ACCOUNT, REGION
from tests.conftest import RECEIVED_AT, delivery, signed
from tests.integration.conftest import Harness

EMAIL = "lena.fischer@example.com"


def subscribe(harness: Harness) -> None:
    """Lena signs up in the shop (Shopify customers/create, email marketing consent): she becomes a prospect."""
    status, _ = harness.deliver(signed(delivery("shopify", "customers_create")))
    assert status == 202
    harness.backend.clock.settle()


def load_journey(name: str) -> Journey:
    return config.journeys().journeys[name]


def ledger() -> list[LedgerRecord]:
    return sorted(message_ledger.every_entry(), key=lambda entry: entry.at)


def runs() -> list[JourneyRunRecord]:
    return list(journey_runs.every_run())


def emails_to(address: str) -> list[Any]:
    return [
        message
        for message in ses_backends[ACCOUNT][REGION].sent_messages
        if address in message.destinations["ToAddresses"]
    ]


class FlakyEmail:
    """An email provider that fails as scripted, then accepts."""

    def __init__(self, *failures: SendFailed) -> None:
        self.failures = list(failures)
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return f"flaky-{len(self.sent)}"


@pytest.fixture
def flaky_email() -> Iterator[Any]:
    def install(*failures: SendFailed) -> FlakyEmail:
        adapter = FlakyEmail(*failures)
        use_adapter("email", adapter)
        return adapter

    yield install
    use_adapter("email", None)


def test_a_new_subscriber_enters_the_welcome_series_and_is_emailed_once(harness: Harness) -> None:
    subscribe(harness)
    [run] = runs()
    assert (run.journey, run.outcome, run.waiting_step) == ("welcome_series", "running", "wait_for_first_look")
    [welcome] = ledger()
    assert (welcome.step, welcome.status, welcome.recipient) == ("welcome", "sent", EMAIL)
    [email] = emails_to(EMAIL)
    assert "Welcome" in email.subject


def test_a_retried_send_task_does_not_send_again(harness: Harness) -> None:
    subscribe(harness)
    [welcome] = ledger()
    execution, step, visit = welcome.message_key.split("#")
    [run] = runs()
    retry = {
        "action": "send",
        "journey": "welcome_series",
        "step": step,
        "execution": execution,
        "customer_id": run.customer_id,
        "entry": run.entry_data,
        "send": {"channel": "email", "template": "welcome_email", "category": "marketing", "promotes": "none"},
        "policy": {"journey": "welcome_series", "priority": 40},
        "visit": visit,
    }
    assert harness.backend.journey_step(retry)["outcome"] == "sent"
    assert len(ledger()) == 1
    assert len(emails_to(EMAIL)) == 1


def test_a_redelivered_signup_starts_no_second_run(harness: Harness) -> None:
    subscribe(harness)
    subscribe(harness)
    assert len(runs()) == 1
    assert len(emails_to(EMAIL)) == 1


def test_a_provider_outage_is_retried_and_the_email_goes_out_once(harness: Harness, flaky_email: Any) -> None:
    provider = flaky_email(SendFailed("throttled", retryable=True), SendFailed("throttled", retryable=True))
    subscribe(harness)
    assert provider.sent == []
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(minutes=1))  # the compiled Retry backs off 2 s, 4 s…
    assert [message.to for message in provider.sent] == [EMAIL]
    [welcome] = ledger()
    assert (welcome.status, welcome.provider_id) == ("sent", "flaky-1")


def test_a_rejected_address_is_recorded_and_the_journey_goes_on(harness: Harness, flaky_email: Any) -> None:
    flaky_email(SendFailed("invalid_address", retryable=False))
    subscribe(harness)
    [welcome] = ledger()
    assert (welcome.status, welcome.reason) == ("suppressed", "undeliverable_invalid_address")
    [run] = runs()
    assert (run.outcome, run.waiting_step) == ("running", "wait_for_first_look")


def test_an_erased_customer_leaves_the_journey_and_the_ledger_forgets_the_address(harness: Harness) -> None:
    subscribe(harness)
    [run] = runs()
    status, body = harness.erase(run.customer_id)
    assert status == 200, body
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(days=4))  # past the welcome series' 3-day wait
    [run] = runs()
    assert (run.outcome, run.reason, run.entry) == ("stopped", "customer_erased", "{}")
    [welcome] = ledger()
    assert (welcome.status, welcome.recipient) == ("sent", None)
    assert len(emails_to(EMAIL)) == 1
    assert harness.lookup(email=EMAIL)[0] == 404


def test_a_scheduled_journey_reaches_its_audience_once_a_month(harness: Harness) -> None:
    subscribe(harness)
    harness.backend.call_function("journey_schedule", {"journey": "monthly_picks"})
    harness.backend.clock.settle()
    harness.backend.status_changes()
    harness.backend.call_function("journey_schedule", {"journey": "monthly_picks"})  # a second firing that day
    picks = [run for run in runs() if run.journey == "monthly_picks"]
    assert [(run.outcome, run.entry_data["type"]) for run in picks] == [("completed", "schedule")]
    assert [entry.step for entry in ledger() if entry.journey == "monthly_picks"] == ["picks"]
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(days=28))
    harness.backend.call_function("journey_schedule", {"journey": "monthly_picks"})
    assert len([run for run in runs() if run.journey == "monthly_picks"]) == 2


def test_a_checkout_webhook_arriving_after_its_order_sends_no_cart_reminder(harness: Harness) -> None:
    for case in ("customers_create", "orders_create", "checkouts_create"):  # Shopify's delivery order is not guaranteed
        status, _ = harness.deliver(signed(delivery("shopify", case)))
        assert status == 202
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(days=3))
    harness.backend.status_changes()
    cart_messages = [entry for entry in ledger() if entry.journey == "abandoned_cart"]
    assert [(entry.status, entry.reason) for entry in cart_messages] == [("suppressed", "goal_reached")]
    assert [run.outcome for run in runs() if run.journey == "abandoned_cart"] == ["goal"]


def test_a_retried_offer_step_issues_the_offer_once(harness: Harness) -> None:
    subscribe(harness)
    status, _ = harness.deliver(signed(delivery("shopify", "checkouts_create")))
    assert status == 202
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=2))  # the cart email, with the spring offer
    [cart_email] = [entry for entry in ledger() if entry.step == "cart_email"]
    execution, step, visit = cart_email.message_key.split("#")
    [run] = [run for run in runs() if run.journey == "abandoned_cart"]
    journey = load_journey("abandoned_cart")
    retry = {
        "action": "send",
        "journey": "abandoned_cart",
        "step": step,
        "execution": execution,
        "customer_id": run.customer_id,
        "entry": run.entry_data,
        "send": journey.steps[1].send.model_dump(mode="json"),
        "policy": journey.policy.model_dump(mode="json"),
        "visit": visit,
    }
    assert harness.backend.journey_step(retry)["outcome"] == "sent"
    offers = harness.lookup(email=EMAIL)[1]["offers"]
    assert [(offer["offer"], offer["status"]) for offer in offers] == [("spring_shoes", "live")]
    assert json.loads(cart_email.offer or "{}")["code"] == offers[0]["code"]
    assert len([entry for entry in ledger() if entry.step == "cart_email"]) == 1


def test_a_journey_whose_start_failed_starts_when_the_event_is_retried(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    stepfunctions = aws.client("stepfunctions")
    start_execution = stepfunctions.start_execution
    attempts: list[str] = []

    def throttled_once(**request: Any) -> Any:
        attempts.append(request["name"])
        if len(attempts) == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution")
        return start_execution(**request)

    monkeypatch.setattr(stepfunctions, "start_execution", throttled_once)
    subscribe(harness)  # the queue hands the event to the profile function again after the failure
    assert len(attempts) == 2
    assert attempts[0] == attempts[1]
    [run] = runs()
    assert (run.outcome, run.waiting_step) == ("running", "wait_for_first_look")
    assert len(emails_to(EMAIL)) == 1


def test_a_send_task_in_the_shape_compiled_before_the_contract_is_still_performed(harness: Harness) -> None:
    """An execution started before a deploy sends today's Payload keys and an entry with every property and the
    ticket's subject: the step function still performs it, once."""
    subscribe(harness)
    [welcome] = ledger()
    execution, _, _ = welcome.message_key.split("#")
    [run] = runs()
    before = json.loads((Path(__file__).parent.parent / "payloads" / "task_payloads_before_contract.json").read_text())
    old_entry = run.entry_data | {"ticket_subject": None, "properties": {"note": "free text"}, "checkout_url": None}
    context = {
        "$$.Execution.Name": execution,
        "$.customer_id": run.customer_id,
        "$.entry": old_entry,
        "$$.State.EnteredTime": "2026-03-09T09:00:00.000Z",
    }
    payload = before["payloads"]["welcome_series/bestsellers"]
    task = {key.removesuffix(".$"): context[value] if key.endswith(".$") else value for key, value in payload.items()}
    assert harness.backend.journey_step(task)["outcome"] in ("sent", "suppressed", "deferred")
    assert harness.backend.journey_step(task) == harness.backend.journey_step(task)  # a retry decides the same
    branch = before["payloads"]["win_back/still_away"]
    task = {key.removesuffix(".$"): context[value] if key.endswith(".$") else value for key, value in branch.items()}
    assert harness.backend.journey_step(task) in ({"case": 0}, {"case": -1})
