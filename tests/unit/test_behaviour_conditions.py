"""What a segment reads beside the profile: what the customer did and when, days since, dates in their timezone; and
`reachable_by`, which asks the same consent rule the guards apply at send time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import JsonValue

from omnijourney.events import Channel, ConsentChannel, ConsentStatus, OrderState
from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.contract import Entry
from omnijourney.journeys.language import Condition, Policy, SegmentCondition, Send
from omnijourney.profiles.model import Consent, OrderSummary, Profile
from omnijourney.runtime.conditions import Facts, Happened, holds, segment_holds, window_start
from omnijourney.runtime.consistency import consistency, products
from omnijourney.runtime.guards import Decision, decide
from omnijourney.vocabulary import Reason

BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
# 11:30 UTC on 14 March 2026: already 15 March 00:30 in Auckland (NZDT, +13), still 14 March 04:30 in Los Angeles.
SAME_INSTANT = datetime(2026, 3, 14, 11, 30, tzinfo=UTC)


def profile(**fields: object) -> Profile:
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return Profile.model_validate({"customer_id": "cus_1", "created_at": at, "updated_at": at, **fields})


def segment(**when: object) -> SegmentCondition:
    return SegmentCondition.model_validate(when)


def viewed(at: datetime, category: str = "Running Shoes", type_: str = "product_viewed") -> Happened:
    fields: dict[str, JsonValue] = {
        "name": "Product Viewed",
        "channel": "web",
        "source": "segment",
        "properties": {"category": category},
    }
    return Happened(type_, "Product Viewed", at, fields)


def order(at: datetime, order_id: str = "web-1") -> OrderSummary:
    return OrderSummary.model_validate(
        {"order_id": order_id, "channel": Channel.web, "at": at, "total": "50", "currency": "EUR", "skus": ["SKU-1"]}
    )


# did / did_not ----------------------------------------------------------------------------------------------

BROWSED = {"did": {"event": "product_viewed", "at_least": 2, "within_days": 3}}
NOW = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)  # 11:00 in Berlin, Thursday 12 March


def test_two_views_within_three_days_put_the_customer_in() -> None:
    facts = Facts(NOW, BERLIN, (viewed(NOW - timedelta(days=2)), viewed(NOW - timedelta(hours=1))))
    assert segment_holds(segment(**BROWSED), profile(), facts)


def test_one_view_is_not_enough() -> None:
    facts = Facts(NOW, BERLIN, (viewed(NOW - timedelta(hours=1)),))
    assert not segment_holds(segment(**BROWSED), profile(), facts)


def test_the_window_is_calendar_days_in_the_customers_timezone() -> None:
    # 10 March 00:30 in Berlin is 9 March 23:30 UTC: inside "today and the two days before" on the 12th in Berlin.
    early_on_the_tenth = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    facts = Facts(NOW, BERLIN, (viewed(early_on_the_tenth), viewed(NOW)))
    assert segment_holds(segment(**BROWSED), profile(), facts)
    # The same views, read in Los Angeles: the first was on the 9th there, outside the window.
    assert not segment_holds(segment(**BROWSED), profile(), Facts(NOW, LOS_ANGELES, facts.history))
    assert window_start(NOW, BERLIN, 3) == datetime(2026, 3, 10, tzinfo=BERLIN)


def test_where_narrows_what_counts() -> None:
    shoes = segment(did={**BROWSED["did"], "where": {"properties.category": {"equals": "Running Shoes"}}})
    socks_and_shoes = Facts(NOW, BERLIN, (viewed(NOW, "Socks"), viewed(NOW - timedelta(hours=2))))
    assert not segment_holds(shoes, profile(), socks_and_shoes)
    assert segment_holds(shoes, profile(), Facts(NOW, BERLIN, (viewed(NOW), viewed(NOW - timedelta(hours=2)))))


def test_did_not_keeps_out_a_customer_who_added_to_the_cart() -> None:
    browsed_not_bought = segment(**BROWSED, did_not={"event": "cart_updated", "within_days": 3})
    views = (viewed(NOW - timedelta(days=1)), viewed(NOW))
    assert segment_holds(browsed_not_bought, profile(), Facts(NOW, BERLIN, views))
    added = viewed(NOW - timedelta(hours=3), type_="cart_updated")
    assert not segment_holds(browsed_not_bought, profile(), Facts(NOW, BERLIN, (*views, added)))
    # Added four days ago: outside the window, so it no longer keeps them out.
    long_ago = viewed(NOW - timedelta(days=4), type_="cart_updated")
    assert segment_holds(browsed_not_bought, profile(), Facts(NOW, BERLIN, (*views, long_ago)))


# days_since ------------------------------------------------------------------------------------------------


def test_days_since_the_last_and_first_order_and_the_last_message() -> None:
    customer = profile(orders=[order(NOW - timedelta(days=100), "web-1"), order(NOW - timedelta(days=61), "web-2")])
    facts = Facts(NOW, BERLIN, last_message_at=NOW - timedelta(days=10))
    assert segment_holds(segment(days_since={"last_order": {"at_least": 60}}), customer, facts)
    assert not segment_holds(segment(days_since={"last_order": {"at_least": 62}}), customer, facts)
    assert segment_holds(segment(days_since={"first_order": {"at_least": 100}}), customer, facts)
    assert segment_holds(segment(days_since={"last_message": {"at_most": 10}}), customer, facts)
    assert not segment_holds(segment(days_since={"last_message": {"at_least": 11}}), customer, facts)


def test_no_order_and_no_message_match_no_days_since() -> None:
    facts = Facts(NOW, BERLIN)
    assert not segment_holds(segment(days_since={"last_order": {"at_least": 0}}), profile(), facts)
    assert not segment_holds(segment(days_since={"last_message": {"at_least": 0}}), profile(), facts)


def test_a_cancelled_order_is_no_last_order() -> None:
    cancelled = order(NOW - timedelta(days=1)).model_copy(update={"state": OrderState.cancelled})
    customer = profile(orders=[order(NOW - timedelta(days=90), "web-0"), cancelled])
    assert segment_holds(segment(days_since={"last_order": {"at_least": 90}}), customer, Facts(NOW, BERLIN))


# dates -----------------------------------------------------------------------------------------------------

BIRTHDAY_TODAY = {"date": {"trait": "birthday", "is": "today"}}


def test_a_birthday_is_today_in_auckland_and_not_yet_in_los_angeles_at_the_same_instant() -> None:
    customer = profile(traits={"birthday": "1988-03-15"})
    assert segment_holds(segment(**BIRTHDAY_TODAY), customer, Facts(SAME_INSTANT, AUCKLAND))
    assert not segment_holds(segment(**BIRTHDAY_TODAY), customer, Facts(SAME_INSTANT, LOS_ANGELES))
    # Half a day later it is the 15th in Los Angeles too.
    assert segment_holds(segment(**BIRTHDAY_TODAY), customer, Facts(SAME_INSTANT + timedelta(hours=20), LOS_ANGELES))


def test_a_birthday_without_a_year_and_one_with_a_time() -> None:
    for value in ("--03-15", "1988-03-15T00:00:00.000Z"):
        assert segment_holds(
            segment(**BIRTHDAY_TODAY), profile(traits={"birthday": value}), Facts(SAME_INSTANT, AUCKLAND)
        )


@pytest.mark.parametrize("value", ["15.03.1988", "", "--13-40", 19880315, None])
def test_what_is_not_a_date_is_nobodys_birthday(value: object) -> None:
    assert not segment_holds(
        segment(**BIRTHDAY_TODAY), profile(traits={"birthday": value}), Facts(SAME_INSTANT, AUCKLAND)
    )


def test_within_the_next_days_counts_today_and_wraps_round_the_year() -> None:
    coming = segment(date={"trait": "birthday", "within_next_days": 7})
    new_year = datetime(2026, 12, 28, 12, 0, tzinfo=UTC)
    assert segment_holds(coming, profile(traits={"birthday": "1990-01-03"}), Facts(new_year, BERLIN))
    assert segment_holds(coming, profile(traits={"birthday": "1990-12-28"}), Facts(new_year, BERLIN))
    assert not segment_holds(coming, profile(traits={"birthday": "1990-12-27"}), Facts(new_year, BERLIN))


def test_29_february_is_celebrated_on_the_28th_in_other_years() -> None:
    leap_baby = profile(traits={"birthday": "2000-02-29"})
    assert segment_holds(segment(**BIRTHDAY_TODAY), leap_baby, Facts(datetime(2026, 2, 28, 12, tzinfo=UTC), BERLIN))
    assert segment_holds(segment(**BIRTHDAY_TODAY), leap_baby, Facts(datetime(2028, 2, 29, 12, tzinfo=UTC), BERLIN))


def test_the_day_turns_at_local_midnight_across_a_dst_change() -> None:
    # Berlin goes to summer time on 29 March 2026 at 02:00: midnight of the 30th is 22:00 UTC on the 29th.
    customer = profile(traits={"birthday": "1990-03-30"})
    assert not segment_holds(
        segment(**BIRTHDAY_TODAY), customer, Facts(datetime(2026, 3, 29, 21, 59, tzinfo=UTC), BERLIN)
    )
    assert segment_holds(segment(**BIRTHDAY_TODAY), customer, Facts(datetime(2026, 3, 29, 22, 0, tzinfo=UTC), BERLIN))


def test_a_one_off_date_is_that_day_only() -> None:
    renewal = segment(date={"trait": "renewal", "every_year": False, "within_next_days": 7})
    assert segment_holds(renewal, profile(traits={"renewal": "2026-03-16"}), Facts(NOW, BERLIN))
    assert not segment_holds(renewal, profile(traits={"renewal": "2025-03-16"}), Facts(NOW, BERLIN))


def test_the_first_orders_anniversary_is_not_its_own_day() -> None:
    anniversary = segment(date={"anniversary_of": "first_order", "is": "today"})
    a_year_on = profile(orders=[order(NOW - timedelta(days=365))])
    assert segment_holds(anniversary, a_year_on, Facts(NOW, BERLIN))
    assert not segment_holds(anniversary, profile(orders=[order(NOW - timedelta(hours=1))]), Facts(NOW, BERLIN))


# reachable_by -------------------------------------------------------------------------------------------------


def with_phone(consent: ConsentStatus | None) -> Profile:
    given = {} if consent is None else {ConsentChannel.sms: Consent(status=consent, updated_at=NOW, source="twilio")}
    return profile(identifiers={IdentifierKind.phone: ("+4915123456789",)}, consent=given)


def test_reachable_by_sms_means_marketing_sms_may_be_sent_which_needs_an_opt_in() -> None:
    by_sms = Condition(reachable_by=[ConsentChannel.sms])
    assert not holds(by_sms, with_phone(None), None)  # a phone, no opt-in: marketing SMS would be held no_consent
    assert holds(by_sms, with_phone(ConsentStatus.subscribed), None)
    assert not holds(by_sms, with_phone(ConsentStatus.unsubscribed), None)


def test_reachable_for_another_category_asks_that_categorys_rule() -> None:
    transactional = Condition.model_validate({"reachable_by": ["sms"], "reachable_for": "transactional"})
    assert holds(transactional, with_phone(None), None)  # no opt-in needed for a transactional SMS
    assert not holds(transactional, with_phone(ConsentStatus.unsubscribed), None)  # STOP holds every SMS


def test_reachable_by_and_the_send_guards_agree() -> None:
    sms = Send(channel="sms", template="abandoned_cart_sms", category="marketing")
    policy = Policy(journey="any", priority=50)
    by_sms = Condition(reachable_by=[ConsentChannel.sms])
    for consent in (None, ConsentStatus.subscribed, ConsentStatus.unsubscribed, ConsentStatus.unknown):
        customer = with_phone(consent)
        decision: Decision = decide(
            journey=policy,
            send=sms,
            profile=customer,
            entry=Entry(event_id="e", type="identify", channel="web", source="segment", at=NOW),
            since_entry=[],
            sent=[],
            rules=consistency(),
            catalog=products(),
            now=NOW,
        )
        assert holds(by_sms, customer, None) == (decision.reason not in (Reason.no_consent, Reason.opted_out))


def test_an_exit_condition_that_holds_ends_the_run_at_the_send() -> None:
    policy = Policy.model_validate(
        {"journey": "birthday", "priority": 60, "exit_when": [{"when": {"segment": "opted_out_everywhere"}}]}
    )
    email = Send(channel="email", template="birthday_email", category="marketing")
    entry = Entry(event_id="e", type="segment", channel="segment", source="segment", at=NOW)
    reachable = profile(identifiers={IdentifierKind.email: ("ada@example.com",)})
    opted_out = reachable.model_copy(update={"segments": {"opted_out_everywhere": "evt-9"}})
    rules, catalog = consistency(), products()
    common = {"journey": policy, "send": email, "entry": entry, "since_entry": [], "sent": [], "now": NOW}
    kept = decide(profile=reachable, rules=rules, catalog=catalog, **common)  # type: ignore[arg-type]
    ended = decide(profile=opted_out, rules=rules, catalog=catalog, **common)  # type: ignore[arg-type]
    assert (kept.status, ended.status, ended.reason) == ("send", "exited", "exit_condition")
