"""Issue 21, item 1: a deal closed-won counts for lifetime value when it is in the shop's currency (config/shop.yaml:
EUR), else it is reported apart (`clv.deals_apart`), in the simulate report and in the scorecard alike.

Lena wins a 1,299 € deal and a 300 deal in no currency (the CRM's company currency: config/shop.yaml's `crm_currency`,
by default the shop's); Tom a 500 $ deal (whose older amount, 450, arrives last) and a 200 € one that is then
reopened. Only Lena's 1,599 € are revenue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omnijourney.analytics import facts
from omnijourney.events import CanonicalEvent, Channel, DealChange, EventType
from omnijourney.profiles.model import stamp_of
from omnijourney_tools.cli import main
from tests.conftest import sample
from tests.integration.test_scorecard import metrics_json, write_lake
from tests.integration.test_scorecard_equality import from_the_lake, from_the_report

START = datetime(2026, 3, 5, 10, tzinfo=UTC)
LENA, TOM = 5101, 5102
# Deal id → whose.
DEALS = {9101: LENA, 9102: TOM, 9103: LENA, 9104: TOM}


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def contact(object_id: int, event_id: int, at: datetime, email: str) -> dict[str, Any]:
    [template, *_] = sample("hubspot", "contact_property_change")
    return template | {
        "eventId": event_id,
        "objectId": object_id,
        "occurredAt": millis(at),
        "propertyName": "email",
        "propertyValue": email,
    }


def deal(deal_id: int, event_id: int, at: datetime, **properties: str) -> list[dict[str, Any]]:
    """HubSpot's property changes of one deal, one event per property, and its association with its contact."""
    [template, *_] = sample("hubspot", "deal_property_change")
    [associated, _] = sample("hubspot", "deal_association_change")
    told = [
        template
        | {
            "eventId": event_id + index,
            "objectId": deal_id,
            "occurredAt": millis(at),
            "propertyName": name,
            "propertyValue": value,
        }
        for index, (name, value) in enumerate(properties.items())
    ]
    association = associated | {
        "eventId": event_id + len(told),
        "occurredAt": millis(at),
        "fromObjectId": deal_id,
        "toObjectId": DEALS[deal_id],
    }
    return [*told, association]


def deliveries() -> list[tuple[datetime, list[dict[str, Any]]]]:
    at = START
    return [
        (
            at,
            [
                contact(LENA, 1, at, "lena.fischer@example.com"),
                contact(TOM, 2, at, "tom.richter@example.com"),
            ],
        ),
        (
            at + timedelta(minutes=5),
            deal(9101, 10, at, amount="1299.00", deal_currency_code="EUR", dealstage="closedwon"),
        ),
        (at + timedelta(minutes=10), deal(9102, 20, at, amount="500", deal_currency_code="USD", dealstage="closedwon")),
        (at + timedelta(minutes=15), deal(9103, 30, at, amount="300", hs_is_closed_won="true")),
        (at + timedelta(minutes=20), deal(9104, 40, at, amount="200", deal_currency_code="EUR", dealstage="closedwon")),
        # The sales rep reopens Tom's 200 € deal: it earns nothing any more.
        (at + timedelta(hours=1), deal(9104, 50, at + timedelta(minutes=30), dealstage="contractsent")),
        # An older amount of Tom's 500 $ deal arrives last: the later 500 stays.
        (at + timedelta(hours=2), deal(9102, 60, at - timedelta(minutes=1), amount="450")),
    ]


