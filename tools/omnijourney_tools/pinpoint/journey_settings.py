"""A Pinpoint journey's own settings (its start condition, quiet time, limits, schedule, state) as an omnijourney
journey's `entry`, `audience`, `re_entry` and `settings`; each setting without an equivalent is a decision in the
report."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnijourney.platform.configfile import TIME_OF_DAY
from omnijourney_tools.pinpoint.conditions import Json, duration, event_match, event_types, event_where, timestamp
from omnijourney_tools.pinpoint.exports import Export
from omnijourney_tools.pinpoint.names import snake_name
from omnijourney_tools.pinpoint.report import ObjectReport

ALL_CHANNELS = ["email", "sms", "push"]
# Settings with no equivalent: what differs and what to do.
NO_EQUIVALENT = {
    "OpenHours": "omnijourney has no opening hours per channel and weekday; quiet hours (settings.quiet_hours) hold "
    "messages at night only: set them, or add a `wait: {until: …}` before the sends",
    "ClosedDays": "omnijourney sends on any day: remove the journey (or hold its sends) by hand on those days",
    "SendingSchedule": "it switched Pinpoint's OpenHours and ClosedDays on; see those",
    "JourneyChannelSettings": "the Amazon Connect campaign is not called: the ContactCenter steps leave a task for "
    "agents on the profile (call_center) instead",
    "TimezoneEstimationMethods": "omnijourney places times in the timezone on the customer's profile (sent by the "
    "sources), else the shop's (config/shop.yaml); it does not guess one from the phone number or postal code",
    "RefreshFrequency": "omnijourney re-evaluates segments on every event and once a day, not on a timer",
}
LIMITS_WITHOUT_EQUIVALENT = {
    "TotalCap": "omnijourney has no lifetime cap on a journey's messages per customer: end the journey with a goal "
    "or exit_when, or cap re_entry",
    "MessagesPerSecond": "the sending rate is the account's (SES and End User Messaging quotas), not a journey's",
}
# Kept in the file's first comment, to find the journey in Pinpoint again.
IDENTITY = ("Name", "Id", "ApplicationId", "CreationDate", "LastModifiedDate")


@dataclass(frozen=True)
class JourneySettings:
    """What a Pinpoint journey's settings became: the journey's keys before its steps, in the file's order."""

    fields: Json
    everyone_enters_at: datetime | None
    """a segment journey's Schedule.StartTime: everyone enters then, so a WaitUntil is a wait from it"""


def journey_settings(export: Export, reported: ObjectReport, segments: Mapping[str, str]) -> JourneySettings:
    body = export.body
    fields: Json = {"journey": snake_name(str(body["Name"]), fallback="pinpoint_journey")}
    start = body.get("StartCondition") or {}
    fields["description"] = str(start.get("Description") or f"Imported from the Pinpoint journey {body['Name']!r}.")
    entry, audience = _entry(export, reported, segments)
    fields["entry"] = entry
    fields["re_entry"] = _re_entry(export, reported)
    if audience is not None:
        fields["audience"] = audience
    settings = {**_quiet_hours(export, reported), **_frequency_cap(export, reported)}
    if settings:
        fields["settings"] = settings
    _report_the_rest(export, reported)
    starts_at = _schedule(export, reported, segment_entry="segment" in entry)
    return JourneySettings(fields, starts_at if "segment" in entry else None)


def _entry(export: Export, reported: ObjectReport, segments: Mapping[str, str]) -> tuple[Json, Json | None]:
    start = export.body.get("StartCondition") or {}
    if "Description" in start:
        reported.mapped("StartCondition.Description", "the journey's description")
    event_start, segment_start = start.get("EventStartCondition"), start.get("SegmentStartCondition")
    if event_start and event_start.get("EventFilter"):
        return _event_entry(export, reported, event_start), _audience(event_start, reported, segments)
    segment_condition = segment_start or event_start or {}
    if segment_condition.get("SegmentId"):
        at = "SegmentStartCondition" if segment_start else "EventStartCondition"
        segment_id = str(segment_condition["SegmentId"])
        name = _segment_named(segment_id, "entry", reported, segments)
        reported.mapped(f"StartCondition.{at}: segment `{segment_id}`", f"entry: {{segment: {name}}}")
        reported.decide(
            "a segment journey",
            "Pinpoint enters everyone in the segment when the journey starts (and on each refresh); omnijourney enters "
            "customers as they come into the segment, so those already in it when you deploy do not enter: for a "
            "one-off send to all of them, use `entry: {schedule: …}` with `audience: {segment: …}`",
        )
        return {"segment": name}, None
    raise export.refuse(
        "a journey needs the event or the segment its participants start on (EventStartCondition.EventFilter, or "
        "SegmentStartCondition.SegmentId)",
        field="StartCondition",
    )


