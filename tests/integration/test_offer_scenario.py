"""One offer, every channel (scenarios/one_offer_every_channel.jsonl): the email on Monday and the SMS on
Wednesday show one code, the store redeems it on Thursday, and no offer on the shoes follows. And an offer only
on the products it covers: the same cart reminders about socks alone carry no trail-shoe code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnijourney.app import config
from omnijourney_tools.cli import main
from omnijourney_tools.simulation.metrics import audit
from tests.conftest import EVENTS, sample
from tests.integration.test_scenarios import scenario_report

SHOES = "SHOE-TRAIL-42"
TRAIL_SHOES = ["SHOE-TRAIL-42", "SHOE-TRAIL-43"]  # what spring_shoes covers (config/offers.yaml)
SOCKS = "SOCK-MERINO-M"


def simulate(folder: Path, scenario: Path) -> dict[str, Any]:
    path = folder / "report.json"
    assert main(["simulate", str(scenario), "--report", str(path)]) == 0
    return dict(json.loads(path.read_text()))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario_report(tmp_path_factory, "one_offer_every_channel")


def socks_checkout() -> dict[str, Any]:
    """Shopify's checkouts/create sample with four pairs of socks in place of the trail shoes (59.80 EUR)."""
    body = sample("shopify", "checkouts_create")
    [line] = body["line_items"]
    socks = {"sku": SOCKS, "title": "Merino Running Socks", "price": "14.95", "quantity": 4, "line_price": "59.80"}
    body["line_items"] = [line | socks]
    return body | {key: "59.80" for key in ("total_line_items_price", "subtotal_price", "total_price")}


@pytest.fixture(scope="module")
def socks_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Lena signs up, leaves socks alone in a checkout on Monday and allows SMS on Tuesday; nothing else."""
    folder = tmp_path_factory.mktemp("socks")
    shopify = "shopify"
    lines = [
        {"at": "2026-03-02T18:12:42Z", "source": shopify, "headers": {"X-Shopify-Topic": "customers/create"},
         "file": str(EVENTS / shopify / "customers_create.json")},
        {"at": "2026-03-02T18:13:06Z", "source": shopify, "headers": {"X-Shopify-Topic": "checkouts/create"},
         "body": socks_checkout()},
        {"at": "2026-03-03T08:41:14Z", "source": shopify, "headers": {"X-Shopify-Topic": "customers/update"},
         "file": str(EVENTS / shopify / "customers_update.json")},
        {"at": "2026-03-05T12:00:00Z"},
    ]  # fmt: skip
    scenario = folder / "socks_only.jsonl"
    scenario.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return simulate(folder, scenario)


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


def test_cart_reminders_about_socks_alone_carry_no_trail_shoe_offer(socks_only: dict[str, Any]) -> None:
    reminders = [message for message in socks_only["messages"] if message["journey"] == "abandoned_cart"]
    assert [(m["step"], m["status"], m["template"]) for m in reminders] == [
        ("cart_email", "sent", "abandoned_cart_email"),
        ("cart_sms", "sent", "abandoned_cart_sms"),
    ]
    for message in reminders:
        assert (message["products"], message["offer"]) == ([SOCKS], None)
        assert message["offer_withheld"] == {"offer": "spring_shoes", "reason": "offer_not_on_promoted_products"}
    [profile] = socks_only["profiles"]
    assert profile["offers"] == []  # no code was issued that the customer could bring to the till
    assert socks_only["metrics"]["offers_issued"] == socks_only["metrics"]["offers_presented"] == 0
    assert socks_only["metrics"]["consistency_violations"] == []


def test_a_cart_with_the_trail_shoes_gets_the_offer_its_skus_apart_from_the_products(report: dict[str, Any]) -> None:
    email, sms = [message for message in offered(report) if message["journey"] == "abandoned_cart"]
    for message in (email, sms):
        assert message["template"].startswith("abandoned_cart_offer_")
        assert (message["products"], message["offer"]["skus"]) == ([SHOES], TRAIL_SHOES)
        assert message["offer_withheld"] is None


def test_the_audit_counts_an_offer_beside_products_it_does_not_cover() -> None:
    """A message about socks that showed the trail-shoe code, as the cart SMS did before offers had to cover
    what they are shown beside; and one whose offer names shoes bought the week before."""
    message = {
        "at": "2026-03-04T11:00:00+00:00",
        "customer_id": "cus_lena",
        "execution": "abandoned_cart-1",
        "journey": "abandoned_cart",
        "step": "cart_sms",
        "channel": "sms",
        "category": "marketing",
        "products": [SOCKS],
        "status": "sent",
        "offer": {"offer": "spring_shoes", "code": "SPRING-6298C38AAD89", "discount": "10% off", "skus": TRAIL_SHOES},
    }
    bought_shoes = {"orders": [{"at": "2026-02-25T10:00:00+00:00", "skus": [SHOES], "state": "placed"}], "offers": []}
    nothing_bought: dict[str, Any] = {"orders": [], "offers": []}
    rules = config.consistency()

    def broken(sent: dict[str, Any], profile: dict[str, Any]) -> list[str]:
        return [found["rule"] for found in audit([sent], {"cus_lena": profile}, {}, rules, {})]

    assert broken(message, nothing_bought) == ["offer_on_uncovered_product"]
    assert broken(message | {"products": [SOCKS, "SHOE-TRAIL-43"]}, nothing_bought) == []
    assert broken(message | {"products": ["SHOE-TRAIL-43"]}, bought_shoes) == ["named_a_product_already_bought"]
    assert broken(message | {"offer": None}, bought_shoes) == []
