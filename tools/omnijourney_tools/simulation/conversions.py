"""Whether each journey run converted (docs/metrics.md, "Holdout lift"): the journey's conversion within its window
after the run started, by the scenario's end, for the treatment and the holdout alike, from what the report holds:
orders that still stand from the profiles, every other event from the customers' recorded activity. The scorecard
counts the same from the facts (metrics/holdout_lift.sql)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from omnijourney.events import EventType
from omnijourney.journeys.language import ConversionRule


def with_conversions(
    journeys: list[dict[str, Any]],
    rules: dict[str, ConversionRule],
    profiles: list[dict[str, Any]],
    activity: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Each run with `converted`; `rules` are the journeys' conversions, journey → rule."""
    orders = {profile["customer_id"]: profile["orders"] for profile in profiles}
    return [run | {"converted": converted(run, rules[run["journey"]], orders, activity)} for run in journeys]


def converted(
    run: dict[str, Any],
    rule: ConversionRule,
    orders: dict[str, list[dict[str, Any]]],
    activity: dict[str, list[dict[str, Any]]],
) -> bool:
    customer = run["customer_id"]
    if rule.event is EventType.order_completed:
        happened = [(order["at"], order["channel"]) for order in orders.get(customer, []) if order["state"] == "placed"]
    else:
        happened = [
            (event["at"], event["channel"]) for event in activity.get(customer, []) if event["type"] == rule.event
        ]
    entered = datetime.fromisoformat(run["started_at"])
    until = entered + timedelta(days=rule.within_days)
    return any(
        entered < datetime.fromisoformat(at) <= until and (not rule.channels or channel in rule.channels)
        for at, channel in happened
    )
