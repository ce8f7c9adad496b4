"""Checks beyond the schema: the flow between steps, templates, time limits; every problem at its line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from omnijourney.journeys.language import EVENT_FIELDS, Comparison, Condition, Journey, Step
from omnijourney.journeys.templates import EVENT_VARIABLES, OFFER_VARIABLES, TemplateCatalog
from omnijourney.platform.configfile import ConfigError, Location, Problem, YamlDocument, did_you_mean

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


class JourneyChecker:
    def __init__(
        self,
        document: YamlDocument,
        journey: Journey,
        templates: TemplateCatalog,
        stages: tuple[str, ...],
        offers: OffersConfig | None = None,
    ):
        self.offers = offers
        self.document = document
        self.journey = journey
        self.templates = templates
        self.stages = stages
        self.problems: list[Problem] = []

    def problem(self, location: Location, message: str) -> None:
        self.problems.append(self.document.problem(location, message))

    def check(self) -> list[Problem]:
        journey = self.journey
        stem = Path(self.document.path).stem
        if journey.journey != stem:
            self.problem(("journey",), f"the journey is named {journey.journey!r} but its file is {stem}.yaml")
        ids = [step.id for step in journey.steps]
        for index, step in enumerate(journey.steps):
            if step.id in ids[:index]:
                self.problem(("steps", index, "id"), f"step id {step.id!r} is used twice")
        self._check_flow()
        self._check_conditions()
        self._check_sends()
        if journey.entry.stage is not None:
            self._check_stages([journey.entry.stage], ("entry", "stage"))
        return self.problems

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
                self.problem(
                    where, f"no lifecycle stage {stage!r}{hint}; config/lifecycle.yaml has {', '.join(self.stages)}"
                )

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

    def _check_template(self, name: str, at: Location, channel: str, offer: str | None) -> None:
        template = self.templates.templates.get(name)
        if template is None:
            hint = did_you_mean(name, self.templates.templates)
            self.problem(at, f"no template {name!r} in {self.templates.folder.name}/{hint}")
            return
        if template.channel != channel:
            self.problem(at, f"template {name!r} is for {template.channel}, this step sends {channel}")
        entry_event = self.journey.entry.event.value if self.journey.entry.event else None
        for variable in template.variables:
            if variable in EVENT_VARIABLES and entry_event not in EVENT_VARIABLES[variable]:
                needs = " or ".join(EVENT_VARIABLES[variable])
                self.problem(at, f"template {name!r} uses ${{{variable}}}, which only a {needs} entry supplies")
        offered = [f"${{{variable}}}" for variable in template.variables if variable in OFFER_VARIABLES]
        if offered and offer is None:
            self.problem(
                at, f"template {name!r} uses {', '.join(offered)}, which only a send step with an `offer` supplies"
            )

    def _check_offer(self, name: str, at: Location, channel: str) -> None:
        if self.offers is None:
            return
        offer = self.offers.offers.get(name)
        if offer is None:
            hint = did_you_mean(name, self.offers.offers)
            self.problem(at, f"no offer {name!r} in config/offers.yaml{hint}")
            return
        if self.journey.journey not in offer.issued_by:
            self.problem(at, f"offer {name!r} may be issued by {', '.join(offer.issued_by)}, not by this journey")
        if channel not in offer.channels:
            self.problem(at, f"offer {name!r} is presented on {', '.join(offer.channels)}, not on {channel}")


def check_journey(
    path: Path, templates: TemplateCatalog, stages: tuple[str, ...], offers: OffersConfig | None = None
) -> Journey:
    """The journey in `path`, or ConfigError listing every problem in it."""
    document = YamlDocument.read(path)
    journey = document.validate(Journey)
    problems = JourneyChecker(document, journey, templates, stages, offers).check()
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.line, p.column)))
    return journey
