"""Junk identifiers never merge: two strangers who both type "@" and test@test.com keep a profile and a cart each."""

from __future__ import annotations

import pytest

from tests.integration.test_scenarios import Report, consistent, lookup, scenario_report

ANA_DEVICE = "9b1e2c44-0d6f-4f0a-8e21-5a7c3d9e1f01"
BEN_DEVICE = "e4d7a1b0-62c3-4b9e-a5f8-0c2d4e6f8a13"


@pytest.fixture(scope="module")
def junk(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "junk_identifiers_never_merge")


def test_identifies_with_a_junk_email_are_accepted_and_the_rest_applies(junk: Report) -> None:
    assert [entry["status"] for entry in junk["inputs"]][:6] == [202] * 6
    ana = lookup(junk, 10)["profile"]
    assert ana["identifiers"]["loyalty_id"] == ["LOY-300001"]  # given beside "@" in the same identify


def test_a_junk_user_id_beside_a_valid_device_id_is_dropped_and_the_rest_applies(junk: Report) -> None:
    """Segment's server-side libraries batch many users and do not retry a 400: refusing Ben's identify for its
    placeholder userId would lose it, and every other message in the batch."""
    assert (junk["inputs"][6]["status"], junk["inputs"][6]["error"]) == (202, None)
    ben = lookup(junk, 11)["profile"]
    assert (ben["identifiers"]["user_id"], ben["identifiers"]["email"]) == ([], ["ben@example.com"])


def test_the_junk_emails_find_nobody(junk: Report) -> None:
    assert [lookup(junk, line)["status"] for line in (8, 9)] == [404, 404]


def test_each_shopper_keeps_their_own_profile_and_cart(junk: Report) -> None:
    ana, ben = lookup(junk, 10)["profile"], lookup(junk, 11)["profile"]
    assert ana["customer_id"] != ben["customer_id"]
    assert (ana["identifiers"]["anonymous_id"], [item["sku"] for item in ana["cart"]["items"]]) == (
        [ANA_DEVICE],
        ["SHOE-TRAIL-42"],
    )
    assert (ben["identifiers"]["anonymous_id"], [item["sku"] for item in ben["cart"]["items"]]) == (
        [BEN_DEVICE],
        ["SOCK-MERINO-M"],
    )
    # Only Ben's real email: neither shopper is linked through a junk one.
    assert [profile["identifiers"]["email"] for profile in junk["profiles"]] == [[], ["ben@example.com"]]
    consistent(junk)


def test_a_national_phone_is_read_in_the_country_of_the_device_locale(junk: Report) -> None:
    """Ben's app reports en-US: his "(212) 555-0147" is a New York number, not a German one."""
    assert lookup(junk, 11)["profile"]["identifiers"]["phone"] == ["+12125550147"]
