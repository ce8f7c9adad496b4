"""A send the ledger never heard back about, as staff and the profile API see it, until SES's Send record confirms it;
and the local backend publishing that record as the deployed configuration set does (docs/operations.md, "Sends")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.ses.models import ses_backends

from omnijourney.channels.email import tag_value
from omnijourney.edge.sources.ses import SendReceipt, send_receipt
from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings
from omnijourney.profiles.view import UNCONFIRMED
from omnijourney.runtime import ledger_records
from omnijourney.runtime.ledger_records import LedgerStatus
from omnijourney_tools.chaos.backend import ChaosBackend
from omnijourney_tools.chaos.crashes import CrashPoint
from omnijourney_tools.chaos.faults import FaultPlan
from omnijourney_tools.chaos.outcome import EmailsAccepted
from omnijourney_tools.local import ACCOUNT, REGION
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import read
from tests.integration.conftest import Harness
from tests.integration.test_staff_api import staff

SHOES = read(Path(__file__).resolve().parents[2] / "scenarios" / "shoes.jsonl")
# The shoes story until Lena signs up (the welcome email goes out) and checks out.
UNTIL_CHECKOUT = SHOES[:7]
LENA_EMAIL = "lena.fischer@example.com"
WELCOME = {"channel": "email", "journey": "welcome_series", "step": "welcome", "template": "welcome_email"}


@contextmanager
def crashing_after_the_send() -> Iterator[ChaosBackend]:
    """The local backend whose journey-step function dies once, after SES took an email and before the ledger's
    `sent`: Step Functions retries the Task, which finds the entry `pending` and goes on."""
    plan, crash = FaultPlan(rate=0), (CrashPoint.between_send_and_ledger,)
    with ChaosBackend(plan, crash, stage="test", start=SHOES[0].at) as backend:
        yield backend


def welcome_sent(backend: ChaosBackend) -> str:
    """The shoes story until checkout: Lena signs up and her welcome email goes out, the function dying after SES took
    it. Her customer id."""
    Simulation(backend).run(UNTIL_CHECKOUT)
    assert backend.crashes.fired == [CrashPoint.between_send_and_ledger]
    return str(Harness(backend).lookup(email=LENA_EMAIL)[1]["customer_id"])


def pages(harness: Harness, customer_id: str) -> dict[str, dict[str, Any]]:
    """Lena's page as the staff API, the profile API and a lookup by her email answer it."""
    answers = {
        "staff": staff(harness, "GET", f"/staff/customers/{customer_id}"),
        "profile": harness.profile(customer_id),
        "lookup": harness.lookup(email=LENA_EMAIL),
    }
    assert {name: status for name, (status, _) in answers.items()} == dict.fromkeys(answers, 200)
    return {name: body for name, (_, body) in answers.items()}


def test_an_email_the_function_died_after_sending_is_listed_for_staff_until_ses_confirms_it() -> None:
    with crashing_after_the_send() as backend:
        harness = Harness(backend)
        with backend.send_records.held():  # SES publishes within seconds, not at once
            lena = welcome_sent(backend)
            [claimed] = [entry for entry in ledger_records.entries(lena) if entry.step == "welcome"]
            unconfirmed = pages(harness, lena)

        backend.drain()  # SES's Send record of the welcome email, through SNS and the events queue

        confirmed = pages(harness, lena)
        entry = ledger_records.get(lena, claimed.message_key)

    for page in unconfirmed.values():
        assert page["pending_messages"] == [WELCOME | {"at": claimed.at.isoformat(), "note": UNCONFIRMED}]
        assert LENA_EMAIL not in json.dumps(page["pending_messages"])  # her address is on the page once, as hers
    for page in confirmed.values():
        assert page["pending_messages"] == []
    assert entry.status == LedgerStatus.sent


def test_in_a_simulation_the_send_record_completes_the_entry_the_function_left_pending() -> None:
    """The whole shoes story with the function killed after SES took the welcome email: the email went out once, and
    its entry ends `sent` with SES's message id, which only SES's Send record carries back (the function died before
    it could write it, and the retried Task found the entry `pending` and sent nothing)."""
    emails = EmailsAccepted()
    crash = (CrashPoint.between_send_and_ledger,)
    with emails.install(), ChaosBackend(FaultPlan(rate=0), crash, stage="test", start=SHOES[0].at) as backend:
        Simulation(backend).run(SHOES)
        entries = list(ledger_records.every_entry())
        accepted = zip(emails.emails, ses_backends[ACCOUNT][REGION].sent_messages, strict=True)
        ses_ids = {email["message_key"]: message.id for email, message in accepted}

    assert backend.crashes.fired == [CrashPoint.between_send_and_ledger]
    [welcome] = [entry for entry in entries if entry.step == "welcome"]
    assert (welcome.status, welcome.provider_id) == (LedgerStatus.sent, ses_ids[tag_value(welcome.message_key)])
    assert welcome.text is None  # written by the Send record, not by the function
    assert [email["message_key"] for email in emails.emails].count(tag_value(welcome.message_key)) == 1
    assert [entry.message_key for entry in entries if entry.status == LedgerStatus.pending] == []


def send_welcome(**configuration_set: str) -> None:
    """An email as the email adapter sends it, tagged with its customer and ledger key."""
    aws.client("sesv2").send_email(
        FromEmailAddress="Trail Shop <shop@example.com>",
        Destination={"ToAddresses": [LENA_EMAIL]},
        Content={"Simple": {"Subject": {"Data": "Willkommen"}, "Body": {"Text": {"Data": "Hallo Lena"}}}},
        EmailTags=[{"Name": "customer_id", "Value": "cus_lena"}, {"Name": "message_key", "Value": "run_welcome_1"}],
        **configuration_set,
    )


def test_the_send_record_reaches_the_events_queue_as_ses_publishes_it(harness: Harness) -> None:
    send_welcome(ConfigurationSetName=str(get_settings().email_configuration_set))

    [message] = aws.client("sqs").receive_message(QueueUrl=harness.backend.queue_url)["Messages"]

    [ses_message] = ses_backends[ACCOUNT][REGION].sent_messages
    # What the profile function reads of it: SES accepted this message, for this customer's ledger entry.
    assert send_receipt(message["Body"].encode()) == SendReceipt("Send", ses_message.id, "cus_lena", "run_welcome_1")
    record = json.loads(json.loads(message["Body"])["Message"])  # in SNS's notification, as the queue receives it
    assert record["mail"]["destination"] == [LENA_EMAIL]
    assert record["mail"]["commonHeaders"]["subject"] == "Willkommen"
    assert record["mail"]["timestamp"] == "2026-03-04T10:30:00.000Z"  # the virtual clock's time


def test_an_email_sent_outside_the_configuration_set_publishes_no_record(harness: Harness) -> None:
    send_welcome()

    assert aws.client("sqs").receive_message(QueueUrl=harness.backend.queue_url).get("Messages", []) == []
