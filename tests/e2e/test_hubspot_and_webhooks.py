"""HubSpot in and webhooks out against `omnijourney serve`, with the vendors' own libraries: webhook batches signed by
`hubspot-api-client`'s signature helper, the order desk's deliveries verified by `standardwebhooks` in a receiver on a
loopback port the server dials (`serve --deliver-webhooks`), and `omnijourney import hubspot` reading a local HubSpot
through HubSpot's client before `simulate` plays what it wrote.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from hubspot.utils.signature import Signature

from omnijourney_tools.local import LOCAL_SECRETS
from omnijourney_tools.local.hubspot import LocalHubSpot
from omnijourney_tools.local.webhook_receiver import LoopbackReceiver, WebhookReceiver
from tests.conftest import ROOT, sample
from tests.e2e.conftest import Served, Servers, served
from tests.e2e.test_segment_sdk import SHOES, segment

# The b2b journey's two hours pass in 8 s; HubSpot's five minutes of tolerance are a third of a second of ours.
OUTBOUND_SPEED = 900
# A contact with a won deal for ten pairs of shoes, told as HubSpot's webhooks tell it (events/hubspot/).
CRM_STORY = (
    "contact_creation",
    "contact_property_change",
    "line_item_property_change",
    "deal_creation",
    "deal_property_change",
    "deal_association_change",
)
# The sample batches' contact, deal and line item.
SAMPLE_IDS = {"contact": 5101, "deal": 9101, "line_item": 7101}


@pytest.fixture(scope="module")
def server(servers: Servers) -> Served:
    return servers.at(1)


@dataclass(frozen=True)
class Contact:
    """A HubSpot contact, deal and line item no other test uses: the tests share one server."""

    ids: dict[str, int]
    email: str
    phone: str


def new_contact() -> Contact:
    tag = uuid.uuid4().hex[:10]
    ids = {kind: random.randrange(10**8, 10**9) for kind in SAMPLE_IDS}
    return Contact(ids, f"buyer-{tag}@example.com", f"+49151{random.randrange(10**7, 10**8)}")


def told_of(contact: Contact, case: str) -> list[dict[str, Any]]:
    """The sample batch events/hubspot/<case>.json, about this contact (its email, phone, deal and line item)."""
    ids = {SAMPLE_IDS[kind]: contact.ids[kind] for kind in SAMPLE_IDS}
    values = {"email": contact.email, "phone": contact.phone}
    batch: list[dict[str, Any]] = sample("hubspot", case)
    for event in batch:
        event.update({key: ids[event[key]] for key in ("objectId", "fromObjectId", "toObjectId") if key in event})
        if event.get("propertyName") in values:
            event["propertyValue"] = values[event["propertyName"]]
    return batch


def hubspot_post(
    server: Served,
    batch: list[dict[str, Any]],
    *,
    age: timedelta = timedelta(0),
    secret: str = LOCAL_SECRETS["hubspot"],
) -> requests.Response:
    """The batch as HubSpot delivers it, signed (v3) by HubSpot's own client `age` before the journeys' clock."""
    url = f"{server.url}/webhooks/hubspot"
    body = json.dumps(batch)
    timestamp = str(int((server.journeys_now() - age).timestamp() * 1000))
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": Signature.get_signature(secret, body, "v3", http_uri=url, timestamp=timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
    }
    return requests.post(url, data=body.encode(), headers=headers, timeout=30)


def test_a_contact_and_its_won_deal_signed_by_hubspots_client_are_on_the_profile(server: Served) -> None:
    contact = new_contact()
    for case in CRM_STORY:
        answer = hubspot_post(server, told_of(contact, case))
        assert answer.status_code == 202, answer.text

    # The store finds the HubSpot contact by the phone it gives.
    profile = server.profile(phone=contact.phone)
    identifiers = profile["identifiers"]
    assert (identifiers["email"], identifiers["hubspot_contact_id"]) == ([contact.email], [str(contact.ids["contact"])])
    assert profile["deals"] == [
        {
            "deal_id": str(contact.ids["deal"]),
            "name": "Trail running kit for the club",
            "stage": "closedwon",
            "status": "won",
            "amount": 1299.0,
            "currency": "EUR",
            "close_date": "2026-03-04T10:29:16+00:00",
            "owner": "83712",
            "line_items": [
                {
                    "line_item_id": str(contact.ids["line_item"]),
                    "sku": "SHOE-TRAIL-42",
                    "name": "Trail Runner 42",
                    "quantity": 10.0,
                    "price": 129.9,
                }
            ],
            # When the deal's association with the contact was told (the CRM story's association event).
            "associated_at": "2026-03-04T10:29:18+00:00",
        }
    ]


@pytest.mark.parametrize(
    ("age", "secret", "field"),
    [
        (timedelta(minutes=6), LOCAL_SECRETS["hubspot"], "X-HubSpot-Request-Timestamp"),
        (timedelta(0), "not-the-app-secret", "X-HubSpot-Signature-v3"),
    ],
    ids=["stale", "forged"],
)
def test_a_stale_or_forged_hubspot_batch_is_refused_and_changes_nothing(
    server: Served, age: timedelta, secret: str, field: str
) -> None:
    contact = new_contact()
    for case in ("contact_creation", "contact_property_change"):
        assert hubspot_post(server, told_of(contact, case)).status_code == 202
    before = server.profile(email=contact.email)
    moved = {**told_of(contact, "contact_property_change")[0], "eventId": 1099, "propertyValue": f"new-{contact.email}"}

    answer = hubspot_post(server, [moved], age=age, secret=secret)

    assert (answer.status_code, answer.headers["Content-Type"]) == (401, "application/problem+json")
    assert answer.json()["field"] == field
    assert server.profile(email=contact.email) == before
    assert (
        requests.get(f"{server.url}/profiles", params={"email": moved["propertyValue"]}, timeout=30).status_code == 404
    )


@pytest.fixture
def order_desk(tmp_path: Path) -> Iterator[tuple[WebhookReceiver, Served]]:
    """A server with a copy of config/ whose order desk is a receiver on a loopback port, dialled over HTTP."""
    receiver = WebhookReceiver()
    with LoopbackReceiver(receiver) as loopback:
        config = Path(shutil.copytree(ROOT / "config", tmp_path / "config"))
        webhooks = yaml.safe_load((config / "webhooks.yaml").read_text(encoding="utf-8"))
        webhooks["targets"]["order_desk"]["url"] = f"{loopback.url}/hooks/order-desk"
        (config / "webhooks.yaml").write_text(yaml.safe_dump(webhooks), encoding="utf-8")
        with served(OUTBOUND_SPEED, options=["--config", str(config), "--deliver-webhooks"]) as server:
            yield receiver, server


def test_the_order_desk_answering_500_twice_gets_the_b2b_cart_once_signed_over_http(
    order_desk: tuple[WebhookReceiver, Served],
) -> None:
    receiver, server = order_desk
    receiver.answers = [500, 500]
    contact = new_contact()
    # An opportunity in HubSpot's sales pipeline, owned by rep 83712.
    properties = told_of(contact, "contact_property_change")
    opportunity = {**properties[0], "eventId": 1099, "propertyName": "lifecyclestage", "propertyValue": "opportunity"}
    assert hubspot_post(server, [*told_of(contact, "contact_creation"), *properties, opportunity]).status_code == 202
    # The same buyer signs in on the web shop and leaves five pairs at checkout.
    user_id, analytics = f"user-{uuid.uuid4().hex[:12]}", segment(server)
    analytics.identify(user_id, {"email": contact.email})
    analytics.track(
        user_id, "Checkout Started", {"value": 649.75, "currency": "EUR", "products": [SHOES | {"quantity": 5}]}
    )

    quote = server.wait_for_message(
        lambda message: message["step"] == "quote_for_the_order_desk" and message["status"] == "sent"
    )

    assert (quote["channel"], quote["to"]) == ("webhook", "order_desk")
    [cart] = receiver.deliveries
    assert receiver.webhook_ids == [cart.webhook_id] * 3
    assert cart.payload == {
        "type": "b2b_cart_left",
        "customer_id": server.profile(email=contact.email)["customer_id"],
        "contact": {"first_name": "Lena", "last_name": "Fischer", "email": contact.email},
        "cart": {"items": "5× Trail Runner 42", "total": "649.75"},
        "shop": "omnijourney shop",
    }


def omnijourney(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command, run as a user runs it."""
    command = [sys.executable, "-m", "omnijourney_tools.cli", *arguments]
    environment = {**os.environ, **(env or {})}
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120, env=environment)


