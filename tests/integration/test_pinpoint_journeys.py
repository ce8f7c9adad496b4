"""Pinpoint journeys round-tripped: each export under tests/fixtures/pinpoint/journeys/ is imported, the journeys it
becomes pass `journeys validate`, compile to ASL that statelint accepts, and run in `simulate` along the path Pinpoint
would have taken its participants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from statelint.linter import Linter

from omnijourney.journeys.catalog import load_journeys
from omnijourney.journeys.compiler import compile_journey
from omnijourney_tools.cli import main
from omnijourney_tools.folders import definitions_from
from tests.conftest import sample
from tests.unit.pinpoint.journey_exports import import_journeys, project


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return project(tmp_path)


def round_trip(folder: Path, export: str, scenario: list[dict[str, Any]]) -> dict[str, Any]:
    """Import the export, validate and compile what it became, and simulate the scenario with it: the report."""
    journeys, config = folder / "journeys", folder / "config"
    assert import_journeys(folder, export) == 0
    assert main(["journeys", "validate", str(journeys), "--config", str(config)]) == 0
    with definitions_from(config_dir=config):
        for journey in load_journeys([journeys]).journeys.values():
            assert Linter.validate(compile_journey(journey)) == [], journey.journey
    path = folder / "scenario.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in scenario), encoding="utf-8")
    report_path = folder / "report.json"
    simulated = ["simulate", str(path), "--journeys", str(journeys), "--config", str(config), "--quiet"]
    assert main([*simulated, "--report", str(report_path)]) == 0
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    assert all(entry["status"] == 202 for entry in report["inputs"]), report["inputs"]
    return report


def segment(at: str, user: str, kind: str, **fields: Any) -> dict[str, Any]:
    body = {"type": kind, "userId": user, "messageId": f"{user}-{kind}-{at}", "timestamp": at, **fields}
    return {"at": at, "source": "segment", "body": body | {"context": {"timezone": "Europe/Berlin"}}}


def identify(at: str, user: str, **traits: Any) -> dict[str, Any]:
    return segment(at, user, "identify", traits={"email": f"{user}@example.com", "first_name": user.title(), **traits})


def opened(at: str, user: str) -> dict[str, Any]:
    """SES's Open record for the email the customer was sent."""
    mail = {"timestamp": at, "messageId": f"ses-{user}", "destination": [f"{user}@example.com"], "tags": {}}
    body = {
        "eventType": "Open",
        "mail": mail | {"commonHeaders": {"to": [f"{user}@example.com"]}},
        "open": {"timestamp": at},
    }
    return {"at": at, "source": "ses", "body": body}


def runs(report: dict[str, Any], journey: str) -> dict[str, dict[str, Any]]:
    """Each customer's run of the journey, by the customer's first name."""
    names = {profile["customer_id"]: profile["identifiers"]["email"][0].split("@")[0] for profile in report["profiles"]}
    return {names[run["customer_id"]]: run for run in report["journeys"] if run["journey"] == journey}


def templates_sent(report: dict[str, Any], journey: str, customer: str) -> list[str]:
    ids = {p["customer_id"] for p in report["profiles"] if p["identifiers"]["email"] == [f"{customer}@example.com"]}
    return [m["template"] for m in report["messages"] if m["journey"] == journey and m["customer_id"] in ids]


def test_welcome_series_waits_for_the_open_then_thanks_or_nudges(folder: Path) -> None:
    """EMAIL, a yes/no split on the email's open, SMS, Wait, CUSTOM (left out) and PUSH; an event start narrowed by
    an attribute and a metric."""
    report = round_trip(
        folder,
        "welcome.json",
        [
            identify("2026-03-02T09:00:00Z", "ada", phone="+4915123456701"),
            segment(
                "2026-03-02T09:01:00Z", "ada", "track", event="Account Created", properties={"plan": "pro", "seats": 3}
            ),
            identify("2026-03-02T09:02:00Z", "ben"),
            segment(
                "2026-03-02T09:03:00Z", "ben", "track", event="Account Created", properties={"plan": "pro", "seats": 2}
            ),
            identify("2026-03-02T09:04:00Z", "cleo"),
            segment(
                "2026-03-02T09:05:00Z",
                "cleo",
                "track",
                event="Account Created",
                properties={"plan": "free", "seats": 5},
            ),
            opened("2026-03-03T08:00:00Z", "ada"),
            {"at": "2026-03-05T12:00:00Z"},
        ],
    )
    welcomed = runs(report, "welcome_series")
    assert sorted(welcomed) == ["ada", "ben"]  # Cleo's free plan is not the start condition's
    assert welcomed["ada"]["path"] == ["welcome_email", "yes_no_split_b2opened", "thanks_sms", "journey_end"]
    assert templates_sent(report, "welcome_series", "ada") == ["welcome_email", "thanks_sms"]
    # No open within two days: the hour's wait, then the push (the CRM call is not imported).
    assert welcomed["ben"]["path"] == [
        "welcome_email",
        "yes_no_split_b2opened",
        "wait_d4pause",
        "comeback_push",
        "journey_end",
    ]
    assert templates_sent(report, "welcome_series", "ben") == ["welcome_email", "comeback_push"]


