"""One offer, every channel: issued once with one code, conflicts resolved, closed by use or expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnijourney.app import config
from omnijourney.edge.sources import get_source
from omnijourney.offers import OffersConfig, present
from omnijourney.platform.configfile import ConfigError, load
from omnijourney.profiles.model import IssuedOffer, Profile, apply_event
from tests.conftest import ROOT, delivery, lena

MONDAY = datetime(2026, 3, 2, 19, 13, tzinfo=UTC)
OFFERS = config.offers()
# What the message presenting the offer promotes: the trail shoes in the cart, or the care kit cross-sold.
SHOES = ("SHOE-TRAIL-42",)
CARE_KIT = ("SOCK-MERINO-M", "CARE-KIT")


def issue(profile: Profile, name: str = "spring_shoes", channel: str = "email", at: datetime = MONDAY) -> IssuedOffer:
    offer = present(name, OFFERS, profile, promotes=SHOES, channel=channel, at=at, journey="abandoned_cart")
    assert isinstance(offer, IssuedOffer), offer
    return offer


def with_offer(profile: Profile, offer: IssuedOffer) -> Profile:
    return profile.model_copy(update={"offers": (*profile.offers, offer)})


def test_a_new_offer_gets_a_shopify_style_code_and_its_expiry() -> None:
    offer = issue(lena(("segment", "checkout_started")))
    assert offer.code.startswith("SPRING-")
    assert offer.code.replace("-", "").isalnum()
    assert (offer.discount, offer.skus) == ("10% off", ("SHOE-TRAIL-42", "SHOE-TRAIL-43"))
    assert offer.expires_at == MONDAY + timedelta(days=7)


def test_the_sms_two_days_later_presents_the_same_code_as_the_email() -> None:
    profile = lena(("segment", "checkout_started"))
    email_offer = issue(profile)
    sms_offer = issue(with_offer(profile, email_offer), channel="sms", at=MONDAY + timedelta(days=2))
    assert sms_offer == email_offer


def test_a_second_offer_on_the_same_shoes_is_not_issued_the_live_one_is_presented() -> None:
    profile = lena(("segment", "checkout_started"))
    shoes_offer = issue(profile)
    rival = OFFERS.model_copy(
        update={
            "offers": OFFERS.offers
            | {"more_off": OFFERS.offers["spring_shoes"].model_copy(update={"code_prefix": "MORE"})}
        }
    )
    presented = present(
        "more_off",
        rival,
        with_offer(profile, shoes_offer),
        promotes=SHOES,
        channel="email",
        at=MONDAY,
        journey="win_back",
    )
    assert presented == shoes_offer


def test_with_suppress_configured_a_conflicting_offer_holds_the_message() -> None:
    profile = lena(("segment", "checkout_started"))
    shoes_offer = issue(profile)
    strict = OFFERS.model_copy(
        update={
            "conflicts": OFFERS.conflicts.model_copy(update={"same_sku": "suppress"}),
            "offers": OFFERS.offers | {"more_off": OFFERS.offers["spring_shoes"]},
        }
    )
    assert present(
        "more_off", strict, with_offer(profile, shoes_offer), promotes=SHOES, channel="email", at=MONDAY, journey="x"
    ) == ("offer_conflict")


def test_the_code_used_at_the_pos_closes_the_offer_everywhere() -> None:
    profile = lena(("segment", "checkout_started"))
    offer = issue(profile)
    pos = get_source("shopify").parse(delivery("shopify", "orders_create_pos"))[0]
    order = pos.order.model_copy(update={"discount_codes": (offer.code.lower(),)})  # codes are case-insensitive
    redeemed = apply_event(with_offer(profile, offer), pos.model_copy(update={"order": order}), config.lifecycle())
    [closed] = redeemed.offers
    assert (closed.status, closed.order_id) == ("redeemed", order.order_id)
    later = MONDAY + timedelta(days=3)
    assert (
        present("spring_shoes", OFFERS, redeemed, promotes=SHOES, channel="sms", at=later, journey="abandoned_cart")
        == "offer_used"
    )


def test_an_expired_offer_is_never_presented_again() -> None:
    profile = lena(("segment", "checkout_started"))
    offer = issue(profile)
    after = offer.expires_at + timedelta(minutes=1)
    assert offer.status_at(after) == "expired"
    assert present(
        "spring_shoes", OFFERS, with_offer(profile, offer), promotes=SHOES, channel="email", at=after, journey="x"
    ) == ("offer_expired")


def test_no_offer_on_shoes_bought_at_full_price_this_month() -> None:
    bought = lena(("shopify", "orders_create_pos"))
    at = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    assert (
        present("spring_shoes", OFFERS, bought, promotes=SHOES, channel="email", at=at, journey="x")
        == "bought_at_full_price"
    )


def test_a_reminder_about_socks_alone_presents_no_trail_shoe_offer() -> None:
    profile = lena(("segment", "checkout_started"))
    socks = ("SOCK-MERINO-M",)
    assert present("spring_shoes", OFFERS, profile, promotes=socks, channel="email", at=MONDAY, journey="x") == (
        "offer_not_on_promoted_products"
    )
    assert present("spring_shoes", OFFERS, profile, promotes=(), channel="email", at=MONDAY, journey="x") == (
        "offer_not_on_promoted_products"
    )


def test_the_live_shoes_code_is_not_repeated_in_a_reminder_about_socks_alone() -> None:
    profile = lena(("segment", "checkout_started"))
    live = with_offer(profile, issue(profile))
    later = MONDAY + timedelta(days=2)
    assert present("spring_shoes", OFFERS, live, promotes=SHOES, channel="sms", at=later, journey="x") == live.offers[0]
    assert present("spring_shoes", OFFERS, live, promotes=("SOCK-MERINO-M",), channel="sms", at=later, journey="x") == (
        "offer_not_on_promoted_products"
    )


def test_a_live_rival_offer_that_misses_the_promoted_shoes_is_not_shown_instead() -> None:
    """The customer holds a code for size 43 only; a message about size 42 may neither show it nor issue a second
    offer on size 43."""
    size_43 = OFFERS.offers["spring_shoes"].model_copy(update={"skus": ["SHOE-TRAIL-43"], "code_prefix": "FORTY3"})
    rival = OFFERS.model_copy(update={"offers": OFFERS.offers | {"size_43": size_43}})
    profile = lena(("segment", "checkout_started"))
    held = present("size_43", rival, profile, promotes=("SHOE-TRAIL-43",), channel="email", at=MONDAY, journey="x")
    assert isinstance(held, IssuedOffer)
    assert present(
        "spring_shoes", rival, with_offer(profile, held), promotes=SHOES, channel="email", at=MONDAY, journey="x"
    ) == ("offer_conflict")


def test_no_offer_beside_shoes_bought_at_full_price_this_month_even_on_another_product() -> None:
    bought = lena(("shopify", "orders_create_pos"))
    at = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    beside_the_shoes = ("SHOE-TRAIL-42", "CARE-KIT")
    assert present(
        "care_kit_bundle", OFFERS, bought, promotes=beside_the_shoes, channel="email", at=at, journey="x"
    ) == ("bought_at_full_price")
    assert isinstance(
        present("care_kit_bundle", OFFERS, bought, promotes=CARE_KIT, channel="email", at=at, journey="x"), IssuedOffer
    )


def test_a_fixed_window_offer_opens_and_closes_at_midnight_in_the_shops_timezone() -> None:
    """care_kit_bundle is valid from 2026-03-01 until 2026-06-30 in Berlin (UTC+1 in March, UTC+2 in summer)."""
    profile = lena(("segment", "checkout_started"))

    def presented(at: datetime) -> IssuedOffer | str:
        return present("care_kit_bundle", OFFERS, profile, promotes=CARE_KIT, channel="email", at=at, journey="x")

    assert OFFERS.timezone == "Europe/Berlin"
    assert presented(datetime(2026, 2, 20, 9, 0, tzinfo=UTC)) == "offer_not_open"
    assert presented(datetime(2026, 2, 28, 22, 59, tzinfo=UTC)) == "offer_not_open"  # 23:59 on 28 February there
    opening = presented(datetime(2026, 2, 28, 23, 0, tzinfo=UTC))  # midnight on 1 March there
    assert isinstance(opening, IssuedOffer)
    assert opening.expires_at == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)  # the end of 30 June there
    assert isinstance(presented(datetime(2026, 6, 30, 21, 59, tzinfo=UTC)), IssuedOffer)
    assert presented(datetime(2026, 6, 30, 22, 0, tzinfo=UTC)) == "offer_not_open"


def test_without_a_timezone_the_window_is_read_in_utc(tmp_path: Path) -> None:
    shipped = (ROOT / "config" / "offers.yaml").read_text()
    path = tmp_path / "offers.yaml"
    path.write_text(shipped.replace("timezone: Europe/Berlin\n", ""))
    offers = load(path, OffersConfig)
    profile = lena(("segment", "checkout_started"))
    first_of_march = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert present(
        "care_kit_bundle", offers, profile, promotes=CARE_KIT, channel="email", at=first_of_march, journey="x"
    ) != ("offer_not_open")
    assert (
        present(
            "care_kit_bundle",
            offers,
            profile,
            promotes=CARE_KIT,
            channel="email",
            at=first_of_march - timedelta(minutes=1),
            journey="x",
        )
        == "offer_not_open"
    )


def test_an_invalid_offers_file_is_reported_at_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "offers.yaml"
    path.write_text(
        "offers:\n"
        "  spring:\n"
        "    discount: {percent: 10, amount: 5, currency: EUR}\n"
        "    skus: [SHOE-TRAIL-42]\n"
        "    valid: {days: 7}\n"
        "    channels: [email, fax]\n"
        "    issued_by: [abandoned_cart]\n"
        "    code_prefix: spring\n"
        "    priorty: 3\n"
        "timezone: Berlin\n"
    )
    with pytest.raises(ConfigError) as error:
        load(path, OffersConfig)
    assert [str(problem).removeprefix(f"{path}:") for problem in error.value.problems] == [
        "3:5: offers.spring.discount: a discount is either `percent` or `amount` (with `currency`)",
        "6:23: offers.spring.channels[1]: 'fax' is not allowed; choose one of email, sms, push, in_store, "
        "call_center, webhook, sales_task",
        "8:5: offers.spring.code_prefix: 'spring' is not valid here; expected codes look like PREFIX-7K2M9Q4D",
        "9:5: offers.spring.priorty: unknown key 'priorty' (did you mean 'priority'?); allowed here: description, "
        "discount, skus, valid, channels, issued_by, priority, code_prefix",
        "10:1: timezone: 'Berlin' is not an IANA timezone such as Europe/Berlin",
    ]


def test_the_shipped_offers_file_is_valid() -> None:
    assert sorted(load(ROOT / "config" / "offers.yaml", OffersConfig).offers) == ["care_kit_bundle", "spring_shoes"]
