"""What a journey counts as converting for its holdout's lift, and how its holdout is sized (docs/journeys.md,
`conversion` and `split`; docs/metrics.md, "Holdout lift")."""

from __future__ import annotations

from typing import Any

from omnijourney.events import EventType
from omnijourney.journeys.catalog import load_journeys
from omnijourney.journeys.language import ConversionRule, Holdout, Journey
from tests.conftest import ROOT

WAIT = [{"id": "wait_a_day", "wait": {"days": 1}}]


def journey(**keys: Any) -> Journey:
    return Journey.model_validate({"journey": "j", "entry": {"event": "order_completed"}, "steps": WAIT, **keys})


def test_post_purchase_counts_any_order_within_14_days_and_holds_out_10_percent_for_5_points() -> None:
    shipped = load_journeys(sorted((ROOT / "journeys").glob("*.yaml"))).journeys["post_purchase"]

    assert shipped.conversion_rule == ConversionRule(EventType.order_completed, (), 14)
    assert shipped.holdout == Holdout(percent=10, minimum_detectable_effect=0.05)


def test_a_journey_with_a_goal_event_converts_on_it_within_the_window_it_sets() -> None:
    goal = {"event": "cart_updated", "where": {"channel": {"one_of": ["web", "app"]}, "cart_value": {"at_least": 50}}}

    converts = journey(goal=goal, conversion={"within_days": 3}).conversion_rule

    # The goal's test of the cart's value is not in the facts: any cart update on those channels counts.
    assert converts == ConversionRule(EventType.cart_updated, ("web", "app"), 3)


def test_a_journey_without_a_goal_event_converts_on_its_conversion() -> None:
    conversion = {"event": "order_completed", "where": {"channel": {"equals": "pos"}}, "within_days": 30}

    converts = journey(goal={"when": {"orders": {"at_least": 2}}}, conversion=conversion).conversion_rule

    assert converts == ConversionRule(EventType.order_completed, ("pos",), 30)


def test_the_holdout_is_sized_by_its_own_minimum_detectable_effect() -> None:
    split = [{"percent": 80, "goto": "wait_a_day"}, {"percent": 20, "holdout": True, "minimum_detectable_effect": 0.03}]

    sized = journey(steps=[{"id": "holdout_split", "split": split}, *WAIT]).holdout

    assert sized == Holdout(percent=20, minimum_detectable_effect=0.03)


def test_a_holdout_of_everyone_has_nothing_to_compare_with() -> None:
    everyone = [{"id": "holdout_split", "split": [{"percent": 100, "holdout": True}]}]

    assert journey(steps=everyone).holdout is None
    assert journey().holdout is None
