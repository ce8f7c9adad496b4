"""What a Pinpoint journey tests and waits for, in omnijourney's words: its events (a start condition's, a split's),
its conditions (segments, attributes, metrics) and its wait times (ISO-8601 durations, absolute dates). Each
conversion says what it could not carry over, so the journey import reports it instead of dropping it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnijourney.events import EventType
from omnijourney_tools.pinpoint.exports import Export

Json = dict[str, Any]

# Pinpoint's standard events (`_email.open`, as its event stream names them; a journey's message condition may spell
# them `EMAIL_OPEN`): both read as `email_open` here.
MESSAGE_EVENTS = {
    "email_delivered": EventType.message_delivered,
    "email_open": EventType.message_opened,
    "email_click": EventType.message_clicked,
    "email_hardbounce": EventType.message_bounced,
    "email_softbounce": EventType.message_bounced,
    "email_complaint": EventType.message_complained,
}
STANDARD_EVENTS = {**MESSAGE_EVENTS, "monetization_purchase": EventType.order_completed}
# Pinpoint's message events by channel (`EMAIL_SEND`, `_SMS.FAILURE`, `_push.received`…), the channel of each prefix;
# only MESSAGE_EVENTS come back to omnijourney (SES feedback).
MESSAGE_EVENT_CHANNELS = {"email_": "email", "sms_": "sms", "push_": "push", "inapp_": "in_app", "voice_": "voice"}
# Standard events no source sends under Pinpoint's name, with the nearest event a source does send.
NEAREST_EVENTS = {
    "session_start": ("Application Opened", "an app session starting"),
    "session_stop": ("Application Backgrounded", "an app session ending"),
}
METRIC_OPERATORS = {"GREATER_THAN_OR_EQUAL": "at_least", "LESS_THAN_OR_EQUAL": "at_most", "EQUAL": "equals"}
INEXACT_OPERATORS = {"GREATER_THAN": "at_least", "LESS_THAN": "at_most"}
DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?")


@dataclass(frozen=True)
class Event:
    """A Pinpoint event as an omnijourney event match (`event`, and `name` for a tracked one), with what a person
    should know when the match is only the nearest one."""

    match: Json
    caveat: str | None = None


@dataclass(frozen=True)
class Converted:
    """A Pinpoint condition as an omnijourney condition, or None with the reason there is no equivalent."""

    condition: Json | None
    says: str
    why_not: str = ""


def standard_name(pinpoint_event: str) -> str:
    """`_email.open` and `EMAIL_OPEN` → `email_open`."""
    return pinpoint_event.strip().lstrip("_").lower().replace(".", "_")


def message_channel(pinpoint_event: str) -> str | None:
    """The channel of a Pinpoint message event (`email` for `EMAIL_OPEN`), None for any other event."""
    name = standard_name(pinpoint_event)
    return next((channel for prefix, channel in MESSAGE_EVENT_CHANNELS.items() if name.startswith(prefix)), None)


def event_match(pinpoint_event: str) -> Event:
    """The omnijourney event a journey waits for or starts on when Pinpoint names `pinpoint_event`."""
    known = STANDARD_EVENTS.get(standard_name(pinpoint_event))
    if known is not None:
        return Event({"event": str(known)})
    nearest = NEAREST_EVENTS.get(standard_name(pinpoint_event))
    if nearest is not None:
        name, what = nearest
        return Event(
            {"event": "tracked", "name": name},
            f"{pinpoint_event} is Pinpoint's own event for {what}; no source sends it: this waits for Segment's "
            f"{name!r} track instead, check your app sends it",
        )
    if pinpoint_event.startswith("_"):
        return Event(
            {"event": "tracked", "name": pinpoint_event},
            f"{pinpoint_event} is one of Pinpoint's own events; no source sends it under that name: change the name "
            "to the event your app sends",
        )
    return Event({"event": "tracked", "name": pinpoint_event})


def event_types(export: Export, dimension: Mapping[str, Any], at: str) -> list[str]:
    """The event names of an EventType dimension (INCLUSIVE: an EXCLUSIVE one, any event but these, is refused)."""
    if dimension.get("DimensionType", "INCLUSIVE") != "INCLUSIVE":
        raise export.refuse(
            "an EXCLUSIVE event type (any event but these) has no equivalent: a journey waits for or starts on named "
            "events; list them with INCLUSIVE",
            field=f"{at}.DimensionType",
        )
    return [str(value) for value in dimension["Values"]]


def event_where(export: Export, dimensions: Mapping[str, Any], at: str) -> tuple[Json, list[str]]:
    """An event's Attributes and Metrics dimensions as `where` tests of its properties, and what could not be."""
    where: Json = {}
    left: list[str] = []
    for name, attribute in dimensions.get("Attributes", {}).items():
        comparison, why_not = attribute_comparison(export, attribute, f"{at}.Attributes.{name}")
        if comparison is None:
            left.append(f"attribute {name!r}: {why_not}")
        else:
            where[f"properties.{name}"] = comparison
    for name, metric in dimensions.get("Metrics", {}).items():
        comparison, why_not = metric_comparison(export, metric, f"{at}.Metrics.{name}")
        if comparison is None:
            left.append(f"metric {name!r}: {why_not}")
        else:
            where[f"properties.{name}"] = comparison
    return where, left