def simulated(
    folder: Path, capsys: pytest.CaptureFixture[str], deliveries: list[tuple[datetime, list[dict[str, Any]]]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HubSpot deliveries simulated with a lake: the report, and the scorecard computed from the lake."""
    scenario, report_file, lake = folder / "deals.jsonl", folder / "report.json", folder / "lake"
    lines = [{"at": at.isoformat(), "source": "hubspot", "body": body} for at, body in deliveries]
    scenario.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert main(["simulate", str(scenario), "--quiet", "--report", str(report_file), "--lake", str(lake)]) == 0
    capsys.readouterr()
    scorecard = metrics_json(capsys, "--lake", str(lake), "--to", START.date().isoformat())
    return json.loads(report_file.read_text()), scorecard


def test_won_deals_in_the_shop_currency_are_lifetime_value_and_the_others_apart_in_report_and_scorecard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, scorecard = simulated(tmp_path, capsys, deliveries())

    metrics = report["metrics"]
    by_email = {profile["identifiers"]["email"][0]: profile["customer_id"] for profile in report["profiles"]}
    assert metrics["clv"]["by_customer"] == {
        by_email["lena.fischer@example.com"]: 1599.0,
        by_email["tom.richter@example.com"]: 0.0,
    }
    assert (metrics["revenue"], metrics["orders"], metrics["clv"]["average"]) == (1599.0, 0, 799.5)
    assert metrics["clv"]["deals_apart"] == {"count": 1, "by_currency": {"USD": 500.0}}
    assert from_the_lake(scorecard) == from_the_report(report)


# A small lake: Ana's and Ben's deals, told as the profile function writes their facts.
DAY = datetime(2025, 3, 1, 9, tzinfo=UTC)


def told(deal_id: str, customer: str, at: datetime, **properties: str | None) -> list[dict[str, Any]]:
    """The facts of one HubSpot event telling `properties` of a deal (its `event` and `deal` facts), as the profile
    function writes them."""
    change = CanonicalEvent(
        event_id=f"hubspot:{deal_id}:{at.isoformat()}",
        source="hubspot",
        type=EventType.deal_updated,
        name="deal.propertyChange",
        channel=Channel.crm,
        occurred_at=at,
        received_at=at,
        deal=DealChange(deal_id=deal_id, properties=properties),
    )
    tellings = [facts.DealTelling(name, value, *stamp_of(at, change.event_id)) for name, value in properties.items()]
    # The customer's association with the deal, as every copy of theirs tells it.
    tellings.append(facts.DealTelling(facts.ASSOCIATED, "true", *stamp_of(DAY, f"hubspot:{deal_id}:associated")))
    written = [facts.event_fact(change, customer, known=True), *facts.deal_facts(customer, deal_id, tellings)]
    return [json.loads(fact.record(), parse_float=Decimal) | {"occurred_at": at} for fact in written]


def deals_lake(tmp_path: Path) -> Path:
    return write_lake(
        tmp_path,
        [
            # Ana: 800 € won on day 2; 120 € won by HubSpot's verdict though its stage says otherwise, on day 3.
            *told("d-1", "cust-ana", DAY + timedelta(days=1), amount="800", deal_currency_code="EUR"),
            *told("d-1", "cust-ana", DAY + timedelta(days=1, hours=1), dealstage="closedwon"),
            *told("d-2", "cust-ana", DAY + timedelta(days=2), amount="120", deal_currency_code="EUR"),
            *told("d-2", "cust-ana", DAY + timedelta(days=2), dealstage="presentationscheduled"),
            *told("d-2", "cust-ana", DAY + timedelta(days=2, hours=1), hs_is_closed_won="TRUE"),
            # Ben: 250 $ won on day 2; a 90 € deal won and then lost HubSpot's verdict; one whose amount was cleared.
            *told(
                "d-3",
                "cust-ben",
                DAY + timedelta(days=1),
                amount="250",
                deal_currency_code="USD",
                dealstage="closedwon",
            ),
            *told("d-4", "cust-ben", DAY, amount="90", deal_currency_code="EUR", hs_is_closed_won="true"),
            *told("d-4", "cust-ben", DAY + timedelta(hours=2), hs_is_closed_won="false"),
            *told("d-5", "cust-ben", DAY, amount="60", deal_currency_code="EUR", dealstage="closedwon"),
            *told("d-5", "cust-ben", DAY + timedelta(hours=3), amount=None),
        ],
    )


def test_the_scorecard_counts_a_won_deal_by_its_latest_tellings_and_by_when_it_was_won(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = deals_lake(tmp_path)

    whole = metrics_json(capsys, "--lake", str(lake))
    day_two = metrics_json(capsys, "--lake", str(lake), "--from", "2025-03-02", "--to", "2025-03-02")

    assert (whole["revenue"], whole["orders"]) == (920.0, 0)
    assert whole["clv"]["by_customer"] == {"cust-ana": 920.0, "cust-ben": 0.0}
    assert whole["clv"]["deals_apart"] == {"count": 1, "by_currency": {"USD": 250.0}}
    # Day 2 is when Ana's 800 € and Ben's 250 $ were won; Ana's 120 € was won on day 3.
    assert day_two["clv"]["by_customer"] == {"cust-ana": 800.0, "cust-ben": 0.0}
    assert day_two["revenue"] == 800.0
    assert day_two["clv"]["deals_apart"] == {"count": 1, "by_currency": {"USD": 250.0}}
    assert main(["metrics", "--lake", str(lake)]) == 0
    assert "  not counted: 1 won deal in another currency than the shop's (250.00 USD)." in (
        capsys.readouterr().out.splitlines()
    )


def associated(deal_id: int, contact_id: int, event_id: int, at: datetime, *, removed: bool = False) -> dict[str, Any]:
    [association, _] = sample("hubspot", "deal_association_change")
    return association | {
        "eventId": event_id,
        "occurredAt": millis(at),
        "fromObjectId": deal_id,
        "toObjectId": contact_id,
        "associationRemoved": removed,
    }


@pytest.mark.parametrize("lena_taken_off", [None, "association_removed", "contact_deleted"])
def test_a_deal_shared_by_two_contacts_counts_once_for_the_one_associated_first_in_report_and_scorecard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lena_taken_off: str | None
) -> None:
    at = START
    shared = [
        deliveries()[0],
        # Tom's association is delivered first, but happened a minute after Lena's.
        (at + timedelta(minutes=4), [associated(9101, TOM, 70, at + timedelta(minutes=1))]),
        (
            at + timedelta(minutes=5),
            deal(9101, 10, at, amount="1299.00", deal_currency_code="EUR", dealstage="closedwon"),
        ),
    ]
    if lena_taken_off == "association_removed":
        removal = associated(9101, LENA, 71, at + timedelta(minutes=2), removed=True)
        shared.append((at + timedelta(minutes=6), [removal]))
    elif lena_taken_off == "contact_deleted":  # her HubSpot contact, a duplicate: she keeps her email, not the deal
        [deletion] = sample("hubspot", "contact_deletion")
        deleted = deletion | {"eventId": 72, "objectId": LENA, "occurredAt": millis(at + timedelta(minutes=2))}
        shared.append((at + timedelta(minutes=6), [deleted]))

    report, scorecard = simulated(tmp_path, capsys, shared)

    by_email = {profile["identifiers"]["email"][0]: profile["customer_id"] for profile in report["profiles"]}
    credited, other = ("tom.richter", "lena.fischer") if lena_taken_off else ("lena.fischer", "tom.richter")
    assert report["metrics"]["clv"]["by_customer"] == {
        by_email[f"{credited}@example.com"]: 1299.0,
        by_email[f"{other}@example.com"]: 0.0,
    }
    assert report["metrics"]["revenue"] == 1299.0
    assert from_the_lake(scorecard) == from_the_report(report)
