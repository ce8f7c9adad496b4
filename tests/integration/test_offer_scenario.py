"""One offer, every channel (scenarios/one_offer_every_channel.jsonl): the email on Monday and the SMS on
Wednesday show one code, the store redeems it on Thursday, and no offer on the shoes follows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnijourney.cli import main
from tests.conftest import ROOT

SCENARIO = ROOT / "scenarios" / "one_offer_every_channel.jsonl"
SHOES = "SHOE-TRAIL-42"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path: Path = tmp_path_factory.mktemp("offer") / "report.json"
    assert main(["simulate", str(SCENARIO), "--report", str(path)]) == 0
    return dict(json.loads(path.read_text()))


def offered(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [message for message in report["messages"] if message["status"] == "sent" and message.get("offer")]


def test_the_email_and_the_sms_present_one_offer_with_one_code(report: dict[str, Any]) -> None:
    email, sms = [message for message in offered(report) if message["journey"] == "abandoned_cart"]
    assert (email["channel"], email["at"][:10]) == ("email", "2026-03-02")
    assert (sms["channel"], sms["at"][:10]) == ("sms", "2026-03-04")
    assert email["offer"] == sms["offer"]
    assert email["offer"]["discount"] == "10% off"


def test_the_store_sees_the_live_offer_and_the_pos_order_redeems_it(report: dict[str, Any]) -> None:
    code = offered(report)[0]["offer"]["code"]
    before, after = report["lookups"][1]["profile"], report["lookups"][2]["profile"]
    assert [(offer["code"], offer["status"]) for offer in before["offers"]] == [(code, "live")]
    [order] = after["orders"]
    assert (order["channel"], order["discount_codes"]) == ("pos", [code])
    assert [offer["status"] for offer in after["offers"] if offer["code"] == code] == ["redeemed"]


def test_the_post_purchase_journey_presents_no_offer_on_the_shoes(report: dict[str, Any]) -> None:
    after = [message for message in report["messages"] if message["journey"] == "post_purchase"]
    assert [message["step"] for message in after] == ["thank_you", "review_request"]
    assert [message.get("offer") for message in after] == [None, None]
    assert SHOES in report["profiles"][0]["orders"][0]["skus"]


def test_one_offer_was_issued_redeemed_and_never_contradicted(report: dict[str, Any]) -> None:
    metrics = report["metrics"]
    assert (metrics["offers_issued"], metrics["offers_presented"], metrics["offers_redeemed"]) == (1, 2, 1)
    assert metrics["offer_conflicts_prevented"] == 0
    assert metrics["consistency_violations"] == []