def test_vip_offers_hold_out_or_split_and_the_session_nudge_starts_on_app_opened(folder: Path) -> None:
    """A segment start with a schedule: Holdout, RandomSplit, EMAIL, Wait until a date (from the schedule's start);
    and a second journey in the same list export, started on Pinpoint's `_session.start` past a 0% holdout."""
    customers = ("ada", "ben", "cleo", "dora")
    report = round_trip(
        folder,
        "loyalty.json",
        [
            *(identify(f"2026-03-02T09:3{n}:00Z", name, tier="gold") for n, name in enumerate(customers)),
            segment("2026-03-02T10:00:00Z", "ada", "track", event="Application Opened"),
            {"at": "2026-03-06T12:00:00Z"},
        ],
    )
    offered = runs(report, "vip_offers")
    assert sorted(offered) == sorted(customers)
    # Each way is taken by someone (the draw is sticky per customer, and the run deterministic).
    groups = {run["outcome"] if run["outcome"] == "holdout" else run["path"][2] for run in offered.values()}
    assert groups == {"holdout", "vip_offer_a", "vip_offer_b"}
    for customer, run in offered.items():
        if run["outcome"] == "holdout":
            assert run["path"] == ["holdout_h1holdout"]
            assert templates_sent(report, "vip_offers", customer) == []
            continue
        offer = run["path"][2]
        assert offer in ("vip_offer_a", "vip_offer_b")
        assert run["path"] == [
            "holdout_h1holdout",
            "random_split_r2split",
            offer,
            "wait_w5until",
            "vip_last_chance",
            "journey_end",
        ]
        assert templates_sent(report, "vip_offers", customer) == [offer, "vip_last_chance"]
    assert {customer: run["path"] for customer, run in runs(report, "app_session_nudge").items()} == {
        "ada": ["session_nudge"]
    }
    assert templates_sent(report, "app_session_nudge", "ada") == ["session_nudge"]


def test_purchase_follow_up_calls_gold_vips_and_ends_where_pinpoint_waited_for_a_date(folder: Path) -> None:
    """A bare WriteJourneyRequest: a purchase start with a segment audience, a yes/no split on a user attribute
    after its evaluation wait, a multivariate split on a segment, ContactCenter, a CUSTOM activity calling a URL (a
    webhook now), and a wait until a date that ends the path."""

    def order(at: str, user: str) -> dict[str, Any]:
        properties = sample("segment", "order_completed")["properties"] | {"order_id": f"web-{user}"}
        return segment(at, user, "track", event="Order Completed", properties=properties)

    report = round_trip(
        folder,
        "purchase_follow_up.json",
        [
            identify("2026-03-02T09:00:00Z", "ada", tier="gold"),
            order("2026-03-02T09:05:00Z", "ada"),
            identify("2026-03-02T09:10:00Z", "ben", tier="silver"),
            order("2026-03-02T09:15:00Z", "ben"),
            {"at": "2026-03-04T12:00:00Z"},
        ],
    )
    followed = runs(report, "purchase_follow_up")
    assert followed["ada"]["path"] == [
        "yes_no_split_p1gold",
        "yes_no_split_p1gold_check",
        "multivariate_split_p2which",
        "contact_center_p4call",
        "custom_p8crm",
        "journey_end",
    ]
    call, crm = [m for m in report["messages"] if m["journey"] == "purchase_follow_up"]
    assert (call["channel"], call["template"], call["status"]) == (
        "call_center",
        "purchase_follow_up_call_task",
        "sent",
    )
    # The CUSTOM activity's URL, now a target of config/webhooks.yaml: a signed webhook the receiver verified.
    assert (crm["channel"], crm["to"], crm["template"], crm["status"]) == (
        "webhook",
        "crm_example_com",
        "custom_p8crm_payload",
        "sent",
    )
    assert followed["ben"]["path"] == ["yes_no_split_p1gold", "yes_no_split_p1gold_check", "wait_p3holiday"]
    assert followed["ben"]["outcome"] == "exited"
