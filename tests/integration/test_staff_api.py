"""The staff API behind the deployed customer screen: one search (phone, email, loyalty id or name, sent as a body),
the customer's page, and a next best action marked done; nothing that erases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omnijourney.platform import aws
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
        ({"first_name": "Maria"}, "last_name"),
        ({"last_name": "Schmidt"}, "first_name"),
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
    assert (page["first_name"], page["last_name"]) == ("Maria", "Schmidt")  # a shared link shows whose page it is
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


def signed_in_as(event: dict[str, Any], subject: str) -> dict[str, Any]:
    """`event` as API Gateway hands it on after its JWT authorizer took a staff member's access token."""
    claims = {"sub": subject, "client_id": "staff-screen", "token_use": "access", "scope": "openid"}
    event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": ["openid"]}}
    return event


def test_a_done_action_records_which_member_of_staff_did_it_by_their_opaque_id(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    note = Note(channel="in_store", text="Offer the care kit", journey="post_purchase", at=RECEIVED_AT)
    service.amend(maria, lambda profile: with_note(profile, note))
    done = http_event("POST", f"/staff/customers/{maria}/actions/{note.action_id}/done")

    status, _ = harness.backend.call_http("staff_api", signed_in_as(done, "9f1c-clerk-7"))

    assert status == 202
    [queued] = aws.client("sqs").receive_message(QueueUrl=harness.backend.queue_url)["Messages"]
    properties = json.loads(queued["Body"])["properties"]
    assert properties == {"action": note.action_id, "journey": "post_purchase", "staff": "9f1c-clerk-7"}


def answers(harness: Harness, customer_id: str, action_id: str) -> list[dict[str, Any]]:
    """One staff API answer of each kind: found, refused, unknown, queued."""
    search = {"content-type": "application/json"}
    asked = [
        http_event("POST", "/staff/search", headers=search, body=b'{"email": "maria.schmidt@example.com"}'),
        http_event("POST", "/staff/search", headers=search, body=b'{"phone": "not a phone"}'),
        http_event("POST", "/staff/search", headers={"content-type": "text/plain"}, body=b"phone=+4915112345678"),
        http_event("POST", "/staff/search", headers=search, body=b"{not json"),
        http_event("GET", f"/staff/customers/{customer_id}"),
        http_event("GET", "/staff/customers/cus_nobody"),
        http_event("POST", f"/staff/customers/{customer_id}/actions/{action_id}/done"),
        http_event("GET", "/staff/nothing-here"),
    ]
    return [harness.backend.call_function("staff_api", event) for event in asked]


def test_no_staff_api_answer_may_be_kept_by_a_cache(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    note = Note(channel="in_store", text="Offer the care kit", journey="post_purchase", at=RECEIVED_AT)
    service.amend(maria, lambda profile: with_note(profile, note))

    answered = answers(harness, maria, note.action_id)

    assert sorted({answer["statusCode"] for answer in answered}) == [200, 202, 400, 404, 415]
    for answer in answered:
        assert answer["headers"]["Cache-Control"] == "no-store", answer