def attribute_comparison(export: Export, attribute: Mapping[str, Any], at: str) -> tuple[Json | None, str]:
    kind = attribute.get("AttributeType", "INCLUSIVE")
    values = [str(value) for value in attribute["Values"]]
    if kind == "INCLUSIVE":
        return ({"equals": values[0]} if len(values) == 1 else {"one_of": values}), ""
    if kind == "CONTAINS" and len(values) == 1:
        return {"contains": values[0]}, ""
    if kind == "CONTAINS":
        return None, "contains any of several values: write one branch case per value"
    if kind in ("EXCLUSIVE", "BEFORE", "AFTER", "ON", "BETWEEN"):
        return None, f"{kind} has no comparison in omnijourney (equals, one_of, contains, at_least, at_most)"
    raise export.refuse(f"{kind!r} is not one of Pinpoint's attribute types", field=f"{at}.AttributeType")


def metric_comparison(export: Export, metric: Mapping[str, Any], at: str) -> tuple[Json | None, str]:
    operator, value = str(metric["ComparisonOperator"]), metric["Value"]
    if operator in METRIC_OPERATORS:
        return {METRIC_OPERATORS[operator]: value}, ""
    if operator in INEXACT_OPERATORS:
        return (
            None,
            f"{operator} {value} has no strict comparison here ({INEXACT_OPERATORS[operator]} includes {value})",
        )
    raise export.refuse(
        f"{operator!r} is not a comparison Pinpoint knows: use one of "
        f"{', '.join([*METRIC_OPERATORS, *INEXACT_OPERATORS])}",
        field=f"{at}.ComparisonOperator",
    )


def profile_condition(export: Export, simple: Mapping[str, Any], at: str, segments: Mapping[str, str]) -> Converted:
    """A SimpleCondition that tests the participant (a segment, attributes, metrics) as an omnijourney condition."""
    if "SegmentCondition" in simple:
        segment_id = str(simple["SegmentCondition"]["SegmentId"])
        name = segments.get(segment_id)
        if name is None:
            return Converted(
                None,
                f"in segment `{segment_id}`",
                "no imported segment has this id: import it with `omnijourney import pinpoint segments`, then import "
                "the journey again",
            )
        return Converted({"segment": name}, f"in segment `{segment_id}`")
    dimensions = simple.get("SegmentDimensions", {})
    at = f"{at}.SegmentDimensions"
    compared = [
        (name, *attribute_comparison(export, attribute, f"{at}.{key}.{name}"))
        for key in ("Attributes", "UserAttributes")
        for name, attribute in dimensions.get(key, {}).items()
    ]
    compared += [
        (name, *metric_comparison(export, metric, f"{at}.Metrics.{name}"))
        for name, metric in dimensions.get("Metrics", {}).items()
    ]
    left = [f"{name}: {why_not}" for name, comparison, why_not in compared if comparison is None]
    # Attributes, user attributes and metrics are all traits of their own name: two tests of one name are one trait
    # tested twice, and writing one would drop the other (Pinpoint required both).
    names = [name for name, _, _ in compared]
    left += [
        f"{name} is tested as more than one of Attributes, UserAttributes and Metrics, which are all the trait "
        f"{name!r} here: write the test the trait should pass"
        for name in sorted({name for name in names if names.count(name) > 1})
    ]
    left += [
        f"{key} dimensions have no journey condition"
        for key in ("Behavior", "Demographic", "Location")
        if key in dimensions
    ]
    says = "participant's " + ", ".join(sorted(dimensions)) if dimensions else "an empty condition"
    if left or not compared:
        return Converted(None, says, "; ".join(left) or "it tests nothing")
    return Converted({"traits": {name: comparison for name, comparison, _ in compared}}, says)


def all_of(conditions: list[Json]) -> Json | None:
    """One condition that holds when every one of `conditions` does; None when two test the same thing apart."""
    merged: Json = {}
    for condition in conditions:
        for key, value in condition.items():
            if key == "traits" and not merged.get("traits", {}).keys() & value.keys():
                merged["traits"] = {**merged.get("traits", {}), **value}
            elif key in merged:
                return None
            else:
                merged[key] = value
    return merged


def duration(export: Export, text: str, at: str) -> Json:
    """An ISO-8601 duration of weeks, days, hours and minutes (`P2D`, `PT1H`, `P1DT12H`) as a wait's fields."""
    found = DURATION.fullmatch(text.strip())
    if found is None or not any(found.groups()):
        raise export.refuse(
            f"{text!r} is not a duration omnijourney can wait: write an ISO-8601 duration of weeks, days, hours and "
            "minutes, e.g. PT1H, P2D or P1DT12H",
            field=at,
        )
    weeks, days, hours, minutes = (int(part or 0) for part in found.groups())
    fields = {"days": weeks * 7 + days, "hours": hours, "minutes": minutes}
    if not any(fields.values()):
        raise export.refuse(f"{text!r} waits no time at all", field=at)
    return {unit: amount for unit, amount in fields.items() if amount}


def timestamp(export: Export, text: str, at: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise export.refuse(f"{text!r} is not an ISO-8601 date and time", field=at) from None
    if moment.tzinfo is None:
        raise export.refuse(f"{text!r} has no time zone offset (write it with Z or +hh:mm)", field=at)
    return moment


def time_between(start: datetime, end: datetime) -> Json:
    """The whole minutes from `start` to `end` as a wait's fields."""
    minutes = int((end - start).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return {unit: amount for unit, amount in {"days": days, "hours": hours, "minutes": minutes}.items() if amount}
