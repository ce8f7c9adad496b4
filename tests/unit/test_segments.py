"""config/segments.yaml: checked at its line with plain words, evaluated in order, and its membership computed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnijourney.events import EventType
from omnijourney.journeys.language import Journey
from omnijourney.journeys.segments import SEGMENTS_FILE, SegmentsConfig, journey_segment_problems, load_segments
from omnijourney.platform.configfile import ConfigError, config_dir
from omnijourney.profiles.model import Profile
from omnijourney.runtime.conditions import Facts, segments_now

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def problems_in(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / SEGMENTS_FILE
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_segments(path)
    return [str(problem) for problem in error.value.problems]


def test_the_shipped_segments_load() -> None:
    shipped = load_segments(config_dir() / SEGMENTS_FILE)
    assert {"birthday_today", "browsed_not_bought", "opted_out_everywhere", "vip"} <= set(shipped.segments)
    # Only the segments time changes are evaluated daily.
    assert shipped.timed == {"birthday_today", "browsed_not_bought"}


def test_a_segment_that_refers_to_itself_through_others_is_refused_at_its_line(tmp_path: Path) -> None:
    found = problems_in(
        tmp_path,
        "segments:\n"
        "  loyal: {when: {segment: vip}}\n"
        "  vip: {when: {segments: {any_of: [big_spender]}}}\n"
        "  big_spender: {when: {segment: loyal}}\n",
    )
    assert found == [
        f"{tmp_path / SEGMENTS_FILE}:4:3: segments.big_spender: segment 'big_spender' refers to itself: "
        "big_spender → loyal → vip → big_spender"
    ]


def test_an_unknown_segment_gets_a_did_you_mean(tmp_path: Path) -> None:
    found = problems_in(
        tmp_path, "segments:\n  vip: {when: {orders: {at_least: 3}}}\n  loyal: {when: {segment: vpi}}\n"
    )
    assert found == [
        f"{tmp_path / SEGMENTS_FILE}:3:18: segments.loyal.when.segment: no segment 'vpi' in config/segments.yaml "
        "(did you mean 'vip'?); it defines loyal, vip"
    ]


def test_a_window_longer_than_the_history_is_refused(tmp_path: Path) -> None:
    (found,) = problems_in(
        tmp_path, "segments:\n  fans:\n    when:\n      did: {event: product_viewed, within_days: 120}\n"
    )
    assert found.endswith(
        "segments.fans.when.did.within_days: the history keeps 90 days of events; a window of 120 days would count "
        "only the last 90: use within_days: 90 or less"
    )


def test_a_date_from_a_trait_not_declared_as_a_date_is_refused(tmp_path: Path) -> None:
    (found,) = problems_in(tmp_path, "segments:\n  party:\n    when: {date: {trait: birth_day, is: today}}\n")
    assert "trait 'birth_day' is not listed under date_traits (did you mean 'birthday'?)" in found


def test_history_fields_a_did_cannot_test_are_named(tmp_path: Path) -> None:
    (found,) = problems_in(
        tmp_path,
        "segments:\n  big_carts:\n    when:\n"
        "      did: {event: checkout_started, within_days: 3, where: {cart_value: {at_least: 50}}}\n",
    )
    assert "the history keeps no 'cart_value'" in found
    assert "properties.<name>" in found


def test_a_segment_has_no_starting_event(tmp_path: Path) -> None:
    (found,) = problems_in(tmp_path, "segments:\n  big:\n    when: {event: {cart_value: {at_least: 50}}}\n")
    assert "a segment has no starting event" in found


def test_a_journey_naming_an_unknown_segment_is_told_where(tmp_path: Path) -> None:
    config = SegmentsConfig.model_validate({"segments": {"vip": {"when": {"orders": {"at_least": 3}}}}})
    journey = Journey.model_validate(
        {
            "journey": "thanks",
            "entry": {"segment": "vips"},
            "exit_when": [{"when": {"segments": {"none_of": ["vip", "vipp"]}}}],
            "steps": [{"id": "done", "exit": "done"}],
        }
    )
    assert journey_segment_problems(journey, config) == [
        (("entry", "segment"), "no segment 'vips' in config/segments.yaml (did you mean 'vip'?); it defines vip"),
        (
            ("exit_when", 0, "when", "segments", "none_of", 1),
            "no segment 'vipp' in config/segments.yaml (did you mean 'vip'?); it defines vip",
        ),
    ]


def test_history_keeps_only_the_properties_a_segment_tests() -> None:
    config = SegmentsConfig.model_validate(
        {
            "segments": {
                "shoe_browsers": {
                    "when": {
                        "did": {
                            "event": "product_viewed",
                            "within_days": 7,
                            "where": {"properties.category": {"equals": "Running Shoes"}, "channel": {"equals": "web"}},
                        }
                    }
                }
            }
        }
    )
    assert config.history_properties(EventType.product_viewed) == {"category"}
    assert config.history_properties(EventType.page_viewed) == frozenset()


def test_membership_follows_references_in_order_and_keeps_what_put_the_customer_in() -> None:
    config = SegmentsConfig.model_validate(
        {
            "segments": {
                "loyal_and_reachable": {"when": {"segment": "loyal", "reachable_by": ["email"]}},
                "loyal": {"when": {"tags": ["loyal"]}},
            }
        }
    )
    assert config.order == ["loyal", "loyal_and_reachable"]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    customer = Profile.model_validate(
        {
            "customer_id": "cus_1",
            "created_at": at,
            "updated_at": at,
            "tags": ["loyal"],
            "identifiers": {"email": ["ada@example.com"]},
            "segments": {"loyal": "evt-1"},
        }
    )
    facts = Facts(NOW, ZoneInfo("Europe/Berlin"))
    members = segments_now(config, customer, facts, set(config.segments), "evt-2").members
    assert members == {"loyal": "evt-1", "loyal_and_reachable": "evt-2"}
    untagged = customer.model_copy(update={"tags": (), "segments": members})
    assert segments_now(config, untagged, facts, set(config.segments), "evt-3").members == {}


def test_a_property_that_may_hold_personal_data_is_not_kept_in_the_history(tmp_path: Path) -> None:
    (found,) = problems_in(
        tmp_path,
        "segments:\n  mailers:\n    when:\n"
        "      did: {event: tracked, within_days: 3, where: {properties.email: {contains: '@'}}}\n",
    )
    assert "properties.email may hold personal data, which the history does not keep" in found
    assert "e.g. properties.category or properties.sku" in found


def test_a_misspelt_property_is_told_to_test_properties_dot_name(tmp_path: Path) -> None:
    (found,) = problems_in(
        tmp_path,
        "segments:\n  shoes:\n    when:\n"
        "      did: {event: product_viewed, within_days: 3, where: {catgory: {equals: Shoes}}}\n",
    )
    assert "the history keeps no 'catgory' (did you mean 'properties.category'?)" in found


def test_days_since_without_a_number_of_days_is_refused(tmp_path: Path) -> None:
    (found,) = problems_in(tmp_path, "segments:\n  buyers:\n    when: {days_since: {last_order: null}}\n")
    assert "give last_order, first_order or last_message with a number of days" in found


def test_a_lifecycle_stage_segment_changes_with_time_alone() -> None:
    config = SegmentsConfig.model_validate({"segments": {"lapsed": {"when": {"lifecycle_stage": ["lapsed"]}}}})
    assert config.timed == {"lapsed"}
    ordered = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
    order = {"order_id": "web-1", "channel": "web", "at": ordered, "total": "50", "currency": "EUR", "skus": ["A"]}
    # Stored as a first-time customer at the order; 194 days later (no event since) they are lapsed.
    customer = Profile.model_validate(
        {
            "customer_id": "cus_1",
            "created_at": ordered,
            "updated_at": ordered,
            "orders": [order],
            "lifecycle_stage": "first_time_customer",
        }
    )
    facts = Facts(NOW, ZoneInfo("Europe/Berlin"))
    assert segments_now(config, customer, facts, config.timed, "daily:2026-03-14").members == {
        "lapsed": "daily:2026-03-14"
    }
    # 89 days after the order: not yet; due again on the day `at_risk` (90 days) may begin.
    early = Facts(ordered + timedelta(days=89), ZoneInfo("Europe/Berlin"))
    membership = segments_now(config, customer, early, config.timed, "daily:2025-11-29")
    assert membership.members == {}
    assert membership.next_change == (ordered + timedelta(days=90)).date()


def test_a_segment_no_longer_defined_is_dropped_from_the_profile() -> None:
    config = SegmentsConfig.model_validate({"segments": {"vip": {"when": {"orders": {"at_least": 3}}}}})
    customer = Profile.model_validate(
        {"customer_id": "cus_1", "created_at": NOW, "updated_at": NOW, "segments": {"old_friends": "evt-1"}}
    )
    assert segments_now(config, customer, Facts(NOW, ZoneInfo("Europe/Berlin")), {"vip"}, "evt-2").members == {}


def test_a_birthday_segment_is_due_on_the_birthday_and_the_day_after() -> None:
    config = SegmentsConfig.model_validate(
        {"segments": {"birthday": {"when": {"date": {"trait": "birthday", "is": "today"}}}}}
    )
    customer = Profile.model_validate(
        {"customer_id": "cus_1", "created_at": NOW, "updated_at": NOW, "traits": {"birthday": "1990-03-20"}}
    )
    berlin = ZoneInfo("Europe/Berlin")
    before = segments_now(config, customer, Facts(NOW, berlin), config.timed, "evt-1")
    assert (before.members, before.next_change) == ({}, date(2026, 3, 20))
    on_the_day = segments_now(config, customer, Facts(datetime(2026, 3, 20, 8, tzinfo=UTC), berlin), config.timed, "d")
    assert (on_the_day.members, on_the_day.next_change) == ({"birthday": "d"}, date(2026, 3, 21))


def test_a_birthday_sent_as_a_timestamp_is_read_on_the_customers_day() -> None:
    config = SegmentsConfig.model_validate(
        {"segments": {"birthday": {"when": {"date": {"trait": "birthday", "is": "today"}}}}}
    )
    # Picked as 15 March at midnight in Berlin, sent in UTC.
    customer = Profile.model_validate(
        {
            "customer_id": "cus_1",
            "created_at": NOW,
            "updated_at": NOW,
            "traits": {"birthday": "1988-03-14T23:00:00.000Z"},
            "timezone": "Europe/Berlin",
        }
    )
    on_the_15th = Facts(datetime(2026, 3, 15, 9, tzinfo=UTC), ZoneInfo("Europe/Berlin"))
    assert segments_now(config, customer, on_the_15th, config.timed, "d").members == {"birthday": "d"}