def _event_entry(export: Export, reported: ObjectReport, event_start: Mapping[str, Any]) -> Json:
    at = "StartCondition.EventStartCondition.EventFilter"
    event_filter = event_start["EventFilter"]
    export.enum_value(event_filter["FilterType"], "FilterType", f"{at}.FilterType")
    dimensions = event_filter["Dimensions"]
    if "EventType" not in dimensions:
        raise export.refuse("names no event type: a journey starts on named events", field=f"{at}.Dimensions")
    names = event_types(export, dimensions["EventType"], f"{at}.Dimensions.EventType")
    event = event_match(names[0])
    entry = dict(event.match)
    where, left = event_where(export, dimensions, f"{at}.Dimensions")
    if where:
        entry["where"] = where
    reported.mapped(f"StartCondition: {event_filter['FilterType']} event {', '.join(names)}", f"entry: {_shown(entry)}")
    if event.caveat:
        reported.decide(f"start event {names[0]}", event.caveat)
    if len(names) > 1:
        reported.decide(
            f"start events {', '.join(names[1:])}",
            f"an omnijourney journey starts on one event: this one starts on {names[0]}; copy the journey for each "
            "other event",
        )
    for condition in left:
        reported.decide(f"start condition {condition.split(':')[0]}", condition.split(": ", 1)[1])
    return entry


def _audience(event_start: Mapping[str, Any], reported: ObjectReport, segments: Mapping[str, str]) -> Json | None:
    segment_id = event_start.get("SegmentId")
    if not segment_id:
        return None
    name = _segment_named(str(segment_id), "audience", reported, segments)
    reported.mapped(f"StartCondition.EventStartCondition.SegmentId `{segment_id}`", f"audience: {{segment: {name}}}")
    return {"segment": name}


def _segment_named(segment_id: str, used_as: str, reported: ObjectReport, segments: Mapping[str, str]) -> str:
    """The segment imported for a Pinpoint segment id; for one not imported, a placeholder name that `journeys
    validate` reports (never no segment: that would let everyone in)."""
    name = segments.get(segment_id)
    if name is not None:
        return name
    placeholder = snake_name(f"pinpoint_segment_{segment_id}", fallback="pinpoint_segment")
    reported.decide(
        f"segment `{segment_id}`",
        f"no imported segment has this id, so the {used_as} names the placeholder {placeholder!r} that `journeys "
        "validate` reports: import the segment with `omnijourney import pinpoint segments`, then import the journey "
        "again",
    )
    return placeholder


def _re_entry(export: Export, reported: ObjectReport) -> str | Json:
    limits = export.body.get("Limits") or {}
    cap, interval = limits.get("EndpointReentryCap"), limits.get("EndpointReentryInterval")
    if cap == 1 or (cap is None and interval is None):
        reported.mapped(f"Limits.EndpointReentryCap {cap if cap is not None else '(not set)'}", "re_entry: never")
        return "never"
    if cap is not None and cap > 1:
        reported.decide(
            f"Limits.EndpointReentryCap {cap}",
            "omnijourney does not count entries: a customer re-enters as often as re_entry allows",
        )
    if interval is None:
        reported.mapped(f"Limits.EndpointReentryCap {cap}", "re_entry: always")
        return "always"
    waited = duration(export, str(interval), "Limits.EndpointReentryInterval")
    minutes = waited.get("days", 0) * 1440 + waited.get("hours", 0) * 60 + waited.get("minutes", 0)
    days = math.ceil(minutes / 1440)
    reported.mapped(f"Limits.EndpointReentryInterval {interval}", f"re_entry: {{after_days: {days}}}")
    if minutes % 1440:
        reported.decide(f"Limits.EndpointReentryInterval {interval}", f"re-entry is counted in days: {days}")
    return {"after_days": days}


def _quiet_hours(export: Export, reported: ObjectReport) -> Json:
    body = export.body
    quiet = body.get("QuietTime") or {}
    if not quiet:
        if "WaitForQuietTime" in body:
            reported.mapped(f"WaitForQuietTime {str(body['WaitForQuietTime']).lower()}", "no quiet time to wait for")
        return {}
    for key in ("Start", "End"):
        if not re.fullmatch(TIME_OF_DAY, str(quiet.get(key, ""))):
            raise export.refuse("quiet time needs a Start and an End as HH:MM, e.g. 21:00", field=f"QuietTime.{key}")
    hours = {"start": quiet["Start"], "end": quiet["End"], "channels": ALL_CHANNELS}
    reported.mapped(
        f"QuietTime {quiet['Start']}–{quiet['End']}",
        f"settings.quiet_hours: {_shown(hours)} (marketing messages; transactional ones go at once)",
    )
    if body.get("WaitForQuietTime"):
        reported.mapped("WaitForQuietTime true", "messages wait for the end of quiet hours, as omnijourney's always do")
    else:
        reported.decide(
            "WaitForQuietTime false",
            "Pinpoint did not send messages that fell in quiet time; omnijourney holds them until quiet hours end",
        )
    return {"quiet_hours": hours}


