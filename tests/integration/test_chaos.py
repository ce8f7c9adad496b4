"""Chaos over the scenario corpus: shipped scenarios played under injected AWS faults and crashes end as they do
without them (docs/operations.md, "Faults"); the one named window, a send accepted and then timed out, is shown
apart."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from omnijourney_tools.chaos.crashes import CrashPoint
from omnijourney_tools.chaos.faults import FaultKind, FaultPlan
from omnijourney_tools.chaos.outcome import Outcome
from omnijourney_tools.chaos.run import play_under
from omnijourney_tools.simulation.scenario import parse_lines, read

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
EVENTS = Path(__file__).resolve().parents[2] / "events"
SEEDS = (1, 2)
# Merges, journeys with waits and a ticket (shoes), one offer on every channel, an erasure.
CORPUS = ("shoes", "one_offer_every_channel", "erased_customer_gets_nothing")
WELCOME = "welcome_series-5dbfdeba9fbc5da1a792-26a21ea7f03863bc"


def fault_free(scenario: str) -> Outcome:
    return play_under(read(SCENARIOS / f"{scenario}.jsonl"), FaultPlan(rate=0)).outcome


@pytest.mark.parametrize("scenario", CORPUS)
def test_a_scenario_under_ten_percent_faults_ends_as_it_does_without(scenario: str) -> None:
    lines = read(SCENARIOS / f"{scenario}.jsonl")
    expected = play_under(lines, FaultPlan(rate=0)).outcome
    runs = [play_under(lines, FaultPlan(rate=0.1, seed=seed)) for seed in SEEDS]

    # The faults reached the functions (past the SDK's own retries), and every one was recovered.
    assert sum(run.escaped.total() for run in runs) > 0
    for run in runs:
        assert run.outcome.differences(expected) == []
        assert run.outcome.dead_letters == []
        assert run.unrecovered == Counter()


def test_a_crash_after_a_merge_transaction_is_delivered_again_and_ends_as_without() -> None:
    run = play_under(
        read(SCENARIOS / "web_cart_found_in_store.jsonl"), FaultPlan(rate=0), (CrashPoint.after_merge_transaction,)
    )

    assert run.crashed == [CrashPoint.after_merge_transaction]
    assert run.recoveries == Counter({"SQS redelivery": 1})
    assert run.outcome.differences(fault_free("web_cart_found_in_store")) == []


def test_a_crash_mid_batch_receives_the_whole_batch_again_and_records_each_event_once() -> None:
    # Segment's batch call: three events on the queue, received as one batch.
    lines = parse_lines(
        '{"at": "2026-03-05T07:58:30Z", "source": "segment", "file": "segment/batch.json"}\n'
        '{"at": "2026-03-05T09:00:00Z"}\n',
        base=EVENTS,
    )
    expected = play_under(lines, FaultPlan(rate=0)).outcome

    run = play_under(lines, FaultPlan(rate=0), (CrashPoint.profile_mid_batch,))

    assert run.crashed == [CrashPoint.profile_mid_batch]
    assert run.failures["SQS redelivery"] == 3  # the batch: the record applied, and the two never reached
    assert run.outcome.differences(expected) == []
    assert sum(len(events) for events in run.outcome.events.values()) == 3


def test_a_crash_between_the_send_and_the_ledger_sends_once_and_the_send_record_confirms_it() -> None:
    """The named window, shrunk (docs/operations.md, "Sends"): the retried Task finds the entry `pending` and counts
    it as sent, so the journey goes on and nothing is sent twice; SES's Send record, which carries the ledger key as a
    tag, then confirms the entry (tests/integration/test_pending_messages.py checks the provider's id on it)."""
    run = play_under(read(SCENARIOS / "shoes.jsonl"), FaultPlan(rate=0), (CrashPoint.between_send_and_ledger,))

    assert run.crashed == [CrashPoint.between_send_and_ledger]
    assert run.recoveries == Counter({"Step Functions Retry": 1})
    assert run.outcome.differences(fault_free("shoes")) == []
    assert run.outcome.pending == []


def test_an_email_accepted_and_then_timed_out_is_confirmed_by_its_send_record_and_sent_once() -> None:
    """The named window from the other side: SES took the email and the answer never came. The adapter calls that
    a retryable timeout and the entry is left to `retry`; SES's Send record confirms it before Step Functions retries
    the Task, which then sends nothing. On AWS the record and the retry race: when the retry wins, SES (which takes
    no idempotency key) sends the email again — the one way a message is doubled (docs/operations.md, "Sends")."""
    plan = FaultPlan(rate=1.0, kinds=(FaultKind.read_timeout,), calls=("sesv2.SendEmail",), limit=1)

    run = play_under(read(SCENARIOS / "shoes.jsonl"), plan)

    welcome = [message for message in run.outcome.accepted.elements() if message[1] == f"{WELCOME}#welcome"]
    assert len(welcome) == 1
    assert run.outcome.differences(fault_free("shoes")) == []
