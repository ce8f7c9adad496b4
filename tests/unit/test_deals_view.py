"""Deals on the profile view (profiles/view.py): open first, then won and lost, each newest first; a deal's status in
HubSpot's terms; line items whose properties have not arrived are listed by their id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from omnijourney.app import config
from omnijourney.edge.sources import get_source
from omnijourney.profiles.model import Deal, Profile, apply_event
from omnijourney.profiles.view import deal_status, profile_view
from tests.conftest import RECEIVED_AT, delivery, lena, sample

SAMPLE_DEAL = ("hubspot", "deal_creation"), ("hubspot", "deal_property_change"), ("hubspot", "deal_association_change")


def told(profile: Profile, batch: list[dict[str, Any]]) -> Profile:
    """The profile after a HubSpot batch of deal events, parsed as the source parses HubSpot's."""
    item = delivery("hubspot", "deal_property_change", body=json.dumps(batch).encode())
    for event in get_source("hubspot").parse(item):
        profile = apply_event(profile, event, config.lifecycle())
    return profile


def deal_told(deal_id: int, event_id: int, **properties: str) -> list[dict[str, Any]]:
    """A deal's creation, its association with Lena's contact and its properties: minutes after the sample deal's."""
    [creation] = sample("hubspot", "deal_creation")
    [to_lena, _] = sample("hubspot", "deal_association_change")
    changes = [
        creation | {"subscriptionType": "deal.propertyChange", "propertyName": name, "propertyValue": value}
        for name, value in properties.items()
    ]
    at = creation["occurredAt"] + 60_000 * (deal_id - 9100)
    return [
        event | {"eventId": event_id + index, "objectId": deal_id, "occurredAt": at + index}
        for index, event in enumerate([creation, to_lena | {"fromObjectId": deal_id}, *changes])
    ]


def test_a_won_deal_lists_its_line_item_by_id_until_the_line_items_properties_arrive() -> None:
    [deal] = profile_view(lena(*SAMPLE_DEAL), config.lifecycle(), RECEIVED_AT)["deals"]

    assert deal == {
        "deal_id": "9101",
        "name": "Trail running kit for the club",
        "stage": "closedwon",
        "status": "won",
        "amount": 1299,
        "currency": "EUR",
        "close_date": "2026-03-04T10:29:16+00:00",
        "owner": "83712",
        "line_items": [{"line_item_id": "7101", "sku": None, "name": None, "quantity": None, "price": None}],
        "associated_at": "2026-03-04T10:29:18+00:00",
    }


def test_open_deals_come_first_then_the_won_and_lost_each_newest_first() -> None:
    profile = lena(*SAMPLE_DEAL)  # 9101, won
    profile = told(profile, deal_told(9102, 2100, dealname="Socks for the team", dealstage="appointmentscheduled"))
    profile = told(profile, deal_told(9103, 2200, dealname="Tents", dealstage="closedlost", amount="2400"))
    profile = told(profile, deal_told(9104, 2300, dealname="Club jackets"))  # created, no stage yet

    deals = profile_view(profile, config.lifecycle(), RECEIVED_AT)["deals"]

    assert [(deal["deal_id"], deal["status"]) for deal in deals] == [
        ("9104", "open"),
        ("9102", "open"),
        ("9103", "lost"),
        ("9101", "won"),
    ]
    assert (deals[0]["stage"], deals[0]["amount"], deals[0]["currency"]) == (None, None, None)
    assert deals[2]["amount"] == 2400


@pytest.mark.parametrize(
    ("properties", "status"),
    [
        ({"dealstage": "closedwon"}, "won"),
        ({"dealstage": "closedlost"}, "lost"),
        ({"dealstage": "contractsent"}, "open"),
        # A custom pipeline's stages are ids: HubSpot's own verdict says it is won; a lost one is not known as lost.
        ({"dealstage": "98765432", "hs_is_closed_won": "true"}, "won"),
        ({"dealstage": "98765433", "hs_is_closed_won": "false"}, "open"),
    ],
)
def test_a_deals_status_is_hubspots_verdict_or_its_default_pipelines_stage(
    properties: dict[str, str], status: str
) -> None:
    deal = Deal(deal_id="9101", first_seen=datetime(2026, 3, 4, tzinfo=UTC), properties=dict(properties))

    assert deal_status(deal) == status


def test_a_deal_deleted_in_hubspot_is_not_shown() -> None:
    duplicate = deal_told(9102, 2100, dealname="Duplicate", dealstage="closedwon")
    deletion = duplicate[0] | {"eventId": 2200, "subscriptionType": "deal.deletion", "changeFlag": "DELETED"}
    profile = told(lena(*SAMPLE_DEAL), [*duplicate, deletion | {"occurredAt": duplicate[-1]["occurredAt"] + 1}])

    deals = profile_view(profile, config.lifecycle(), RECEIVED_AT)["deals"]

    assert [deal["deal_id"] for deal in deals] == ["9101"]
