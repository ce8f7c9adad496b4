"""Segment's own Python library (segment-analytics-python) pointed at `omnijourney serve`, as a web shop would use it.

The server runs journeys at 3600x: the abandoned-cart journey's one-hour wait passes in about a second.
"""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
import requests
from segment.analytics import Client
from segment.analytics.request import APIError

from omnijourney_tools.serve.tracking import LOCAL_WRITE_KEY
from tests.e2e.conftest import Served, Servers


@pytest.fixture(scope="module")
def server(servers: Servers) -> Served:
    return servers.at(3600)


def segment(server: Served) -> Client:
    """The library as a shop's backend uses it; synchronous, so each call has arrived when it returns."""
    return Client(LOCAL_WRITE_KEY, host=server.url, sync_mode=True, max_retries=0)


def shopper() -> tuple[str, str]:
    """A new user id and email, so each test has its own customer on the shared server."""
    user = uuid.uuid4().hex[:12]
    return f"user-{user}", f"shopper-{user}@example.com"


SHOES = {
    "product_id": "SHOE-TRAIL-42",
    "sku": "SHOE-TRAIL-42",
    "name": "Trail Runner 42",
    "price": 129.95,
    "quantity": 1,
}


def test_abandoned_checkout_from_the_sdk_gets_the_cart_email_an_hour_later(server: Served) -> None:
    user_id, email = shopper()
    analytics = segment(server)
    analytics.identify(user_id, {"email": email, "first_name": "Lena"})
    analytics.track(user_id, "Product Added", SHOES)
    analytics.track(user_id, "Checkout Started", {"value": 129.95, "currency": "EUR", "products": [SHOES]})

    profile = server.profile(email=email)
    assert profile["identifiers"]["user_id"] == [user_id]
    assert profile["cart"]["channel"] == "web"
    assert [item["sku"] for item in profile["cart"]["items"]] == ["SHOE-TRAIL-42"]
    assert [entry["name"] for entry in profile["recent_activity"]] == ["Checkout Started", "Product Added", "identify"]

    email_sent = server.wait_for_message(
        lambda message: (
            message["to"] == email and message["journey"] == "abandoned_cart" and message["status"] == "sent"
        )
    )
    assert email_sent["channel"] == "email"
    assert email_sent["customer_id"] == profile["customer_id"]
    assert "SHOE-TRAIL-42" in email_sent["products"]


def test_buying_in_the_same_session_ends_the_journey_before_the_cart_email(server: Served) -> None:
    user_id, email = shopper()
    analytics = segment(server)
    analytics.identify(user_id, {"email": email})
    analytics.track(user_id, "Checkout Started", {"value": 129.95, "products": [SHOES]})
    analytics.track(user_id, "Order Completed", {"order_id": uuid.uuid4().hex, "total": 129.95, "products": [SHOES]})

    thanks = server.wait_for_message(lambda message: message["to"] == email and message["journey"] == "post_purchase")
    assert thanks["template"] == "thank_you_email"
    profile = server.profile(email=email)
    assert profile["cart"] is None
    assert len(profile["orders"]) == 1
    assert not [
        message for message in server.messages() if message["to"] == email and message["journey"] == "abandoned_cart"
    ]


def test_batched_and_gzipped_calls_from_the_background_consumer_all_arrive(server: Served) -> None:
    user_id, email = shopper()
    analytics = Client(LOCAL_WRITE_KEY, host=server.url, gzip=True, upload_size=10, max_retries=0)
    analytics.identify(user_id, {"email": email})
    for page in range(12):
        analytics.page(user_id, name=f"Lookbook {page}")
    analytics.flush()
    analytics.shutdown()

    names = {entry["name"] for entry in server.profile(email=email)["recent_activity"]}
    assert names == {"identify", *(f"Lookbook {page}" for page in range(12))}


def test_an_unknown_write_key_is_refused_and_nothing_is_recorded(server: Served) -> None:
    user_id, email = shopper()
    stranger = Client("not-the-write-key", host=server.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as refused:
        stranger.identify(user_id, {"email": email})
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        401,
        "bad_write_key",
        "unknown write key",
    )
    assert "not-the-write-key" not in refused.value.response.text
    assert LOCAL_WRITE_KEY not in refused.value.response.text
    assert requests.get(f"{server.url}/profiles", params={"email": email}, timeout=30).status_code == 404


def test_a_single_call_gets_its_type_from_the_path_and_a_message_id(server: Served) -> None:
    user_id, email = shopper()
    body = json.dumps({"userId": user_id, "traits": {"email": email}}).encode()
    answer = requests.post(
        f"{server.url}/v1/identify",
        data=gzip.compress(body),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        auth=(LOCAL_WRITE_KEY, ""),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["success"] is True
    assert server.profile(email=email)["recent_activity"][0]["type"] == "identify"


def test_a_refused_call_is_reported_by_the_sdk_with_its_reason_not_as_unknown(server: Served) -> None:
    user_id, email = shopper()
    spec: dict[str, object] = {"size": "42"}
    for _ in range(40):
        spec = {"inner": spec}
    with pytest.raises(APIError) as refused:
        segment(server).track(user_id, "Product Viewed", {**SHOES, "spec": spec})
    assert (refused.value.status, refused.value.code) == (400, "malformed_payload")
    assert refused.value.message == "the body nests deeper than 32 levels"
    assert requests.get(f"{server.url}/profiles", params={"email": email}, timeout=30).status_code == 404
