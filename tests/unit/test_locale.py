"""The customer's language: read from what each channel reports, written as a BCP 47 tag, and stamped on the
profile like the timezone, so the latest event's wins whatever order events arrive in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from omnijourney.edge.sources import get_source
from omnijourney.events import CanonicalEvent, locale_tag
from omnijourney.journeys.validation import shop_problems
from omnijourney.profiles.model import apply_event, merge_profiles, new_profile
from omnijourney.profiles.view import profile_view
from tests.conftest import RECEIVED_AT, delivery, lena, sample
from tests.unit.test_sources import edited


def parsed(source: str, case: str, edit: Any = None) -> CanonicalEvent:
    given = edited(source, case, edit) if edit else delivery(source, case)
    [event] = get_source(source).parse(given)
    return event


@pytest.mark.parametrize(
    ("given", "tag"),
    [
        ("de-DE", "de-DE"),
        ("de_de", "de-DE"),
        ("en-us", "en-US"),
        ("zh_Hant_TW", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("en-US-POSIX", "en-US"),
        ("fr_FR.UTF-8", "fr-FR"),
        ("POSIX", None),
        ("C", None),
        ("und", None),
        ("English", None),
        ("", None),
        (49, None),
    ],
)
def test_a_locale_is_written_as_a_language_tag_or_dropped(given: object, tag: str | None) -> None:
    assert locale_tag(given) == tag


def test_segment_reads_the_devices_locale() -> None:
    assert parsed("segment", "product_viewed").locale == "de-DE"
    assert parsed("segment", "page", lambda body: body["context"].update(locale="pt_br")).locale == "pt-BR"


def test_an_unreadable_locale_is_dropped_and_the_event_still_applies() -> None:
    event = parsed("segment", "page", lambda body: body["context"].update(locale="POSIX"))
    assert event.locale is None


def test_shopify_orders_and_checkouts_carry_the_customers_storefront_language() -> None:
    assert parsed("shopify", "orders_create").locale == "de-DE"
    assert parsed("shopify", "orders_create_us_phone").locale == "en-US"
    assert parsed("shopify", "checkouts_create").locale == "de-DE"
    customer = parsed("shopify", "customers_create", lambda body: body.update(locale="fr"))
    assert customer.locale == "fr"


def test_zendesk_reads_the_requesters_locale_where_the_body_has_it() -> None:
    assert parsed("zendesk", "ticket_created").locale is None
    ticket = parsed("zendesk", "ticket_created", lambda body: body["requester"].update(locale="en-gb"))
    assert ticket.locale == "en-GB"
    user = parsed("zendesk", "native_user_created", lambda body: body["detail"].update(locale="de"))
    assert user.locale == "de"


def test_the_latest_events_locale_wins_in_any_arrival_order() -> None:
    from omnijourney.app import config

    german = parsed("segment", "page")
    english = parsed("shopify", "orders_create_us_phone")
    later, earlier = sorted((german, english), key=lambda event: event.occurred_at, reverse=True)
    start = new_profile("cus_lena", RECEIVED_AT)
    in_order = apply_event(apply_event(start, earlier, config.lifecycle()), later, config.lifecycle())
    reversed_order = apply_event(apply_event(start, later, config.lifecycle()), earlier, config.lifecycle())
    assert in_order.locale == reversed_order.locale == later.locale
    apart = merge_profiles(
        apply_event(start, earlier, config.lifecycle()),
        apply_event(new_profile("cus_other", RECEIVED_AT), later, config.lifecycle()),
    )
    assert apart.locale == later.locale


def test_the_profile_view_shows_the_locale() -> None:
    from omnijourney.app import config

    profile = lena(("segment", "identify_app"))
    assert profile_view(profile, config.lifecycle(), RECEIVED_AT)["locale"] == "de-DE"
    assert sample("segment", "identify_app")["context"]["locale"] == "de-DE"


def test_a_shop_language_that_is_not_one_is_said_at_its_line_when_validating(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text("currency: EUR\nlocale: german\n")
    [problem] = shop_problems(tmp_path)
    assert str(problem) == f"{tmp_path}/shop.yaml:2:1: locale: 'german' is not a language; write e.g. en, de or de-DE"
    assert shop_problems(tmp_path / "missing") == []
