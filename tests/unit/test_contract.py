"""The contract between the compiler and the journey-step function: what the compiler emits is what the models
accept, payloads of executions started before still validate, and the entry carries no free text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnijourney.app import config
from omnijourney.edge.sources import get_source
from omnijourney.journeys.compiler import compile_journey
from omnijourney.journeys.contract import TASK, Entry, EntryKeeps, SendTask, UnreadablePayload, entry_keeps, entry_of
from omnijourney.runtime.rendering import ticket_subject
from omnijourney.runtime.steps import perform
from tests.conftest import delivery, lena

BEFORE = Path(__file__).parent.parent / "payloads" / "task_payloads_before_contract.json"
# An entry as journeys built it before it was trimmed for privacy: the ticket's subject and every property.
OLD_ENTRY = {
    "event_id": "zendesk:48213:2026-03-04T10:00:00Z:solved:ab12",
    "type": "ticket_solved",
    "name": "Ticket Solved",
    "channel": "support",
    "source": "zendesk",
    "at": "2026-03-04T10:00:00+00:00",
    "cart_skus": [],
    "cart_items": 0,
    "cart_value": 0.0,
    "order_skus": [],
    "order_total": None,
    "order_state": None,
    "currency": None,
    "checkout_url": None,
    "ticket_subject": "Wrong size delivered",
    "properties": {"comment": "free text the customer wrote", "priority": "normal"},
}
CONTEXT = {
    "$$.Execution.Name": "support_follow_up-0123-abcdef",
    "$.customer_id": "cus_0123",
    "$.entry": OLD_ENTRY,
    "$$.State.EnteredTime": "2026-03-04T10:00:01.000Z",
    "$$.Task.Token": "token-1",
    "$.error": {"Error": "States.TaskFailed", "Cause": "boom"},
}


def resolved(payload: dict[str, Any]) -> dict[str, Any]:
    """The Payload as Step Functions hands it to the function: each `<key>.$` path replaced by its value."""
    return {key.removesuffix(".$"): CONTEXT[value] if key.endswith(".$") else value for key, value in payload.items()}


def compiled_payloads() -> list[tuple[str, dict[str, Any]]]:
    payloads = []
    for name, journey in config.journeys().journeys.items():
        for state_name, state in compile_journey(journey)["States"].items():
            if state["Type"] == "Task":
                payloads.append((f"{name}/{state_name}", state["Parameters"]["Payload"]))
    return payloads


@pytest.mark.parametrize(("state", "payload"), compiled_payloads())
def test_every_compiled_task_payload_is_what_the_contract_accepts(state: str, payload: dict[str, Any]) -> None:
    task = TASK.validate_python(resolved(payload))
    assert task.action == payload["action"]
    # Every key the compiler wrote is a field the model read: nothing is silently dropped.
    assert set(resolved(payload)) == set(task.model_fields_set) | {"action"}


def test_task_payloads_compiled_before_the_contract_still_validate() -> None:
    before = json.loads(BEFORE.read_text())["payloads"]
    assert set(before) <= set(dict(compiled_payloads()))
    for payload in before.values():
        task = TASK.validate_python(resolved(payload))
        # The old entry is accepted: its subject read in memory, never written again.
        assert task.entry.ticket_subject == "Wrong size delivered"
        assert "ticket_subject" not in task.entry.model_dump_json()


def test_the_compiler_writes_todays_payloads_unchanged() -> None:
    """Executions started before a deploy and after it run on the same keys (journeys shipped since are new)."""
    before = json.loads(BEFORE.read_text())["payloads"]
    today = dict(compiled_payloads())
    assert {state: today[state] for state in before} == before


def test_a_send_task_in_todays_exact_shape_reads_its_send_and_policy() -> None:
    before = json.loads(BEFORE.read_text())["payloads"]
    task = TASK.validate_python(resolved(before["support_follow_up/satisfaction_check"]))
    assert isinstance(task, SendTask)
    assert (task.send.template, task.policy.journey, task.visit) == (
        "support_follow_up_email",
        "support_follow_up",
        "2026-03-04T10:00:01.000Z",
    )


def test_an_sms_entry_keeps_no_text_of_the_message() -> None:
    (event,) = get_source("twilio").parse(delivery("twilio", "inbound_message"))
    body = event.properties["body"]
    assert isinstance(body, str)
    assert len(body) > 10
    entry = entry_of(event, lena(), EntryKeeps())
    assert entry.properties == {}
    assert body not in entry.model_dump_json()


def test_a_ticket_entry_carries_the_ticket_id_and_not_its_subject() -> None:
    (event,) = get_source("zendesk").parse(delivery("zendesk", "ticket_solved"))
    assert event.ticket is not None
    assert event.ticket.subject
    entry = entry_of(event, lena(), EntryKeeps())
    assert entry.ticket_id == event.ticket.ticket_id
    assert event.ticket.subject not in entry.model_dump_json()


def test_the_follow_up_finds_the_solved_tickets_subject_on_the_profile() -> None:
    profile = lena(("zendesk", "ticket_created"), ("zendesk", "ticket_solved"))
    (event,) = get_source("zendesk").parse(delivery("zendesk", "ticket_solved"))
    assert event.ticket is not None
    assert ticket_subject(profile, entry_of(event, profile, EntryKeeps())) == event.ticket.subject


def test_an_entry_from_before_renders_its_own_subject_when_the_profile_has_none() -> None:
    assert ticket_subject(lena(), Entry.model_validate(OLD_ENTRY)) == "Wrong size delivered"


def test_a_journey_keeps_the_checkout_url_only_when_a_template_shows_it() -> None:
    shipped = config.journeys()
    keeps = {name: entry_keeps(journey, shipped.templates) for name, journey in shipped.journeys.items()}
    assert keeps["abandoned_cart"] == EntryKeeps(checkout_url=True)
    assert keeps["welcome_series"] == EntryKeeps()


def test_a_journey_keeps_only_the_properties_its_conditions_name() -> None:
    journey = config.journeys().journeys["abandoned_cart"]
    where = journey.entry.model_copy(update={"where": {"properties.coupon": {"equals": "X"}}})
    keeps = entry_keeps(journey.model_copy(update={"entry": where}), config.journeys().templates)
    assert keeps.properties == frozenset({"coupon"})


def test_an_entry_from_before_with_a_checkout_url_of_any_json_still_reads_as_its_text() -> None:
    """Entries used to copy the event's property as it came: an object must not stop the run's every later step."""
    url = {"href": "https://shop.example.com/checkouts/c1"}
    entry = Entry.model_validate(OLD_ENTRY | {"checkout_url": url})
    assert entry.checkout_url == str(url)


def test_a_payload_the_contract_refuses_is_reported_without_its_values() -> None:
    """The error reaches CloudWatch and the execution's history, which cannot be erased."""
    [(_, payload)] = [item for item in compiled_payloads() if item[0] == "support_follow_up/satisfaction_check"]
    broken = resolved(payload) | {"entry": {key: value for key, value in OLD_ENTRY.items() if key != "at"}}
    with pytest.raises(UnreadablePayload) as refused:
        perform(broken)
    assert "entry.at: missing" in str(refused.value)
    assert "Wrong size" not in str(refused.value)
    assert "free text" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