def _frequency_cap(export: Export, reported: ObjectReport) -> Json:
    limits = export.body.get("Limits") or {}
    caps = []
    timeframe = limits.get("TimeframeCap") or {}
    if timeframe.get("Cap", 0) >= 1 and timeframe.get("Days", 0) >= 1:
        caps.append(("Limits.TimeframeCap", {"messages": timeframe["Cap"], "days": timeframe["Days"]}))
    if limits.get("DailyCap", 0) >= 1:
        caps.append(("Limits.DailyCap", {"messages": limits["DailyCap"], "days": 1}))
    for setting, cap in caps[1:]:
        reported.decide(
            f"{setting} {cap['messages']}", f"a journey has one frequency cap: this one keeps {caps[0][0]}'s"
        )
    if not caps:
        return {}
    setting, cap = caps[0]
    reported.mapped(f"{setting} {_shown(cap)}", f"settings.frequency_cap: {_shown(cap)}")
    reported.decide(
        setting,
        "Pinpoint counted this journey's messages; omnijourney's frequency cap counts every journey's marketing "
        "messages to the customer, so it holds more: raise it, or leave the cap to config/consistency.yaml",
    )
    return {"frequency_cap": cap}


def _report_the_rest(export: Export, reported: ObjectReport) -> None:
    body = export.body
    for key, decision in NO_EQUIVALENT.items():
        if key in body:
            reported.decide(f"{key} {_shown(body[key])}", decision)
    for key, decision in LIMITS_WITHOUT_EQUIVALENT.items():
        if key in (body.get("Limits") or {}):
            reported.decide(f"Limits.{key} {body['Limits'][key]}", decision)
    if "RefreshOnSegmentUpdate" in body:
        reported.mapped(
            f"RefreshOnSegmentUpdate {str(body['RefreshOnSegmentUpdate']).lower()}",
            "segment membership is updated on every event",
        )
    state = body.get("State")
    if state is not None:
        export.enum_value(state, "State", "State")
        if state == "ACTIVE":
            reported.mapped("State ACTIVE", "imported; it runs once deployed")
        else:
            reported.decide(f"State {state}", "imported all the same: it runs once deployed; delete the file if not")
    if body.get("tags"):
        reported.mapped(f"tags {_shown(body['tags'])}", "not carried over (AWS resource tags of the Pinpoint journey)")
    for key in IDENTITY:
        if key in body:
            reported.mapped(f"{key} {body[key]}", "the file's first comment")


def _schedule(export: Export, reported: ObjectReport, *, segment_entry: bool) -> datetime | None:
    """Report the Schedule (and LocalTime, which says how its times are read); the one instant everyone in a segment
    journey entered at, when there is one: with LocalTime, Pinpoint started at StartTime's clock time in each
    participant's own timezone, one instant per timezone."""
    body = export.body
    schedule = body.get("Schedule") or {}
    local_time = bool(body.get("LocalTime"))
    if "LocalTime" in body and not schedule:
        reported.mapped(f"LocalTime {str(local_time).lower()}", "no Schedule for it to place (quiet time is local)")
    if not schedule:
        return None
    start = timestamp(export, str(schedule["StartTime"]), "Schedule.StartTime") if schedule.get("StartTime") else None
    deploy = "a journey runs from when it is deployed until it is removed: deploy and remove it at those times"
    if local_time and start is not None:
        first = f" (starting with Schedule.Timezone {schedule['Timezone']})" if schedule.get("Timezone") else ""
        reported.decide(
            f"Schedule {_shown(schedule)} with LocalTime true",
            f"Pinpoint started the journey at {start:%H:%M} on {start:%Y-%m-%d} in each participant's own timezone"
            f"{first}, one timezone after another, and ended it likewise; {deploy} (at the first timezone's start, "
            "or hold the first sends with `wait: {until: …}` in the customer's time)"
            + (
                "; its participants entered at different instants, so a wait until a date is not one duration"
                if segment_entry
                else ""
            ),
        )
        return None
    if schedule.get("Timezone"):
        reported.decide(
            f"Schedule.Timezone {schedule['Timezone']}",
            "Pinpoint applies it only with LocalTime true, which this journey does not set: the times are read with "
            "their own offsets",
        )
    if "LocalTime" in body:
        reported.mapped("LocalTime false", "the Schedule's times are the instants written (quiet time is local)")
    counted = (
        " (a segment journey's waits until a date are counted from its StartTime)" if segment_entry and start else ""
    )
    reported.decide(f"Schedule {_shown(schedule)}", deploy + counted)
    return start


def _shown(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
