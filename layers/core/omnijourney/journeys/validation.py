"""Checks beyond the schema: the flow between steps, templates, time limits; every problem at its line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnijourney.journeys.contract import starts_on_a_product
from omnijourney.journeys.language import EVENT_FIELDS, Comparison, Condition, EventMatch, Journey, Step, WaitFor
from omnijourney.journeys.segments import SEGMENTS_TURN, SegmentsConfig, journey_segment_problems
from omnijourney.journeys.templates import SHOP_FILE, ShopConfig, TemplateCatalog
from omnijourney.platform.configfile import (
    ConfigError,
    Location,
    Problem,
    Severity,
    YamlDocument,
    config_dir,
    config_file,
    did_you_mean,
)
from omnijourney.vocabulary import ADDRESSED, Category, MessageChannel

if TYPE_CHECKING:
    from omnijourney.offers import OffersConfig

# Step Functions Standard limits (shared/references.md).
MAX_EXECUTION_SECONDS = 365 * 86_400
MAX_HISTORY_EVENTS = 25_000
# History events a step adds at most: a Task with a retry and quiet-hours deferral, a Choice, a Wait.
HISTORY_EVENTS_PER_STEP = {
    "send": 16,
    "wait_for": 8,
    "branch": 7,
    "split": 7,
    "update_profile": 6,
    "wait": 7,
    "exit": 3,
}
END = "(end)"
# The template variable of a marketing email's unsubscribe link.
UNSUBSCRIBE_VARIABLE = "unsubscribe_url"


# EventBridge's cron fields, in order: name, lowest, highest, the wildcards it allows, the names it accepts.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS: tuple[tuple[str, int, int, str, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ", - * /", ()),
    ("hours", 0, 23, ", - * /", ()),
    ("day-of-month", 1, 31, ", - * ? / L W", ()),
    ("month", 1, 12, ", - * /", MONTHS),
    ("day-of-week", 1, 7, ", - * ? L #", WEEKDAYS),
    ("year", 1970, 2199, ", - * /", ()),
)
CRON_EXAMPLE = "cron(0 9 ? * MON *)"
RATE_UNITS = ("minute", "hour", "day")


@dataclass(frozen=True)
class Edge:
    target: str
    location: Location


def edges(step: Step, index: int, following: str | None) -> list[Edge]:
    """Where a step can go next; `following` is the next step in the file (None after the last)."""
    at: Location = ("steps", index)
    default = Edge(step.next or following or END, (*at, "next") if step.next else (*at, "id"))
    if step.exit is not None:
        return []
    if step.branch is not None:
        cases = [Edge(case.goto, (*at, "branch", "cases", n, "goto")) for n, case in enumerate(step.branch.cases)]
        return [*cases, Edge(step.branch.otherwise, (*at, "branch", "otherwise"))]
    if step.split is not None:
        return [Edge(group.goto, (*at, "split", n, "goto")) for n, group in enumerate(step.split) if group.goto]
    if step.wait_for is not None:
        on_event = Edge(step.wait_for.on_event, (*at, "wait_for", "on_event")) if step.wait_for.on_event else default
        return [on_event, Edge(step.wait_for.on_timeout, (*at, "wait_for", "on_timeout"))]
    return [default]


def step_history_events(step: Step) -> int:
    return HISTORY_EVENTS_PER_STEP[step.action]


def step_seconds(step: Step) -> int:
    if step.wait is not None:
        return step.wait.longest_seconds
    if step.wait_for is not None:
        return step.wait_for.timeout.seconds
    return 0


def schedule_mistake(expression: str) -> str | None:
    """What AWS would refuse in a cron() or rate() expression (EventBridge Scheduler's rules), or None."""
    rate = re.fullmatch(r"rate\((.*)\)", expression.strip())
    if rate:
        return _rate_mistake(rate.group(1))
    fields = cron_fields(expression)
    if len(fields) != len(CRON_FIELDS):
        return (
            f"cron() has {len(fields)} field{'s' if len(fields) != 1 else ''}; it needs six: minutes hours "
            f"day-of-month month day-of-week year, e.g. {CRON_EXAMPLE} (09:00 every Monday)"
        )
    for field, value in zip(CRON_FIELDS, fields, strict=True):
        mistake = _cron_field_mistake(value, field)
        if mistake is not None:
            return mistake
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return (
            "give ? in exactly one of day-of-month and day-of-week, e.g. cron(0 9 ? * MON *) (Mondays) "
            "or cron(0 9 1 * ? *) (the 1st of the month)"
        )
    return None


def cron_fields(expression: str) -> list[str]:
    """The fields of a cron() expression; [] for a rate() or anything else."""
    cron = re.fullmatch(r"cron\((.*)\)", expression.strip())
    return cron.group(1).split() if cron else []


def _rate_mistake(inside: str) -> str | None:
    parts = inside.split()
    value, unit = (parts[0], parts[1]) if len(parts) == 2 else ("", "")
    if not _WHOLE_NUMBER.fullmatch(value) or unit.removesuffix("s") not in RATE_UNITS:
        return "write a rate as a whole number and minute(s), hour(s) or day(s), e.g. rate(1 day) or rate(5 minutes)"
    count, singular = int(value), unit.removesuffix("s")
    if count < 1:
        return f"a rate is at least 1 {singular}, e.g. rate(1 {singular})"
    if count == 1 and unit != singular:
        return f"with 1 the unit is singular: rate(1 {singular})"
    if count > 1 and unit == singular:
        return f"with {count} the unit is plural: rate({count} {singular}s)"
    return None


# ASCII digits only: str.isdigit() also accepts ², which int() refuses.
_WHOLE_NUMBER = re.compile(r"[0-9]+")


def _cron_field_mistake(value: str, field: tuple[str, int, int, str, tuple[str, ...]]) -> str | None:
    """What AWS refuses in one cron field (its wildcards, range and steps, one `#` a day-of-week), or None."""
    name, low, high, wildcards, names = field
    # A step repeats within the field: at most the field's highest value (its span, for years).
    largest_step = high if low <= 1 else high - low

    def number(text: str) -> bool:
        if text.upper() in names:
            return True
        return bool(_WHOLE_NUMBER.fullmatch(text)) and low <= int(text) <= high

    def span(text: str) -> bool:
        first, _, last = text.partition("-")
        return number(first) and number(last)

    def item(text: str) -> bool:
        if name == "day-of-month" and (text in ("L", "LW") or (text.endswith("W") and number(text[:-1]))):
            return True
        if name == "day-of-week" and (text == "L" or (text.endswith("L") and number(text[:-1]))):
            return True
        if name == "day-of-week" and "#" in text:
            day, _, nth = text.partition("#")
            return number(day) and nth in ("1", "2", "3", "4", "5")
        if "/" in text and name != "day-of-week":
            start, _, step = text.partition("/")
            fits = start == "*" or number(start) or span(start)
            return fits and bool(_WHOLE_NUMBER.fullmatch(step)) and 1 <= int(step) <= largest_step
        if "-" in text:
            return span(text)
        return text == "*" or number(text)

    if value == "?" and name in ("day-of-month", "day-of-week"):
        return None
    if not all(item(part) for part in value.split(",")):
        named = f" or {names[0]}-{names[-1]}" if names else ""
        steps = f", a step /1 to /{largest_step}" if "/" in wildcards else ""
        return (
            f"the {name} field {value!r} is not valid: {name} is {low}-{high}{named} (wildcards {wildcards}{steps}), "
            f"e.g. {CRON_EXAMPLE}"
        )
    if value.count("#") > 1:
        return (
            f"the day-of-week field {value!r} has more than one #; AWS allows one, "
            "e.g. cron(0 9 ? * MON#1 *) (the first Monday of the month)"
        )
    return None


@dataclass(frozen=True)
class QuietHoursHold:
    """What config/consistency.yaml's quiet hours hold unless a journey names its own channels."""

    channels: tuple[str, ...]  # in the file's order: messages list them as written
    categories: frozenset[str]


CONSISTENCY_FILE = "consistency.yaml"


def quiet_hours_hold(config: Path) -> QuietHoursHold | None:
    """config/consistency.yaml's quiet hours, read loosely: its loader is in the runtime, above this layer, and the
    runtime reports that file's own mistakes; None when they cannot be read."""
    try:
        data = YamlDocument.read(config / CONSISTENCY_FILE).data
    except ConfigError:
        return None
    rule = data.get("quiet_hours") if isinstance(data, dict) else None
    channels, categories = (rule.get("channels"), rule.get("categories")) if isinstance(rule, dict) else (None, None)
    if not isinstance(channels, list) or not isinstance(categories, list):
        return None
    return QuietHoursHold(tuple(map(str, channels)), frozenset(map(str, categories)))


WEBHOOKS_FILE = "webhooks.yaml"


def webhook_targets(config: Path) -> frozenset[str] | None:
    """The names of config/webhooks.yaml's targets, read loosely: its loader is in channels, beside this layer, and
    channels report that file's own mistakes; none without the file, None when they cannot be read."""
    path = config / WEBHOOKS_FILE
    if not path.is_file():
        return frozenset()
    try:
        data = YamlDocument.read(path).data
    except ConfigError:
        return None
    targets = data.get("targets", {}) if isinstance(data, dict) else None
    return frozenset(map(str, targets)) if isinstance(targets, dict) else None


class JourneyChecker:
    def __init__(
        self,
        document: YamlDocument,
        journey: Journey,
        templates: TemplateCatalog,
        stages: tuple[str, ...],
        *,
        offers: OffersConfig | None = None,
        segments: SegmentsConfig | None = None,
    ):
        self.offers = offers
        self.segments = segments
        self.document = document
        self.journey = journey
        self.templates = templates
        self.stages = stages
        self.quiet_hours = quiet_hours_hold(config_dir())
        self.targets = webhook_targets(config_dir())
        self.problems: list[Problem] = []

    def problem(self, location: Location, message: str) -> None:
        self.problems.append(self.document.problem(location, message))

    def warn(self, location: Location, message: str) -> None:
        self.problems.append(self.document.problem(location, message, Severity.warning))

    def check(self) -> list[Problem]:
        """Errors (what would not deploy or run), then, for a journey without errors, warnings (what deploys but
        can never happen): one checker per concern."""
        self._check_journey_name_and_step_ids()
        self._check_flow()
        self._check_conditions()
        self._check_sends()
        self._check_schedule()
        self._check_segments()
        if self.problems:
            return self.problems
        self._warn_waits_ended_first()
        self._warn_cases_that_never_hold()
        self._warn_offers_never_presented()
        self._warn_quiet_hours_hold_no_send()
        self._warn_numbered_weekdays()
        self._warn_marketing_email_without_unsubscribe()
        return self.problems

    def _check_segments(self) -> None:
        """The segments the journey names exist (config/segments.yaml), with a "did you mean"; not checked without
        the segments (their own file has errors, reported on their own)."""
        if self.segments is None:
            return
        for location, message in journey_segment_problems(self.journey, self.segments):
            self.problem(location, message)

    def _warn_quiet_hours_hold_no_send(self) -> None:
        """The journey sets its own quiet hours, but none of its sends is on a channel (and of a category) they
        hold: a marketer who wrote them for email expects the email to wait, and it does not."""
        own = self.journey.settings.quiet_hours
        rules = self.quiet_hours
        if not own or rules is None:
            return
        held: list[str] = list(own.channels) if own.channels is not None else list(rules.channels)
        sent: set[str] = {
            step.send.channel
            for step in self.journey.steps
            if step.send is not None and step.send.category in rules.categories and step.send.channel in ADDRESSED
        }
        if not sent or sent & set(held):
            return
        missing = ", ".join(sorted(sent))
        holds = " and ".join(held) or "no channel"
        self.warn(
            ("settings", "quiet_hours"),
            f"quiet hours hold {holds} only; add channels: [{missing}] to hold this journey's {missing}",
        )

    def _warn_marketing_email_without_unsubscribe(self) -> None:
        """The List-Unsubscribe header is added to every marketing email, but CAN-SPAM and GDPR also want a link
        the reader sees: a language of the template without one is warned at the step that sends it."""
        for index, step in enumerate(self.journey.steps):
            send = step.send
            if send is None or send.channel != MessageChannel.email or send.category != Category.marketing:
                continue
            for key, name in (("template", send.template), ("without_offer", send.without_offer)):
                for variant in self.templates.variants(name) if name is not None else []:
                    # A language written for another channel is an error of the template's own.
                    if variant.template.channel != send.channel or UNSUBSCRIBE_VARIABLE in variant.template.variables:
                        continue
                    called = f"template {name!r}" + (f" ({variant.locale})" if variant.locale else "")
                    self.warn(
                        ("steps", index, "send", key),
                        f"{called} has no {{{{ {UNSUBSCRIBE_VARIABLE} }}}}: a marketing email needs a visible "
                        f"unsubscribe link (CAN-SPAM, GDPR), e.g. "
                        f'<a href="{{{{ {UNSUBSCRIBE_VARIABLE} }}}}">Unsubscribe</a>',
                    )

    def _warn_numbered_weekdays(self) -> None:
        """AWS counts days of the week from Sunday (1): a marketer used to cron or ISO means Monday by 1."""
        schedule = self.journey.entry.schedule
        fields = cron_fields(schedule) if schedule is not None else []
        day_of_week = fields[4] if len(fields) == len(CRON_FIELDS) else ""
        if re.search(r"(?<![#/])[0-9]", day_of_week):
            self.warn(
                ("entry", "schedule"),
                f"the day-of-week {day_of_week!r} is a number: in AWS 1 is Sunday and 2 Monday; "
                "write MON-FRI or SUN to be clear, e.g. cron(0 9 ? * MON *)",
            )

    def _check_journey_name_and_step_ids(self) -> None:
        journey = self.journey
        stem = Path(self.document.path).stem
        if journey.journey != stem:
            self.problem(("journey",), f"the journey is named {journey.journey!r} but its file is {stem}.yaml")
        if journey.journey == SEGMENTS_TURN:
            message = f"{SEGMENTS_TURN!r} is the name of the daily segment evaluation; give the journey another name"
            self.problem(("journey",), message)
        ids = [step.id for step in journey.steps]
        for index, step in enumerate(journey.steps):
            if step.id in ids[:index]:
                self.problem(("steps", index, "id"), f"step id {step.id!r} is used twice")

    def _check_schedule(self) -> None:
        """AWS refuses a schedule it cannot read at deploy time: say which part is wrong before that."""
        schedule = self.journey.entry.schedule
        mistake = schedule_mistake(schedule) if schedule is not None else None
        if mistake is not None:
            self.problem(("entry", "schedule"), mistake)

    def _graph(self) -> dict[str, list[Edge]]:
        steps = self.journey.steps
        return {
            step.id: edges(step, index, steps[index + 1].id if index + 1 < len(steps) else None)
            for index, step in enumerate(steps)
        }

    def _check_flow(self) -> None:
        graph = self._graph()
        broken = False
        for step_edges in graph.values():
            for edge in step_edges:
                if edge.target not in graph and edge.target != END:
                    broken = True
                    hint = did_you_mean(edge.target, graph)
                    self.problem(edge.location, f"no step has the id {edge.target!r}{hint}")
        if broken:
            return
        reachable = self._reachable(graph)
        for index, step in enumerate(self.journey.steps):
            if step.id not in reachable:
                self.problem(("steps", index, "id"), f"step {step.id!r} can never be reached")
        cycle = self._cycle(graph)
        if cycle:
            index = [step.id for step in self.journey.steps].index(cycle[0])
            self.problem(
                ("steps", index, "id"), f"steps loop back on themselves ({' → '.join(cycle)}); journeys must end"
            )
            return
        self._check_limits(graph)

    def _reachable(self, graph: dict[str, list[Edge]]) -> set[str]:
        seen: set[str] = set()
        pending = [self.journey.steps[0].id]
        while pending:
            current = pending.pop()
            if current in seen or current == END:
                continue
            seen.add(current)
            pending.extend(edge.target for edge in graph[current])
        return seen

    @staticmethod
    def _cycle(graph: dict[str, list[Edge]]) -> list[str]:
        """A loop in the flow (its first step repeated at the end), or []. Iterative: journeys may be long."""
        done: set[str] = set()
        for root, root_edges in graph.items():
            if root in done:
                continue
            path = [root]
            pending = [iter(root_edges)]
            while pending:
                edge = next(pending[-1], None)
                if edge is None:
                    done.add(path.pop())
                    pending.pop()
                elif edge.target in path:
                    return [*path[path.index(edge.target) :], edge.target]
                elif edge.target != END and edge.target not in done:
                    path.append(edge.target)
                    pending.append(iter(graph[edge.target]))
        return []

    def _check_limits(self, graph: dict[str, list[Edge]]) -> None:
        """Step Functions' limits, on the longest path: reported at the step where the path crosses them."""
        steps = {step.id: step for step in self.journey.steps}
        index = {step.id: n for n, step in enumerate(self.journey.steps)}
        limits = (
            (step_seconds, MAX_EXECUTION_SECONDS, 86_400, "{total} days of waiting", "at most 365 days"),
            (step_history_events, MAX_HISTORY_EVENTS, 1, "about {total} history events", "at most 25,000 events"),
        )
        for cost, limit, unit, spent_template, allowed in limits:
            remaining = self._longest(graph, cost)
            node, spent = self.journey.steps[0].id, 0
            while node != END:
                spent += cost(steps[node])
                if spent > limit:
                    reached = spent_template.format(total=spent // unit)
                    message = f"the longest path reaches {reached} at step {node!r}; an execution may have {allowed}"
                    self.problem(("steps", index[node], "id"), message)
                    break
                targets = [edge.target for edge in graph[node]] or [END]
                node = max(targets, key=lambda target: remaining.get(target, 0))

    def _longest(self, graph: dict[str, list[Edge]], cost: Callable[[Step], int]) -> dict[str, int]:
        """The most `cost` summed over any path from each step to the end (the graph has no cycle)."""
        steps = {step.id: step for step in self.journey.steps}
        order: list[str] = []  # every step after all the steps it leads to
        done: set[str] = set()
        for root in steps:
            pending = [(root, False)]
            while pending:
                node, expanded = pending.pop()
                if expanded:
                    order.append(node)
                elif node not in done and node != END:
                    done.add(node)
                    pending.append((node, True))
                    pending.extend((edge.target, False) for edge in graph[node])
        longest: dict[str, int] = {END: 0}
        for node in order:
            longest[node] = cost(steps[node]) + max((longest[edge.target] for edge in graph[node]), default=0)
        return longest

    def _conditions(self) -> Iterator[tuple[Location, Condition]]:
        journey = self.journey
        if journey.audience:
            yield ("audience",), journey.audience
        if journey.goal and journey.goal.when:
            yield ("goal", "when"), journey.goal.when
        for index, step in enumerate(journey.steps):
            for n, case in enumerate(step.branch.cases if step.branch else []):
                yield ("steps", index, "branch", "cases", n, "when"), case.when

    def _check_conditions(self) -> None:
        if self.journey.entry.stage is not None:
            self._check_stages([self.journey.entry.stage], ("entry", "stage"))
        for location, condition in self._conditions():
            if condition.lifecycle_stage:
                self._check_stages(condition.lifecycle_stage, (*location, "lifecycle_stage"))
            self._check_event_fields(condition.event, (*location, "event"))
        self._check_event_fields(self.journey.entry.where, ("entry", "where"))
        if self.journey.goal:
            self._check_event_fields(self.journey.goal.where, ("goal", "where"))

    def _check_stages(self, stages: list[str], location: Location) -> None:
        for n, stage in enumerate(stages):
            if stage not in self.stages:
                where = location if len(location) and location[-1] == "stage" else (*location, n)
                hint = did_you_mean(stage, self.stages)
                defined = f"{config_file('lifecycle.yaml')} has {', '.join(self.stages)}"
                self.problem(where, f"no lifecycle stage {stage!r}{hint}; {defined}")

    def _check_event_fields(self, fields: dict[str, Comparison] | None, location: Location) -> None:
        for name in fields or {}:
            if name not in EVENT_FIELDS and not name.startswith("properties."):
                hint = did_you_mean(name, EVENT_FIELDS)
                self.problem(
                    (*location, name),
                    f"events have no field {name!r}{hint}; use {', '.join(EVENT_FIELDS)} or properties.<name>",
                )

    def _check_sends(self) -> None:
        for index, step in enumerate(self.journey.steps):
            if step.send is None:
                continue
            send = step.send
            self._check_template(send.template, ("steps", index, "send", "template"), send.channel, offer=send.offer)
            if send.without_offer is not None:
                at: Location = ("steps", index, "send", "without_offer")
                if send.offer is None:
                    self.problem(
                        at,
                        "without_offer is the template for when the step's offer cannot be presented; "
                        "this step has no `offer`",
                    )
                self._check_template(send.without_offer, at, send.channel, offer=None)
            if send.offer is not None:
                self._check_offer(send.offer, ("steps", index, "send", "offer"), send.channel)
            if send.target is not None:
                self._check_target(send.target, ("steps", index, "send", "target"))

    def _check_template(self, name: str, at: Location, channel: str, offer: str | None) -> None:
        template = self.templates.templates.get(name)
        if template is None:
            hint = did_you_mean(name, self.templates.templates)
            self.problem(at, f"no template {name!r} in {self.templates.folder.name}/{hint}")
            return
        if template.channel != channel:
            self.problem(at, f"template {name!r} is for {template.channel}, this step sends {channel}")

        entry_event = self.journey.entry.event.value if self.journey.entry.event else None
        # Without the segments (their file has errors, reported on their own) a segment entry is not judged.
        unknown = self.segments is None and self.journey.entry.segment is not None
        about_a_product = unknown or starts_on_a_product(self.journey, self.segments or SegmentsConfig())
        problems = self.templates.problems_for_journey(
            name, entry_event, has_offer=offer is not None, about_a_product=about_a_product
        )
        for message in problems:
            self.problem(at, message)

    def _check_target(self, name: str, at: Location) -> None:
        """A webhook send's target is one of config/webhooks.yaml's (not judged when that file cannot be read)."""
        if self.targets is None or name in self.targets:
            return
        hint = did_you_mean(name, self.targets)
        known = f"; it has {', '.join(sorted(self.targets))}" if self.targets and not hint else ""
        self.problem(at, f"no webhook target {name!r} in {config_file(WEBHOOKS_FILE)}{hint}{known}")

    def _check_offer(self, name: str, at: Location, channel: str) -> None:
        if self.offers is None:
            return
        offer = self.offers.offers.get(name)
        if offer is None:
            hint = did_you_mean(name, self.offers.offers)
            self.problem(at, f"no offer {name!r} in {config_file('offers.yaml')}{hint}")
            return
        if self.journey.journey not in offer.issued_by:
            self.problem(at, f"offer {name!r} may be issued by {', '.join(offer.issued_by)}, not by this journey")
        if channel not in offer.channels:
            self.problem(at, f"offer {name!r} is presented on {', '.join(offer.channels)}, not on {channel}")

    def _warn_waits_ended_first(self) -> None:
        """A wait_for whose every awaited event is also the goal's or an exit's: the run ends before it resumes."""
        for index, step in enumerate(self.journey.steps):
            waiting = step.wait_for
            ender = self._ends_first(waiting) if waiting is not None else None
            if waiting is not None and ender is not None:
                event = waiting.event.value
                self.warn(
                    ("steps", index, "wait_for", "event"),
                    f"step {step.id!r} waits for {event}, but {ender} ends the journey on every such {event} first; "
                    f"the wait can only time out (to {waiting.on_timeout!r})",
                )

    def _ends_first(self, waiting: WaitFor) -> str | None:
        """What ends the journey on every event `waiting` awaits (the goal, else the first such exit), if anything."""
        goal = self.journey.goal
        # A goal that `includes` the cart's SKUs is reached by only some of those events.
        if (
            goal is not None
            and goal.includes is None
            and goal.event == waiting.event
            and where_implies(waiting.where, goal.where)
        ):
            return "the goal"
        return next(
            (
                f"exit_when[{n}]"
                for n, match in enumerate(self.journey.exit_when)
                # An ExitCondition ends the journey on a profile condition, not on an event.
                if isinstance(match, EventMatch)
                and match.event == waiting.event
                and match.name in (None, waiting.name)
                and where_implies(waiting.where, match.where)
            ),
            None,
        )

    def _warn_cases_that_never_hold(self) -> None:
        at_entry = self._steps_at_entry()
        for index, step in enumerate(self.journey.steps):
            cases = step.branch.cases if step.branch is not None else []
            for n, case in enumerate(cases):
                earlier = next((m for m in range(n) if condition_implies(case.when, cases[m].when)), None)
                why = (
                    contradiction(case.when)
                    or (f"case {earlier + 1} before it holds whenever it does" if earlier is not None else None)
                    or (self._ruled_out(case.when) if step.id in at_entry else None)
                )
                if why is not None:
                    self.warn(
                        ("steps", index, "branch", "cases", n, "when"),
                        f"case {n + 1} of step {step.id!r} can never hold: {why}",
                    )

    def _steps_at_entry(self) -> set[str]:
        """The steps every path reaches with no time passing since entry (only branches, splits and profile
        updates before them): the profile there is the one the audience admitted."""
        steps = self.journey.steps
        graph = self._graph()
        before: dict[str, set[str]] = {step.id: set() for step in steps}
        for source in self._reachable(graph):
            for edge in graph[source]:
                if edge.target != END:
                    before[edge.target].add(source)
        timeless = {step.id for step in steps if step.action in ("branch", "split", "update_profile")}
        at_entry = {steps[0].id}
        grown = True
        while grown:
            grown = False
            for step in steps:
                if step.id not in at_entry and before[step.id] and before[step.id] <= at_entry & timeless:
                    at_entry.add(step.id)
                    grown = True
        return at_entry

    def _ruled_out(self, case: Condition) -> str | None:
        """Why the audience (or a stage entry) admits no customer this case holds for, or None."""
        journey = self.journey
        audience = journey.audience or Condition()
        stages = set(audience.lifecycle_stage) if audience.lifecycle_stage is not None else None
        if journey.entry.stage is not None:
            stages = {journey.entry.stage} & stages if stages is not None else {journey.entry.stage}
        admitted = None
        if case.lifecycle_stage is not None and stages is not None and not set(case.lifecycle_stage) & stages:
            admitted = f"lifecycle_stage: [{', '.join(sorted(stages))}]"
        elif (
            audience.open_ticket is not None
            and case.open_ticket is not None
            and case.open_ticket != audience.open_ticket
        ):
            admitted = f"open_ticket: {str(audience.open_ticket).lower()}"
        else:
            for channel, status in (case.consent or {}).items():
                wanted = (audience.consent or {}).get(channel)
                if wanted is not None and wanted != status:
                    admitted = f"consent: {{{channel}: {wanted}}}"
        if admitted is None:
            return None
        return f"the journey admits only customers with {admitted}, and nothing waits between entry and this step"

    def _warn_offers_never_presented(self) -> None:
        """A send whose promoted products can never include one of its offer's SKUs (the offer is shown only
        beside products it covers): every send falls back to `without_offer`, or is held."""
        if self.offers is None:
            return
        for index, step in enumerate(self.journey.steps):
            send = step.send
            offer = self.offers.offers.get(send.offer) if send is not None and send.offer is not None else None
            if send is None or offer is None:
                continue
            if send.promotes == "none":
                why = "the step promotes no products (promotes: none)"
            elif isinstance(send.promotes, list) and not set(send.promotes) & set(offer.skus):
                why = f"the step promotes {', '.join(send.promotes)}, and the offer covers only {', '.join(offer.skus)}"
            else:
                continue
            fallback = (
                f"every send goes out as {send.without_offer!r}"
                if send.without_offer is not None
                else "every send is held (offer_not_on_promoted_products)"
            )
            self.warn(
                ("steps", index, "send", "offer"),
                f"step {step.id!r} can never present offer {send.offer!r}: {why}; {fallback}",
            )


def contradiction(condition: Condition) -> str | None:
    """Why no customer can meet `condition` whatever their profile, or None."""
    if condition.lifecycle_stage == []:
        return "lifecycle_stage lists no stage"
    tests = [("orders", condition.orders)] if condition.orders is not None else []
    for group in ("traits", "event"):
        tests.extend((f"{group}.{name}", test) for name, test in (getattr(condition, group) or {}).items())
    for name, test in tests:
        why = comparison_contradiction(test)
        if why is not None:
            return f"{name}: {why}"
    return None


def comparison_contradiction(test: Comparison) -> str | None:
    """Why no value passes every test of `test`, or None."""
    if test.at_least is not None and test.at_most is not None and test.at_least > test.at_most:
        return f"at_least {test.at_least:g} is more than at_most {test.at_most:g}"
    if test.one_of == []:
        return "one_of lists no value"
    if "equals" in test.model_fields_set:
        if test.one_of is not None and test.equals not in test.one_of:
            return f"equals {test.equals} is not one of {', '.join(map(str, test.one_of))}"
        bounded = test.at_least is not None or test.at_most is not None
        number = test.equals if isinstance(test.equals, int | float) and not isinstance(test.equals, bool) else None
        if bounded and (
            number is None
            or (test.at_least is not None and number < test.at_least)
            or (test.at_most is not None and number > test.at_most)
        ):
            return f"equals {test.equals} is outside at_least/at_most"
    return None


def where_implies(narrow: dict[str, Comparison] | None, broad: dict[str, Comparison] | None) -> bool:
    """Whether every value set `narrow` admits, `broad` admits too (only when sure: never a guess)."""
    given = narrow or {}
    return all(name in given and comparison_implies(given[name], test) for name, test in (broad or {}).items())


def comparison_implies(narrow: Comparison, broad: Comparison) -> bool:
    """Whether every value passing `narrow` passes `broad`: each of broad's tests is implied by narrow's."""
    if narrow == broad:
        return True
    fixed = [narrow.equals] if "equals" in narrow.model_fields_set else narrow.one_of
    numbers = [value for value in fixed or [] if isinstance(value, int | float) and not isinstance(value, bool)]
    countable = fixed is not None and len(numbers) == len(fixed)
    checks = (
        "equals" not in broad.model_fields_set or (fixed is not None and set(fixed) == {broad.equals}),
        broad.one_of is None or (fixed is not None and set(fixed) <= set(broad.one_of)),
        broad.at_least is None
        or (narrow.at_least is not None and narrow.at_least >= broad.at_least)
        or (countable and all(value >= broad.at_least for value in numbers)),
        broad.at_most is None
        or (narrow.at_most is not None and narrow.at_most <= broad.at_most)
        or (countable and all(value <= broad.at_most for value in numbers)),
        # Only when equal: on a list trait `contains` is membership, and "gold" in ["golden"] does not follow
        # from "golden" in ["golden"].
        broad.contains is None or narrow.contains == broad.contains,
    )
    return all(checks)


def _stages_within(narrow: list[str], broad: list[str]) -> bool:
    return set(narrow) <= set(broad)


def _includes_all(narrow: list[str], broad: list[str]) -> bool:
    return set(broad) <= set(narrow)


def _consents_within(narrow: dict[str, str], broad: dict[str, str]) -> bool:
    """Every channel's consent status `broad` asks for, `narrow` asks for too."""
    return broad.items() <= narrow.items()


def _same(narrow: object, broad: object) -> bool:
    return narrow == broad


# How one condition key of a case implies the same key of another; a key not here implies only when equal.
CONDITION_IMPLIES: dict[str, Callable[[Any, Any], bool]] = {
    "lifecycle_stage": _stages_within,
    "consent": _consents_within,
    "reachable_by": _includes_all,
    "tags": _includes_all,
    "orders": comparison_implies,
    "traits": where_implies,
    "event": where_implies,
}


def condition_implies(narrow: Condition, broad: Condition) -> bool:
    """Whether `broad` holds for every customer `narrow` holds for (an empty condition holds for all)."""
    for key in Condition.model_fields:
        wanted = getattr(broad, key)
        if wanted is None:
            continue
        given = getattr(narrow, key)
        if given is None or not CONDITION_IMPLIES.get(key, _same)(given, wanted):
            return False
    return True


def check_journey(
    path: Path,
    templates: TemplateCatalog,
    stages: tuple[str, ...],
    offers: OffersConfig | None = None,
    segments: SegmentsConfig | None = None,
) -> tuple[Journey, list[Problem]]:
    """The journey in `path` and its warnings, or ConfigError listing every error in it."""
    document = YamlDocument.read(path)
    journey = document.validate(Journey)
    checker = JourneyChecker(document, journey, templates, stages, offers=offers, segments=segments)
    problems = sorted(checker.check(), key=lambda p: (p.line, p.column))
    if any(problem.severity is Severity.error for problem in problems):
        raise ConfigError(problems)
    return journey, problems


def shop_problems(config: Path) -> list[Problem]:
    """What is wrong with config/shop.yaml (the templates' own language and the shop's currency) at its file:line, so
    `journeys validate` says it rather than every send failing on it; none without the file (English, EUR)."""
    path = config / SHOP_FILE
    if not path.is_file():
        return []
    try:
        YamlDocument.read(path).validate(ShopConfig)
    except ConfigError as error:
        return list(error.problems)
    return []
