"""The outbound channels in a journey on the local backend (journeys/b2b_cart_to_sales.yaml): a business buyer's large
cart goes to the order desk as a signed webhook, once whatever Step Functions retries, and to their HubSpot owner as a
task, held while a support ticket is open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from omnijourney.channels import use_adapter
from omnijourney.channels.sales_task import SalesTaskAdapter
from omnijourney.channels.webhook import WebhookAdapter
from omnijourney.runtime import ledger_records
from omnijourney_tools.chaos.backend import SandboxTimedOut
from omnijourney_tools.local.hubspot import LocalHubSpot
from omnijourney_tools.local.webhook_receiver import WebhookReceiver, install, uninstall
from tests.conftest import RECEIVED_AT, delivery, sample, signed
from tests.integration.conftest import Harness

AT = RECEIVED_AT.isoformat().replace("+00:00", "Z")
# HubSpot's contact 5101 is Lena, owned by rep 83712, an opportunity in the sales pipeline.
OPPORTUNITY = {**sample("hubspot", "contact_property_change")[0], "eventId": 1099}
OPPORTUNITY |= {"propertyName": "lifecyclestage", "propertyValue": "opportunity"}


@pytest.fixture
def outbound(harness: Harness) -> Iterator[tuple[WebhookReceiver, LocalHubSpot]]:
    receiver = WebhookReceiver()
    with LocalHubSpot() as hubspot:
        install(receiver, hubspot)
        yield receiver, hubspot
        uninstall()


def post(harness: Harness, source: str, case: str, body: Any = None) -> None:
    raw = json.dumps(body).encode() if body is not None else None
    # Signed when it is sent, as the vendor signs it: the journeys' clock moves between posts.
    assert harness.deliver(signed(delivery(source, case, body=raw), at=harness.backend.clock.now()))[0] == 202


def a_known_buyer(harness: Harness) -> None:
    """Lena: a HubSpot contact (email, phone, owner, stage), identified in the app with the same email."""
    post(harness, "hubspot", "contact_creation")
    post(harness, "hubspot", "contact_property_change", [*sample("hubspot", "contact_property_change"), OPPORTUNITY])
    post(harness, "segment", "identify_app")


def leaves_a_large_cart(harness: Harness) -> None:
    """Five pairs of trail runners (649.75 EUR) left at checkout."""
    checkout = sample("segment", "checkout_started")
    products = [checkout["properties"]["products"][0] | {"quantity": 5}]
    properties = checkout["properties"] | {"products": products, "value": 649.75}
    post(harness, "segment", "checkout_started", checkout | {"properties": properties, "timestamp": AT, "sentAt": AT})


def outcomes() -> dict[str, tuple[str, str | None]]:
    return {
        entry.step: (entry.status, entry.reason)
        for entry in ledger_records.every_entry()
        if entry.journey == "b2b_cart_to_sales"
    }


def test_a_target_answering_500_twice_then_200_gets_the_cart_once_signed_and_the_owner_a_task(
    harness: Harness, outbound: tuple[WebhookReceiver, LocalHubSpot]
) -> None:
    receiver, hubspot = outbound
    receiver.answers = [500, 500]
    a_known_buyer(harness)
    leaves_a_large_cart(harness)

    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))

    assert receiver.attempts == 3
    [cart] = receiver.deliveries
    assert cart.target == "order_desk"
    assert cart.payload == {
        "type": "b2b_cart_left",
        "customer_id": next(iter(harness.live_profiles())).customer_id,
        "contact": {"first_name": "Lena", "last_name": "Fischer", "email": "lena.fischer@example.com"},
        "cart": {"items": "5× Trail Runner 42", "total": "649.75"},
        "shop": "omnijourney shop",
    }
    [task] = hubspot.tasks
    assert task.properties["hubspot_owner_id"] == "83712"
    assert task.properties["hs_task_subject"] == "Call Lena Fischer about their cart of €649.75"
    assert task.associations == {"contacts": ["5101"]}
    assert outcomes() == {"quote_for_the_order_desk": ("sent", None), "task_for_the_owner": ("sent", None)}


class AnswerLost:
    """The target takes the delivery but its answer never arrives, `times` times: the adapter sees a timeout."""

    def __init__(self, receiver: WebhookReceiver, times: int) -> None:
        self.receiver, self.times = receiver, times

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        status = self.receiver.post(url, body, headers, timeout)
        if self.times:
            self.times -= 1
            raise TimeoutError
        return status


def test_a_step_retried_after_timeouts_delivers_the_webhook_once_under_one_id(
    harness: Harness, outbound: tuple[WebhookReceiver, LocalHubSpot]
) -> None:
    receiver, _ = outbound
    # Every attempt of the first Task times out (3 within it); Step Functions retries the Task, which gets through.
    use_adapter("webhook", WebhookAdapter(post=AnswerLost(receiver, times=3).post, sleep=lambda _: None))
    a_known_buyer(harness)
    leaves_a_large_cart(harness)

    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))

    assert receiver.attempts == 4
    [cart] = receiver.deliveries
    [entry] = [entry for entry in ledger_records.every_entry() if entry.step == "quote_for_the_order_desk"]
    assert (cart.webhook_id, entry.status) == (entry.message_key, "sent")


def test_no_sales_task_while_a_ticket_is_open_and_one_once_it_is_solved(
    harness: Harness, outbound: tuple[WebhookReceiver, LocalHubSpot]
) -> None:
    receiver, hubspot = outbound
    a_known_buyer(harness)
    post(harness, "zendesk", "ticket_created")
    leaves_a_large_cart(harness)

    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))
    assert (hubspot.tasks, receiver.deliveries) == ([], [])
    assert outcomes() == {"quote_for_the_order_desk": ("deferred", "open_ticket")}

    post(harness, "zendesk", "ticket_solved")
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=12))
    assert len(hubspot.tasks) == 1
    assert [delivery.target for delivery in receiver.deliveries] == ["order_desk"]


def test_the_local_receiver_refuses_a_delivery_whose_signature_is_forged(
    outbound: tuple[WebhookReceiver, LocalHubSpot],
) -> None:
    receiver, _ = outbound
    body = b'{"type":"b2b_cart_left"}'
    now = str(int(datetime.now(UTC).timestamp()))
    forged = Webhook("whsec_" + "Zm9yZ2VkLXNlY3JldA==").sign("msg_1", datetime.now(UTC), body.decode())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": now, "webhook-signature": forged}
    assert receiver.receive("https://orders.example.com/hooks/omnijourney", body, headers) == 401
    assert receiver.deliveries == []


class TaskTakenAnswerLost:
    """HubSpot creates the task, then its answer is lost (a read timeout, a dropped connection, a 504 at its edge)."""

    def __init__(self, hubspot: LocalHubSpot, lost: type[OSError] | int) -> None:
        self.hubspot, self.lost, self.posts = hubspot, lost, 0

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        self.posts += 1
        self.hubspot.answer("POST", url, headers, body)
        if isinstance(self.lost, int):
            return self.lost
        raise self.lost


@pytest.mark.parametrize("lost", [TimeoutError, ConnectionResetError, 504])
def test_a_sales_task_hubspot_took_without_answering_is_created_once_and_listed_as_unconfirmed(
    harness: Harness, outbound: tuple[WebhookReceiver, LocalHubSpot], lost: type[OSError] | int
) -> None:
    _, hubspot = outbound
    taken = TaskTakenAnswerLost(hubspot, lost)
    use_adapter("sales_task", SalesTaskAdapter(post=taken.post, sleep=lambda _: None))
    a_known_buyer(harness)
    leaves_a_large_cart(harness)

    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))

    assert (taken.posts, len(hubspot.tasks)) == (1, 1)
    assert outcomes()["task_for_the_owner"] == ("pending", None)
    [unconfirmed] = [entry for entry in ledger_records.every_entry() if entry.step == "task_for_the_owner"]
    assert unconfirmed.status == ledger_records.LedgerStatus.pending  # listed on the profile as not confirmed


def test_a_sales_task_for_a_contact_merged_away_in_hubspot_goes_to_the_contact_that_remains(
    harness: Harness, outbound: tuple[WebhookReceiver, LocalHubSpot]
) -> None:
    _, hubspot = outbound
    a_known_buyer(harness)
    # A newer duplicate of Lena in HubSpot (5999) reached the profile, then the rep merged it into 5101.
    duplicate = {**sample("hubspot", "contact_property_change")[0], "eventId": 1100, "objectId": 5999}
    post(harness, "hubspot", "contact_property_change", [duplicate])
    hubspot.merge("5101", "5999")
    leaves_a_large_cart(harness)

    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))

    [task] = hubspot.tasks
    assert task.associations == {"contacts": ["5101"]}
    assert outcomes()["task_for_the_owner"] == ("sent", None)


def test_a_webhook_whose_function_died_mid_send_is_sent_by_the_retried_step_once(
    harness: Harness, outbound: tuple[WebhookReceiver, LocalHubSpot]
) -> None:
    receiver, _ = outbound

    class DiesOnce:
        died = False

        def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
            if not self.died:
                self.died = True
                raise SandboxTimedOut("killed while calling the target")
            return receiver.post(url, body, headers, timeout)

    use_adapter("webhook", WebhookAdapter(post=DiesOnce().post, sleep=lambda _: None))
    a_known_buyer(harness)
    leaves_a_large_cart(harness)

    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))

    [cart] = receiver.deliveries
    [entry] = [entry for entry in ledger_records.every_entry() if entry.step == "quote_for_the_order_desk"]
    assert (cart.webhook_id, entry.status, receiver.attempts) == (entry.message_key, "sent", 1)
