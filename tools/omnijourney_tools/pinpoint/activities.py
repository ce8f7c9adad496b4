"""A Pinpoint journey's activities as omnijourney steps: the graph walked from StartActivity, each activity as the
step (or the wait and the branch) it becomes, and every activity the import leaves out reported with what to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from omnijourney_tools.pinpoint.conditions import (
    MESSAGE_EVENTS,
    Event,
    Json,
    all_of,
    duration,
    event_match,
    event_types,
    event_where,
    message_channel,
    profile_condition,
    standard_name,
    time_between,
    timestamp,
)
from omnijourney_tools.pinpoint.exports import Export, pinpoint_model
from omnijourney_tools.pinpoint.journey_steps import Draft, in_words
from omnijourney_tools.pinpoint.names import snake_name
from omnijourney_tools.pinpoint.report import ObjectReport

SEND_CHANNELS = {"EMAIL": "email", "SMS": "sms", "PUSH": "push"}
# Each activity type, and how its steps are named when nothing better names them (`<name>_<short id>`).
STEP_NAMES = {
    **SEND_CHANNELS,
    "ContactCenter": "contact_center",
    "Wait": "wait",
    "ConditionalSplit": "yes_no_split",
    "MultiCondition": "multivariate_split",
    "RandomSplit": "random_split",
    "Holdout": "holdout",
    "CUSTOM": "custom",
}
ACTIVITY_TYPES = tuple(STEP_NAMES)
CATEGORIES = {"PROMOTIONAL": "marketing", "TRANSACTIONAL": "transactional"}
END = "journey_end"
# The consent a CUSTOM activity's endpoint types put its deliveries under (its target reaches the customer).
CONSENT_OF_ENDPOINTS = {
    "EMAIL": "email",
    "SMS": "sms",
    **{kind: "push" for kind in ("GCM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "ADM", "BAIDU")},
}


@dataclass(frozen=True)
class CustomTarget:
    """Where a CUSTOM activity delivered (a URL), as a target of config/webhooks.yaml: `consent_channel` when its
    endpoint types say whose messages it carried, None for an internal one."""

    url: str
    consent_channel: str | None
    activity: str


@dataclass(frozen=True)
class CustomPayload:
    """The JSON template a CUSTOM activity's webhook sends: Pinpoint's `MessageConfig.Data`, and who it is for."""

    data: str | None
    activity: str


class Graph:
    """The activities reachable from StartActivity, in the order a participant meets them (depth first, each
    activity's first path first, so most steps simply go on to the following one)."""

    def __init__(
        self,
        export: Export,
        reported: ObjectReport,
        *,
        segments: Mapping[str, str],
        everyone_enters_at: datetime | None,
        templates: Path,
        journey: str,
    ) -> None:
        self.export, self.reported, self.segments = export, reported, segments
        self.everyone_enters_at, self.templates, self.journey = everyone_enters_at, templates, journey
        self.activities: dict[str, Json] = export.body.get("Activities") or {}
        # Filled while converting: what the journey's webhook sends need besides the journey file.
        self.webhook_targets: dict[str, CustomTarget] = {}
        self.payloads: dict[str, CustomPayload] = {}
        start = export.body.get("StartActivity")
        if not start:
            raise export.refuse(
                "a journey needs StartActivity, the activity its participants start at", field="StartActivity"
            )
        self.kinds = {activity_id: self._kind(activity_id) for activity_id in self.activities}
        self._dangling("StartActivity", start)
        for activity_id in self.activities:
            for at, target in self._targets(activity_id):
                self._dangling(at, target)
        self.start = str(start)
        self._elapsed_at: dict[str, timedelta | None] = {}
        self.order = self._walk(start)
        self.ids: dict[str, str] = {}
        self.taken: set[str] = set()
        for activity_id in self.order:
            if not self._passes_through(activity_id):
                self.ids[activity_id] = _unique(self._base_name(activity_id), _short(activity_id), self.taken)
        self.end = _unique(END, "end", self.taken)
        for activity_id in self.activities.keys() - set(self.order):
            reported.decide(
                f"activity `{activity_id}` ({self.kinds[activity_id]})",
                "not imported: no path from StartActivity (or past a wait until a date) reaches it",
            )

    def drafts(self) -> list[Draft]:
        return [draft for activity_id in self.order for draft in self._convert(activity_id)]

    def goto(self, target: str | None) -> str:
        """The step a participant goes to for activity `target` (past activities not imported); the end for None."""
        seen = set()
        while target is not None and target not in self.ids and target not in seen:
            seen.add(target)
            target = self._body(target).get("NextActivity")
        return self.ids.get(target or "", self.end)

    # The graph

    def _kind(self, activity_id: str) -> str:
        kinds = [kind for kind in ACTIVITY_TYPES if kind in self.activities[activity_id]]
        if len(kinds) != 1:
            has = f"has {len(kinds)} ({', '.join(kinds)})" if kinds else "has none"
            raise self.export.refuse(
                f"an activity has exactly one type of {', '.join(ACTIVITY_TYPES)}; this one {has}",
                field=f"Activities.{activity_id}",
            )
        return kinds[0]

    def _body(self, activity_id: str) -> Json:
        return dict(self.activities[activity_id][self.kinds[activity_id]])

    def _at(self, activity_id: str, path: str = "") -> str:
        return f"Activities.{activity_id}.{self.kinds[activity_id]}" + (f".{path}" if path else "")

    def _targets(self, activity_id: str) -> list[tuple[str, str | None]]:
        """Each field of the activity naming where participants go next, with the activity it names."""
        body = self._body(activity_id)
        kind = self.kinds[activity_id]
        if kind == "ConditionalSplit":
            fields = [(key, body.get(key)) for key in ("TrueActivity", "FalseActivity")]
        elif kind in ("MultiCondition", "RandomSplit"):
            fields = [
                (f"Branches[{n}].NextActivity", b.get("NextActivity")) for n, b in enumerate(body.get("Branches") or [])
            ]
            fields += [("DefaultActivity", body.get("DefaultActivity"))] if kind == "MultiCondition" else []
        else:
            fields = [("NextActivity", body.get("NextActivity"))]
        return [(self._at(activity_id, path), target) for path, target in fields]

    def _dangling(self, at: str, target: str | None) -> None:
        if target is not None and target not in self.activities:
            raise self.export.refuse(
                f"names activity {target!r}, which is not one of the journey's Activities "
                f"({', '.join(sorted(self.activities)) or 'there are none'})",
                field=at,
            )

    def _walk(self, start: str) -> list[str]:
        order: list[str] = []
        stack = [start]
        while stack:
            activity_id = stack.pop()
            if activity_id in order:
                continue
            order.append(activity_id)
            targets = [target for _, target in self._targets(activity_id) if target is not None]
            stack += reversed(targets if not self._ends_path(activity_id) else [])
        return order

    def _ends_path(self, activity_id: str) -> bool:
        body = self._body(activity_id)
        if self.kinds[activity_id] == "Holdout":
            return int(body["Percentage"]) >= 100
        return self.kinds[activity_id] == "Wait" and self._wait(body.get("WaitTime") or {}, activity_id) is None

    def _passes_through(self, activity_id: str) -> bool:
        """Not imported as a step: participants go on to its NextActivity."""
        kind = self.kinds[activity_id]
        if kind == "CUSTOM":
            return not str(self._body(activity_id).get("DeliveryUri", "")).startswith("https://")
        return kind == "Holdout" and int(self._body(activity_id)["Percentage"]) <= 0

    def _base_name(self, activity_id: str) -> str:
        template = self._body(activity_id).get("TemplateName")
        if self.kinds[activity_id] in SEND_CHANNELS and template:
            return snake_name(str(template), fallback="message")
        return f"{STEP_NAMES[self.kinds[activity_id]]}_{_short(activity_id)}"

    def _wait(self, wait_time: Mapping[str, Any], activity_id: str, path: str = "WaitTime") -> Json | None:
        """A WaitTime as a wait's fields; None for a WaitUntil date there is no defensible duration for."""
        at = self._at(activity_id, path)
        if "WaitFor" in wait_time:
            return duration(self.export, str(wait_time["WaitFor"]), f"{at}.WaitFor")
        if "WaitUntil" not in wait_time:
            raise self.export.refuse("a wait needs WaitFor (a duration) or WaitUntil (a date)", field=at)
        until = timestamp(self.export, str(wait_time["WaitUntil"]), f"{at}.WaitUntil")
        reached = self._reached_at(activity_id)
        if reached is None or until <= reached:
            return None
        return time_between(reached, until)

    def _reached_at(self, activity_id: str) -> datetime | None:
        """When every participant reaches the activity, in a journey everyone enters at once (a segment journey's
        Schedule.StartTime): the start and the fixed waits on every path there; None when they reach it at different
        times (they enter at different times, or the paths there wait differently or until an event)."""
        if self.everyone_enters_at is None:
            return None
        elapsed = self._elapsed(activity_id, frozenset())
        return None if elapsed is None else self.everyone_enters_at + elapsed

    def _elapsed(self, activity_id: str, visiting: frozenset[str]) -> timedelta | None:
        """The time since entering at which every path reaches the activity, None if it is not one time."""
        if activity_id in self._elapsed_at:
            return self._elapsed_at[activity_id]
        times: set[timedelta | None] = {timedelta(0)} if activity_id == self.start else set()
        for before in self.activities:
            if before in visiting or activity_id not in {target for _, target in self._targets(before)}:
                continue
            reached = self._elapsed(before, visiting | {activity_id})
            times.add(None if reached is None else self._left_at(before, activity_id, reached))
        elapsed = times.pop() if len(times) == 1 else None
        self._elapsed_at[activity_id] = elapsed
        return elapsed

    def _left_at(self, activity_id: str, target: str, reached: timedelta) -> timedelta | None:
        """When participants who reached the activity at `reached` go on to `target`: after its wait (a Wait's, a
        split's evaluation wait), at once for the others; None when that is when an event happens."""
        body = self._body(activity_id)
        kind = self.kinds[activity_id]
        conditions = (body.get("Condition") or {}).get("Conditions") or [{}]
        if kind == "ConditionalSplit" and "EventCondition" in conditions[0] and target == body.get("TrueActivity"):
            return None  # it may wait for the event, and go on when it happens
        wait_time = body.get("WaitTime") if kind == "Wait" else body.get("EvaluationWaitTime")
        if not wait_time:
            return reached
        if "WaitFor" in wait_time:
            waited = duration(self.export, str(wait_time["WaitFor"]), self._at(activity_id))
            return reached + _as_timedelta(waited)
        if self.everyone_enters_at is None or "WaitUntil" not in wait_time:
            return None
        until = timestamp(self.export, str(wait_time["WaitUntil"]), self._at(activity_id))
        return max(reached, until - self.everyone_enters_at)

    def _until_refused(self, activity_id: str) -> str:
        """Why a wait until a date at the activity is not one duration, in words."""
        if self.everyone_enters_at is None:
            return "this journey's participants enter at different times"
        if self._elapsed(activity_id, frozenset()) is None:
            return (
                "its participants reach this activity at different times (the paths here wait differently, or until "
                "an event)"
            )
        return "the date is past when its participants reach this activity"

    # Each activity as steps

    def _convert(self, activity_id: str) -> list[Draft]:
        kind = self.kinds[activity_id]
        body = self._body(activity_id)
        description = self.activities[activity_id].get("Description")
        comment = f"Pinpoint activity `{activity_id}` ({kind})" + (f": {description}" if description else "")
        if self._passes_through(activity_id):
            self._left_out(activity_id, kind, body)
            return []
        step_id = self.ids[activity_id]
        if kind in SEND_CHANNELS:
            drafts = [self._send(activity_id, kind, body, step_id, comment)]
        elif kind == "ContactCenter":
            drafts = [self._contact_center(activity_id, body, step_id, comment)]
        elif kind == "Wait":
            drafts = [self._wait_step(activity_id, body, step_id, comment)]
        elif kind in ("ConditionalSplit", "MultiCondition"):
            drafts = self._split_on_conditions(activity_id, kind, body, step_id, comment)
        elif kind == "CUSTOM":
            drafts = [self._webhook(activity_id, body, step_id, comment)]
        else:
            drafts = [self._random_split(activity_id, kind, body, step_id, comment)]
        for draft in drafts:
            self.reported.mapped(f"activity `{activity_id}` ({kind})", f"step `{draft.id}`: {draft.described}")
        return drafts

    def _send(self, activity_id: str, kind: str, body: Json, step_id: str, comment: str) -> Draft:
        part = f"activity `{activity_id}` ({kind})"
        if not body.get("TemplateName"):
            raise self.export.refuse(
                "a message activity names its template (TemplateName)", field=self._at(activity_id)
            )
        template = snake_name(str(body["TemplateName"]), fallback="message")
        config = dict(body.get("MessageConfig") or {})
        message_type = config.pop("MessageType", None)
        if message_type is None:
            category = "marketing"
            self.reported.decide(
                part,
                "Pinpoint does not say whether this message is marketing or transactional: it is imported as "
                "marketing (consent, quiet hours and the frequency cap apply); make it transactional if it is one",
            )
        elif message_type in CATEGORIES:
            category = CATEGORIES[message_type]
        else:
            raise self.export.refuse(
                f"{message_type!r} is not a message type: PROMOTIONAL or TRANSACTIONAL",
                field=self._at(activity_id, "MessageConfig.MessageType"),
            )
        for key, value in config.items():
            self.reported.decide(
                f"{part} MessageConfig.{key} {value}",
                "senders (address, number, sender id) are the channel's settings, not a step's: set them where the "
                "channel is deployed (docs/deploy.md)",
            )
        if "TemplateVersion" in body:
            self.reported.decide(
                f"{part} TemplateVersion {body['TemplateVersion']}",
                "a journey sends its template file as it is in the repository: import that version of the template",
            )
        if kind == "SMS" and category == "marketing":
            self.reported.decide(
                part,
                "a marketing SMS goes only to customers who opted in to SMS (config/consistency.yaml ships "
                "consent.marketing_needs_opt_in: [sms]), and Pinpoint's endpoints bring none (OptOut NONE is no "
                "opt-in): it reaches no imported customer until their opt-in comes in as a consent event, a Twilio "
                "START from the number (docs/sources/twilio.md) or Shopify's sms_marketing_consent subscribed "
                "(docs/sources/shopify.md); make it transactional if it is one",
            )
        self._template_needed(template, part)
        send = {"channel": SEND_CHANNELS[kind], "template": template, "category": category}
        return Draft({"id": step_id, "send": send}, comment, self.goto(body.get("NextActivity")))

    def _webhook(self, activity_id: str, body: Json, step_id: str, comment: str) -> Draft:
        """A CUSTOM activity that called a URL: a send on the outbound webhook channel to a target of that URL."""
        part = f"activity `{activity_id}` (CUSTOM)"
        uri = str(body["DeliveryUri"])
        host = urlsplit(uri).hostname or ""
        target = snake_name(host.replace(".", "_"), fallback="pinpoint_custom")
        endpoint_types = self._endpoint_types(activity_id, body)
        consent = next((CONSENT_OF_ENDPOINTS[kind] for kind in endpoint_types if kind in CONSENT_OF_ENDPOINTS), None)
        self.webhook_targets.setdefault(target, CustomTarget(uri, consent, activity_id))
        named = body.get("TemplateName")
        template = snake_name(str(named), fallback="payload") if named else f"{step_id}_payload"
        data = (body.get("MessageConfig") or {}).get("Data")
        self.payloads.setdefault(template, CustomPayload(None if data is None else str(data), activity_id))
        reach = (
            f"it reaches the customer, under their {consent} consent (from EndpointTypes)"
            if consent
            else "it is internal (no EndpointTypes of a channel): business guards only"
        )
        self.reported.decide(
            part,
            f"it now sends a signed webhook to target `{target}` (config/webhooks.yaml: {uri}); {reach}. Put the "
            f"target's signing secret where the file says, and have the receiver verify Standard Webhooks signatures "
            f"and read the payload of template `{template}` (Pinpoint sent its own request: Data and the endpoints)",
        )
        self.reported.decide(
            part,
            "imported as marketing (consent, quiet hours and the frequency cap apply when it reaches the customer): "
            "make it transactional if it is one",
        )
        send = {"channel": "webhook", "target": target, "template": template, "category": "marketing"}
        return Draft({"id": step_id, "send": send}, comment, self.goto(body.get("NextActivity")))

    def _endpoint_types(self, activity_id: str, body: Json) -> list[str]:
        endpoint_types = [str(kind) for kind in body.get("EndpointTypes") or []]
        for endpoint_type in endpoint_types:
            if endpoint_type not in pinpoint_model().shape_for("__EndpointTypesElement").enum:
                raise self.export.refuse(
                    f"{endpoint_type!r} is not an endpoint type", field=self._at(activity_id, "EndpointTypes")
                )
        return endpoint_types

    def _contact_center(self, activity_id: str, body: Json, step_id: str, comment: str) -> Draft:
        template = snake_name(f"{self.journey}_call_task", fallback="call_task")
        self.reported.decide(
            f"activity `{activity_id}` (ContactCenter)",
            "Pinpoint had Amazon Connect call the participant; omnijourney leaves a task for agents on the profile "
            f"(channel call_center, category service) written from the template {template!r}: write it like "
            "journeys/templates/support_call_task.yaml (channel: call_center, body: what the agent should do)",
        )
        self._template_needed(template, f"activity `{activity_id}` (ContactCenter)")
        send = {"channel": "call_center", "template": template, "category": "service"}
        return Draft({"id": step_id, "send": send}, comment, self.goto(body.get("NextActivity")))

    def _wait_step(self, activity_id: str, body: Json, step_id: str, comment: str) -> Draft:
        wait_time = body.get("WaitTime") or {}
        waited = self._wait(wait_time, activity_id)
        part = f"activity `{activity_id}` (Wait) until {wait_time.get('WaitUntil')}"
        if waited is None:
            self.reported.decide(
                part,
                f"omnijourney has no wait until a date, and {self._until_refused(activity_id)}: "
                "the path ends here (an exit step) and the activities after it are not imported; wait a duration "
                '(`wait: {days: …}`) or until a time of day (`wait: {until: "09:00"}`) and carry on by hand',
            )
            return Draft({"id": step_id, "exit": f"Pinpoint waited here until {wait_time['WaitUntil']}"}, comment)
        if "WaitUntil" in wait_time and "WaitFor" not in wait_time:
            self._waits_from_schedule(part, activity_id, waited)
        return Draft({"id": step_id, "wait": waited}, comment, self.goto(body.get("NextActivity")))

    def _waits_from_schedule(self, part: str, activity_id: str, waited: Json) -> None:
        before = self._elapsed(activity_id, frozenset()) or timedelta(0)
        earlier = f", less the {_in_words(before)} the path waits before it" if before else ""
        self.reported.decide(
            part,
            f"omnijourney has no wait until a date: this waits {in_words(waited)}, the time from the journey's "
            f"Schedule.StartTime (when everyone in its segment enters) to the date{earlier}; a customer who enters "
            "later waits as long, past the date",
        )

    def _split_on_conditions(self, activity_id: str, kind: str, body: Json, step_id: str, comment: str) -> list[Draft]:
        """A yes/no or multivariate split: a wait_for on a message event, or a branch (after its evaluation wait)."""
        if kind == "ConditionalSplit":
            condition = body.get("Condition") or {}
            conditions = list(condition.get("Conditions") or [])
            if not conditions:
                raise self.export.refuse(
                    "a yes/no split needs Condition.Conditions", field=self._at(activity_id, "Condition")
                )
            operator = condition.get("Operator", "ALL")
            if operator not in pinpoint_model().shape_for("Operator").enum:
                raise self.export.refuse(
                    f"{operator!r} is not ALL or ANY", field=self._at(activity_id, "Condition.Operator")
                )
            otherwise = self.goto(body.get("FalseActivity"))
            if "EventCondition" in conditions[0]:
                awaited = self._wait_for_event(activity_id, body, conditions, step_id, comment)
                if awaited is not None:
                    return [awaited]
                cases = [{"when": _placeholder(activity_id), "goto": self.goto(body.get("TrueActivity"))}]
            else:
                branches = [
                    (f"Condition.Conditions[{n}]", simple, body.get("TrueActivity"))
                    for n, simple in enumerate(conditions)
                ]
                cases = self._cases(activity_id, kind, branches, all_must_hold=operator == "ALL")
        else:
            if not body.get("Branches"):
                raise self.export.refuse("a multivariate split needs Branches", field=self._at(activity_id))
            branches = [
                (f"Branches[{n}].Condition", b.get("Condition") or {}, b.get("NextActivity"))
                for n, b in enumerate(body["Branches"])
            ]
            otherwise = self.goto(body.get("DefaultActivity"))
            cases = self._cases(activity_id, kind, branches, all_must_hold=False)
        if any(case["when"] == _placeholder(activity_id) for case in cases):
            comment += "; a case tests a placeholder tag: write its condition (see the report)"
        branch = Draft({"id": step_id, "branch": {"cases": cases, "otherwise": otherwise}}, comment)
        if "EvaluationWaitTime" not in body:
            return [branch]
        wait_time = body["EvaluationWaitTime"]
        waited = self._wait(wait_time, activity_id, "EvaluationWaitTime")
        part = f"activity `{activity_id}` ({kind}) EvaluationWaitTime"
        if waited is None:
            self.reported.decide(
                f"{part} until {wait_time.get('WaitUntil')}",
                f"omnijourney has no wait until a date, and {self._until_refused(activity_id)}: the conditions are "
                "evaluated at once; add a wait before them",
            )
            return [branch]
        if "WaitFor" not in wait_time:
            self._waits_from_schedule(part, activity_id, waited)
        checked = _unique(f"{step_id}_check", "check", self.taken)
        wait = Draft({"id": step_id, "wait": waited}, f"{comment} (its EvaluationWaitTime)", checked)
        return [wait, replace(branch, step={**branch.step, "id": checked})]

    def _cases(
        self, activity_id: str, kind: str, branches: list[tuple[str, Json, str | None]], *, all_must_hold: bool
    ) -> list[Json]:
        part = f"activity `{activity_id}` ({kind})"
        placeholder = _placeholder(activity_id)
        tag = placeholder["tags"][0]
        converted: list[Json | None] = []
        for path, simple, _ in branches:
            if "EventCondition" in simple:
                self.reported.decide(
                    f"{part} {path}",
                    "an event condition here has no equivalent (a wait_for waits for one event and has two ways "
                    "out): write the case's condition on the profile instead",
                )
                converted.append(None)
                continue
            result = profile_condition(self.export, simple, self._at(activity_id, path), self.segments)
            if result.condition is None:
                self.reported.decide(f"{part} {path}: {result.says}", result.why_not)
            converted.append(result.condition)
        if any(condition is None for condition in converted):
            self.reported.decide(
                part,
                f"a condition above has no equivalent: its case tests the placeholder `tags: [{tag}]`, which nobody "
                "has, so everyone takes the other way until you write the condition there",
            )
        whens = [condition or placeholder for condition in converted]
        if all_must_hold:
            merged = all_of(whens)
            if merged is None:
                self.reported.decide(
                    part, f"its conditions test one thing twice: the case tests the placeholder `tags: [{tag}]`"
                )
            return [{"when": merged or placeholder, "goto": self.goto(branches[0][2])}]
        return [{"when": when, "goto": self.goto(target)} for when, (_, _, target) in zip(whens, branches, strict=True)]

    def _wait_for_event(
        self, activity_id: str, body: Json, conditions: list[Json], step_id: str, comment: str
    ) -> Draft | None:
        """A yes/no split on an event as a wait_for it, where that follows Pinpoint: the split waits (its
        EvaluationWaitTime) for an event of the app, or for the event of the message sent just before it. None where
        it does not (Pinpoint asks whether the event HAS happened, and a wait_for only sees the next one): the split
        is then a branch whose Yes case tests a placeholder, reported with what to write there."""
        part = f"activity `{activity_id}` (ConditionalSplit)"
        at = self._at(activity_id, "Condition.Conditions[0].EventCondition")
        event_condition = conditions[0]["EventCondition"]
        dimensions = event_condition.get("Dimensions") or {}
        if "EventType" not in dimensions:
            raise self.export.refuse("an event condition names its event (Dimensions.EventType)", field=at)
        names = event_types(self.export, dimensions["EventType"], f"{at}.Dimensions.EventType")
        event = event_match(names[0])
        where, left = event_where(self.export, dimensions, f"{at}.Dimensions")
        wait_time = body.get("EvaluationWaitTime") or {}
        timeout = self._wait(wait_time, activity_id, "EvaluationWaitTime") if wait_time else None
        message = event_condition.get("MessageActivity")
        channel = message_channel(names[0]) if message or names[0].startswith("_") else None
        placeholder = (
            f"the Yes case tests the placeholder `tags: [{_placeholder(activity_id)['tags'][0]}]`, which nobody has, "
            "so everyone takes No until you write its condition there"
        )
        if channel is not None and standard_name(names[0]) not in MESSAGE_EVENTS:
            known = ", ".join(sorted({str(kind) for kind in MESSAGE_EVENTS.values()}))
            self.reported.decide(
                part,
                f"{names[0]} is a message event omnijourney does not receive (it receives {known}, of email): "
                f"{placeholder}",
            )
            return None
        if timeout is None or (message and not self._follows(str(message), activity_id)):
            self._looks_back(
                part, name=names[0], event=event, channel=channel, message=str(message or ""), placeholder=placeholder
            )
            return None
        if "WaitFor" not in wait_time:
            self._waits_from_schedule(f"{part} EvaluationWaitTime", activity_id, timeout)
        problems = [event.caveat, *left] if event.caveat else left
        if len(names) > 1 or len(conditions) > 1:
            problems.append(
                f"only {names[0]} is waited for: a wait_for waits for one event; the other events and conditions "
                "are not kept"
            )
        if message:
            problems += [
                f"waits for the customer's next {event.match['event']} of any message, not only of activity "
                f"`{message}`'s",
                f"Pinpoint waited the whole {in_words(timeout)} and then sent those who had done it down Yes; here a "
                f"customer goes on to Yes as soon as it happens (the others at the end of the wait), so the Yes "
                "path's steps come earlier than in Pinpoint",
            ]
        for problem in problems:
            self.reported.decide(part, problem)
        awaited = {**event.match, **({"where": where} if where else {}), "timeout": timeout}
        awaited["on_timeout"] = self.goto(body.get("FalseActivity"))
        return Draft({"id": step_id, "wait_for": awaited}, comment, self.goto(body.get("TrueActivity")))

    def _follows(self, message: str, activity_id: str) -> bool:
        """The split comes right after the message activity: a wait_for started there sees its events."""
        return message in self.activities and self._body(message).get("NextActivity") == activity_id

    def _looks_back(
        self, part: str, *, name: str, event: Event, channel: str | None, message: str, placeholder: str
    ) -> None:
        of = f" of the message of activity `{message}`" if message else ""
        where = f", where: {{channel: {{equals: {channel}}}}}" if channel else ""
        self.reported.decide(
            part,
            f"Pinpoint checks whether the participant has done {name}{of} by the time the split evaluates; a journey "
            f"condition cannot look back at events, and a wait_for here would only see the next one: {placeholder}, "
            f"e.g. a segment in config/segments.yaml `when: {{did: {{event: {event.match['event']}"
            + (f", name: {event.match['name']}" if "name" in event.match else "")
            + f"{where}, within_days: N}}}}` (N calendar days, today included, from the send"
            + (": any message's event, not only this one's" if message else "")
            + ") and `when: {segment: <its name>}` in the case",
        )

    def _random_split(self, activity_id: str, kind: str, body: Json, step_id: str, comment: str) -> Draft:
        at = self._at(activity_id)
        if kind == "Holdout":
            held = int(body["Percentage"])
            if held > 100:
                raise self.export.refuse("a holdout keeps 0 to 100 percent", field=f"{at}.Percentage")
            groups: list[Json] = [{"percent": held, "holdout": True}]
            if held < 100:
                groups.insert(0, {"percent": 100 - held, "goto": self.goto(body.get("NextActivity"))})
            return Draft({"id": step_id, "split": groups}, comment)
        groups = [
            {"percent": int(b.get("Percentage", 0)), "goto": self.goto(b.get("NextActivity"))}
            for b in body.get("Branches") or []
        ]
        total = sum(group["percent"] for group in groups)
        if not groups or total != 100 or any(group["percent"] < 1 for group in groups):
            raise self.export.refuse(
                f"a random split's branches each take 1 percent or more and add up to 100 (these add up to {total})",
                field=f"{at}.Branches",
            )
        return Draft({"id": step_id, "split": groups}, comment)

    def _left_out(self, activity_id: str, kind: str, body: Json) -> None:
        onward = f"participants go on to step `{self.goto(body.get('NextActivity'))}`"
        if kind == "Holdout":
            self.reported.mapped(f"activity `{activity_id}` (Holdout 0%)", f"holds out nobody: {onward}")
            return
        self._endpoint_types(activity_id, body)
        function = str(body.get("DeliveryUri", "")).rsplit(":", 1)[-1] or "(none)"
        self.reported.decide(
            f"activity `{activity_id}` (CUSTOM)",
            f"not imported: it called the Lambda function {function}, and omnijourney delivers by signed webhooks "
            f"(an https URL); {onward} without it. Give the function a function URL (or an API Gateway route) that "
            "verifies Standard Webhooks signatures, add it to config/webhooks.yaml as a target, and add a step "
            "`send: {channel: webhook, target: …, template: …}` here",
        )

    def _template_needed(self, template: str, part: str) -> None:
        if not (self.templates / f"{template}.yaml").exists():
            self.reported.decide(
                f"{part} template `{template}`",
                f"not in {self.templates}: `omnijourney journeys validate` names it until you import it with "
                "`omnijourney import pinpoint templates` (or write it)",
            )


def _as_timedelta(waited: Json) -> timedelta:
    return timedelta(days=waited.get("days", 0), hours=waited.get("hours", 0), minutes=waited.get("minutes", 0))


def _in_words(elapsed: timedelta) -> str:
    return in_words(time_between(datetime.min, datetime.min + elapsed))


def _placeholder(activity_id: str) -> Json:
    """The condition of a case Pinpoint's condition has no equivalent for: a tag nobody has."""
    return {"tags": [f"pinpoint_condition_{_short(activity_id)}"]}


def _short(activity_id: str) -> str:
    return "".join(character for character in activity_id.lower() if character.isalnum())[:12] or "activity"


def _unique(base: str, short: str, taken: set[str]) -> str:
    """`base`, else `base_<short id>`, else numbered: step ids are unique in a journey."""
    base = base[:50]
    candidates = [base, f"{base}_{short}", *(f"{base}_{short}_{n}" for n in range(2, 1000))]
    chosen = next(candidate for candidate in candidates if candidate not in taken)
    taken.add(chosen)
    return chosen
