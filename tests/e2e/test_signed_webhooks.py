"""Vendor webhooks signed exactly as Shopify, Twilio and Zendesk sign them, then looked up as a store POS would.

The signatures are computed here from the vendors' documented schemes (Twilio's by the `twilio` package's own
RequestValidator), not by the project's sources. Journeys run in real time, so Zendesk's timestamp is the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from twilio.request_validator import RequestValidator

from omnijourney_tools.local import LOCAL_SECRETS
from tests.conftest import sample
from tests.e2e.conftest import Served, Servers


@pytest.fixture(scope="module")
def server(servers: Servers) -> Served:
    return servers.at(1)


def new_customer() -> dict[str, str]:
    """Identifiers no other test uses: the tests share one server."""
    tag = uuid.uuid4().hex[:10]
    return {
        "email": f"walk-in-{tag}@example.com",
        "phone": f"+49151{random.randrange(10**7, 10**8)}",
        "shopify_id": str(random.randrange(10**12, 10**13)),
        "ticket": str(random.randrange(10**5, 10**6)),
    }


def pos_order(customer: dict[str, str]) -> dict[str, Any]:
    order: dict[str, Any] = sample("shopify", "orders_create_pos")
    order.update(id=int(customer["shopify_id"]) + 1, email=customer["email"])
    order["customer"].update(id=int(customer["shopify_id"]), email=customer["email"], phone=customer["phone"])
    return order


def shopify_headers(topic: str, body: bytes) -> dict[str, str]:
    """What Shopify sends with a webhook: the topic, a delivery id and its signature of the body."""
    signature = base64.b64encode(hmac.new(LOCAL_SECRETS["shopify"].encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


def shopify_post(server: Served, topic: str, payload: dict[str, Any]) -> requests.Response:
    body = json.dumps(payload).encode()
    headers = shopify_headers(topic, body)
    return requests.post(f"{server.url}/webhooks/shopify", data=body, headers=headers, timeout=30)


def test_a_pos_order_signed_as_shopify_signs_it_is_on_the_profile_and_thanked(server: Served) -> None:
    customer = new_customer()
    answer = shopify_post(server, "orders/create", pos_order(customer))
    assert answer.status_code == 202, answer.text
    assert answer.json()["event_ids"] == [f"shopify:orders/create:{int(customer['shopify_id']) + 1}"]

    # The store's POS looks the customer up by the phone number they give, spelled as they say it.
    spoken = f"0{customer['phone'][3:6]} {customer['phone'][6:]}"
    profile = server.profile(phone=spoken)
    assert profile["identifiers"]["email"] == [customer["email"]]
    assert [(order["channel"], order["total"]) for order in profile["orders"]] == [("pos", 129.95)]

    thanks = server.wait_for_message(lambda message: message["to"] == customer["email"])
    assert (thanks["journey"], thanks["template"], thanks["status"]) == ("post_purchase", "thank_you_email", "sent")


def test_a_shopify_order_resent_with_a_new_webhook_id_is_counted_once(server: Served) -> None:
    customer = new_customer()
    order = pos_order(customer)
    first, resent = shopify_post(server, "orders/create", order), shopify_post(server, "orders/create", order)
    assert first.status_code == resent.status_code == 202
    assert first.json()["event_ids"] == resent.json()["event_ids"]
    assert len(server.profile(email=customer["email"])["orders"]) == 1


def test_a_stop_reply_signed_by_twilios_validator_unsubscribes_the_number_from_sms(server: Served) -> None:
    customer = new_customer()
    shopify_post(server, "orders/create", pos_order(customer))
    form: dict[str, str] = sample("twilio", "inbound_stop")
    form.update(From=customer["phone"], MessageSid=f"SM{uuid.uuid4().hex}")
    url = f"{server.url}/webhooks/twilio"
    signature = RequestValidator(LOCAL_SECRETS["twilio"]).compute_signature(url, form)

    answer = requests.post(url, data=urlencode(form), headers={"X-Twilio-Signature": signature}, timeout=30)

    assert answer.status_code == 202, answer.text
    assert server.profile(phone=customer["phone"])["consent"]["sms"] == "unsubscribed"


def test_a_zendesk_ticket_signed_with_the_current_time_is_open_on_the_profile(server: Served) -> None:
    customer = new_customer()
    ticket: dict[str, Any] = sample("zendesk", "ticket_created")
    ticket["ticket"]["id"] = customer["ticket"]
    ticket["requester"].update(email=customer["email"], phone=customer["phone"], external_id=None)
    body = json.dumps(ticket).encode()
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(LOCAL_SECRETS["zendesk"].encode(), timestamp.encode() + body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }

    answer = requests.post(f"{server.url}/webhooks/zendesk", data=body, headers=headers, timeout=30)

    assert answer.status_code == 202, answer.text
    tickets = server.profile(email=customer["email"])["open_tickets"]
    assert [(entry["ticket_id"], entry["subject"]) for entry in tickets] == [
        (customer["ticket"], "Trail Runner 42 rubs at the heel")
    ]


def test_a_webhook_signed_with_another_secret_is_refused_as_a_problem(server: Served) -> None:
    body = json.dumps(pos_order(new_customer())).encode()
    forged = base64.b64encode(hmac.new(b"not-the-secret", body, hashlib.sha256).digest()).decode()
    answer = requests.post(
        f"{server.url}/webhooks/shopify",
        data=body,
        headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": forged},
        timeout=30,
    )
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["field"] == "X-Shopify-Hmac-Sha256"