def test_contacts_and_deals_imported_through_hubspots_client_become_profiles_when_simulated(tmp_path: Path) -> None:
    scenario, report = tmp_path / "hubspot.jsonl", tmp_path / "report.json"
    with LocalHubSpot() as crm:
        crm.add("contacts", "5101", email="lena.fischer@example.com", phone="+49 151 23456789", firstname="Lena")
        crm.add("contacts", "5102", email="jonas.becker@example.com", firstname="Jonas")
        crm.add("line_items", "7101", hs_sku="SHOE-TRAIL-42", name="Trail Runner 42", quantity=10, price="129.90")
        associations = {"contacts": ["5101"], "line_items": ["7101"]}
        crm.add("deals", "9101", associations, dealname="Club kit", dealstage="closedwon", amount="1299.00")
        imported = omnijourney(
            *("import", "hubspot", "--scenario", str(scenario), "--host", crm.url),
            *("--checkpoint", str(tmp_path / "checkpoint")),
            env={"HUBSPOT_ACCESS_TOKEN": crm.token},
        )
        assert imported.returncode == 0, imported.stderr
        assert crm.requests == [f"GET /crm/v3/objects/{kind}" for kind in ("contacts", "line_items", "deals")]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    with scenario.open("a", encoding="utf-8") as lines:
        for email in ("lena.fischer@example.com", "jonas.becker@example.com"):
            lines.write(json.dumps({"at": later, "lookup": {"email": email}}) + "\n")

    simulated = omnijourney("simulate", str(scenario), "--report", str(report), "--quiet")

    assert simulated.returncode == 0, simulated.stderr
    lena, jonas = (lookup["profile"] for lookup in json.loads(report.read_text(encoding="utf-8"))["lookups"])
    assert (lena["identifiers"]["phone"], lena["identifiers"]["hubspot_contact_id"]) == (["+4915123456789"], ["5101"])
    assert [(deal["deal_id"], deal["status"], deal["amount"]) for deal in lena["deals"]] == [("9101", "won", 1299.0)]
    assert [item["sku"] for item in lena["deals"][0]["line_items"]] == ["SHOE-TRAIL-42"]
    assert (jonas["identifiers"]["hubspot_contact_id"], jonas["deals"]) == (["5102"], [])
    assert lena["customer_id"] != jonas["customer_id"]
