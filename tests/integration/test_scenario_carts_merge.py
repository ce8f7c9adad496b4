"""Two devices' carts merge in either order: each customer adds one item on the web and another in the app, then
identifies on both with the same email (Mia on the web first, Noah in the app first); the store finds both items."""

from __future__ import annotations

import pytest

from tests.integration.test_scenarios import Report, consistent, lookup, scenario_report

MIA_LOOKUP, NOAH_LOOKUP = 9, 10


@pytest.fixture(scope="module")
def carts(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "two_devices_carts_merge")


def test_every_delivery_is_accepted(carts: Report) -> None:
    assert [entry["status"] for entry in carts["inputs"] if entry["line"] < MIA_LOOKUP] == [202] * 8


@pytest.mark.parametrize("line", [MIA_LOOKUP, NOAH_LOOKUP], ids=["web identified first", "app identified first"])
def test_the_store_finds_both_devices_items_in_one_cart(carts: Report, line: int) -> None:
    found = lookup(carts, line)
    assert found["status"] == 200
    profile = found["profile"]
    assert sorted(item["sku"] for item in profile["cart"]["items"]) == ["SHOE-TRAIL-42", "SOCK-MERINO-M"]
    assert len(profile["identifiers"]["anonymous_id"]) == 2  # both devices, one profile


def test_the_two_customers_stay_apart(carts: Report) -> None:
    mia, noah = lookup(carts, MIA_LOOKUP)["profile"], lookup(carts, NOAH_LOOKUP)["profile"]
    assert mia["customer_id"] != noah["customer_id"]
    assert set(mia["identifiers"]["anonymous_id"]).isdisjoint(noah["identifiers"]["anonymous_id"])


def test_the_run_is_consistent(carts: Report) -> None:
    consistent(carts)
