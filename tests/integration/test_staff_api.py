"""The staff API behind the deployed customer screen: one search (phone, email, loyalty id or name, sent as a body),
the customer's page, and a next best action marked done; nothing that erases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omnijourney.profiles import service
from omnijourney.profiles.model import Note, with_note
from omnijourney_tools.local import http_event
from tests.conftest import RECEIVED_AT
from tests.integration.conftest import Harness
from tests.integration.test_customer_counter import sign_up


def staff(harness: Harness, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"content-type": "application/json"} if body is not None else {}
    return harness.backend.call_http("staff_api", http_event(method, path, headers=headers, body=raw))


def found(harness: Harness, **wanted: str) -> list[str]:
    status, body = staff(harness, "POST", "/staff/search", wanted)
    assert status == 200, body
    return [customer["customer_id"] for customer in body["customers"]]


def test_staff_find_a_customer_by_phone_in_any_spelling_email_or_name(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    other_maria = sign_up(harness, 7390000000002, "m.schmidt@example.org", "Maria", "Schmidt")

    assert found(harness, email="Maria.Schmidt@example.com") == [maria]
    assert sorted(found(harness, first_name="maria", last_name="SCHMIDT")) == sorted([maria, other_maria])
    assert found(harness, email="nobody@example.com") == []


@pytest.mark.parametrize(
    ("wanted", "field"),
    [
        ({}, "body"),
        ({"phone": "+4915112345678", "email": "maria.schmidt@example.com"}, "body"),
        ({"phone": "not a phone"}, "phone"),
        ({"first_name": "Maria"}, "query"),
        ({"nickname": "Mia"}, "body.nickname"),
    ],
)
def test_a_search_staff_could_not_mean_is_refused_naming_the_field(
    harness: Harness, wanted: dict[str, str], field: str
) -> None:
    sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")

    status, body = staff(harness, "POST", "/staff/search", wanted)

    assert status == 400, body
    assert body["field"] == field
    assert "not a phone" not in body["detail"]  # the reason is said, never the value


def test_the_customer_page_and_a_done_action_reach_the_profile(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    note = Note(channel="in_store", text="Offer the care kit", journey="post_purchase", at=RECEIVED_AT)
    service.amend(maria, lambda profile: with_note(profile, note))

    status, page = staff(harness, "GET", f"/staff/customers/{maria}")
    assert status == 200, page
    assert [action["text"] for action in page["next_best_actions"]] == ["Offer the care kit"]

    status, queued = staff(harness, "POST", f"/staff/customers/{maria}/actions/{note.action_id}/done")
    harness.backend.drain()

    assert status == 202, queued
    assert staff(harness, "GET", f"/staff/customers/{maria}")[1]["next_best_actions"] == []


def test_staff_cannot_erase_a_customer(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")

    status, _ = staff(harness, "DELETE", f"/staff/customers/{maria}")

    assert status in (404, 405)
    assert harness.profile(maria)[0] == 200
