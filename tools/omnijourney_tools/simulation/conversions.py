"""Whether each journey run converted (docs/metrics.md, "Holdout lift"): the journey's conversion within its window
after the holdout split (a holdout member's run ends there; any other run reaches it the journey's waits after
entering: Journey.time_to_holdout_split), by the scenario's end, for the treatment and the holdout alike, from what
the report holds: orders that still stand from the profiles, every other event from the customers' recorded
activity. The scorecard counts the same from the facts (metrics/holdout_lift.sql)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from omnijourney.events import EventType
from omnijourney.journeys.language import Journey


def with_conversions(
    runs: list[dict[str, Any]],
    journeys: dict[str, Journey],
    profiles: list[dict[str, Any]],
    activity: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Each run with `converted`, by its journey's conversion (`journeys`: name → journey)."""
    orders = {profile["customer_id"]: profile["orders"] for profile in profiles}
    return [run | {"converted": converted(run, journeys[run["journey"]], orders, activity)} for run in runs]


def converted(
    run: dict[str, Any],
    journey: Journey,
    orders: dict[str, list[dict[str, Any]]],
    activity: dict[str, list[dict[str, Any]]],
) -> bool:
    rule = journey.conversion_rule
    customer = run["customer_id"]
    if rule.event is EventType.order_completed:
        happened = [(order["at"], order["channel"]) for order in orders.get(customer, []) if order["state"] == "placed"]
    else:
        happened = [
            (event["at"], event["channel"]) for event in activity.get(customer, []) if event["type"] == rule.event
        ]
    held_out = run["outcome"] == "holdout" and run.get("ended_at")
    split = (
        datetime.fromisoformat(run["ended_at"])
        if held_out
        else datetime.fromisoformat(run["started_at"]) + journey.time_to_holdout_split
    )
    until = split + timedelta(days=rule.within_days)
    return any(
        split < datetime.fromisoformat(at) <= until and (not rule.channels or channel in rule.channels)
        for at, channel in happened
    )
