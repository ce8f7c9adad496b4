"""The counter's two additions to the profile API: a lookup by name that links nobody, and a next best action marked
done, which reaches the profile as an event through the queue and the profile function."""

from __future__ import annotations

import json
from datetime import timedelta

from omnijourney.profiles import service, store
from omnijourney.profiles.model import Note, with_note
from omnijourney_tools.local import http_event
from tests.conftest import RECEIVED_AT, delivery, sample, signed
from tests.integration.conftest import Harness


def sign_up(harness: Harness, shopify_id: int, email: str, first_name: str, last_name: str) -> str:
    customer = sample("shopify", "customers_create") | {"id": shopify_id, "email": email}
    customer |= {"first_name": first_name, "last_name": last_name, "default_address": None, "addresses": []}
    body = json.dumps(customer).encode()
    status, answer = harness.deliver(signed(delivery("shopify", "customers_create", body=body)))
    assert status < 300, answer
    status, found = harness.lookup(email=email)
    assert status == 200, found
    return str(found["customer_id"])


def by_name(harness: Harness, first_name: str, last_name: str) -> list[str]:
    query = {"first_name": first_name, "last_name": last_name}
    status, body = harness.backend.call_http("profile_api", http_event("GET", "/profiles/by-name", query=query))
    assert status == 200, body
    return [customer["customer_id"] for customer in body["customers"]]


def test_namesakes_are_listed_apart_and_never_merged(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    other_maria = sign_up(harness, 7390000000002, "m.schmidt@example.org", "María", "SCHMIDT")

    assert maria != other_maria
    assert sorted(by_name(harness, "maria", "schmidt")) == sorted([maria, other_maria])
    assert len(harness.live_profiles()) == 2


def test_erasure_takes_the_customer_out_of_the_name_index(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    other_maria = sign_up(harness, 7390000000002, "m.schmidt@example.org", "Maria", "Schmidt")

    status, _ = harness.erase(maria)

    assert status == 200
    assert by_name(harness, "Maria", "Schmidt") == [other_maria]
    index = [entry.customer_id for entry in store.ProfileRecord.by_name.query(store.name_key("Maria", "Schmidt"))]
    assert index == [other_maria]


def test_an_action_marked_done_reaches_the_profile_and_leaves_the_list(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    for text in ("Offer the care kit", "Ask how the shoes fit"):
        note = Note(channel="in_store", text=text, journey="post_purchase", at=RECEIVED_AT + timedelta(hours=1))
        service.amend(maria, lambda profile, note=note: with_note(profile, note))
    _, before = harness.profile(maria)
    care_kit = next(action for action in before["next_best_actions"] if action["text"] == "Offer the care kit")

    path = f"/profiles/{maria}/actions/{care_kit['action_id']}/done"
    status, queued = harness.backend.call_http("profile_api", http_event("POST", path))
    harness.backend.drain()

    assert status == 202, queued
    _, after = harness.profile(maria)
    assert [action["text"] for action in after["next_best_actions"]] == ["Ask how the shoes fit"]
    assert after["recent_activity"][0]["type"] == "next_best_action_done"
    assert harness.backend.dead_letters() == []


def test_done_for_an_unknown_customer_is_not_found_and_queues_nothing(harness: Harness) -> None:
    sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")

    status, body = harness.backend.call_http("profile_api", http_event("POST", "/profiles/cus_nobody/actions/a1/done"))

    assert status == 404, body
    assert harness.backend.drain() == 0


def test_done_twice_answers_the_same_event_and_queues_nothing_the_second_time(harness: Harness) -> None:
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    note = Note(channel="in_store", text="Offer the care kit", journey="post_purchase", at=RECEIVED_AT)
    service.amend(maria, lambda profile: with_note(profile, note))
    path = f"/profiles/{maria}/actions/{note.action_id}/done"
    first_status, first = harness.backend.call_http("profile_api", http_event("POST", path))
    harness.backend.drain()

    again_status, again = harness.backend.call_http("profile_api", http_event("POST", path))

    assert (first_status, again_status) == (202, 202), again
    assert again["event_id"] == first["event_id"]
    assert harness.backend.drain() == 0
    assert harness.profile(maria)[1]["next_best_actions"] == []


def test_a_customer_with_a_very_long_name_is_saved_and_found_by_email_and_by_name(harness: Harness) -> None:
    # Past DynamoDB's 2048 bytes for an index key, had the index keyed the name itself.
    long_first_name = "Maximiliana" * 200

    customer_id = sign_up(harness, 7390000000009, "long.name@example.com", long_first_name, "Schmidt")

    assert by_name(harness, long_first_name, "schmidt") == [customer_id]
    assert harness.backend.dead_letters() == []
