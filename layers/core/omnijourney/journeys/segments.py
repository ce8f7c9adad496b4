"""Shared segments: named conditions in config/segments.yaml, agreed once across marketing, sales and service and
used by every journey (`entry: {segment: vip}`, `segment: vip` in a condition, `exit_when: [{when: ...}]`).

A segment is defined from the journey conditions and from what the customer did and when (`did`, `did_not`,
`days_since`, `date`). Membership is derived and kept on the profile (runtime.conditions computes it): on every
event that can change it, and once a day in the customer's timezone for the segments time alone changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import Field

from omnijourney.events import EventType
from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.language import (
    Comparison,
    Condition,
    Journey,
    Name,
    SegmentCondition,
)
from omnijourney.platform.configfile import (
    ConfigError,
    ConfigModel,
    Location,
    Problem,
    YamlDocument,
    config_dir,
    config_file,
    did_you_mean,
)
from omnijourney.platform.settings import get_settings

SEGMENTS_FILE = "segments.yaml"
# The name a scenario's `schedule` line gives the daily segment evaluation's turn: no journey may take it.
SEGMENTS_TURN = "segments"
PROPERTY_PREFIX = "properties."
# What a history entry keeps, hence what a `did`/`did_not` `where` may test.
HISTORY_FIELDS = ("name", "channel", "source")
# The properties of Segment's e-commerce events (its spec), for a "did you mean" on one written without `properties.`.
EVENT_PROPERTIES = ("category", "sku", "product_id", "brand", "variant", "price", "quantity", "currency", "value")
# Words in a property's name that say it holds personal data: never kept in the history (DEVELOPERS.md's data rule).
# (`name` alone is a product's name in Segment's e-commerce events; a person's is first_name, last_name, ...)
PERSONAL_WORDS = frozenset({"email", "phone", "mobile", "address", "street", "zip", "postcode", "birthday"})
PERSONAL_NAMES = frozenset({"first", "last", "full", "user", "customer", "given", "family"})


class Segment(ConfigModel):
    description: str = ""
    when: SegmentCondition


class SegmentsConfig(ConfigModel):
    """config/segments.yaml."""

    # Traits that hold dates (ISO "1990-03-14", or "--03-14" without a year): what a `date` condition may read.
    date_traits: list[str] = Field(default_factory=lambda: ["birthday"])
    segments: dict[Name, Segment] = Field(default_factory=dict)

    @cached_property
    def order(self) -> list[str]:
        """Every segment after those it refers to: the order membership is computed in (a loaded file has no
        cycle: segment_problems refuses one)."""
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in ordered or name in visiting or name not in self.segments:
                return
            visiting.add(name)
            for referred in self.segments[name].when.segment_names:
                visit(referred)
            ordered.append(name)

        for name in sorted(self.segments):
            visit(name)
        return ordered

    def with_dependents(self, names: Iterable[str]) -> set[str]:
        """`names` and every segment that refers to one of them, directly or through others."""
        found = set(names)
        for name in self.order:
            if set(self.segments[name].when.segment_names) & found:
                found.add(name)
        return found

    @cached_property
    def timed(self) -> frozenset[str]:
        """The segments time alone can change (windows of days, days since, dates), and those referring to them:
        re-evaluated once a day in the customer's timezone."""
        own = {name for name, segment in self.segments.items() if _changes_with_time(segment.when)}
        return frozenset(self.with_dependents(own))

    @cached_property
    def reading_profile(self) -> frozenset[str]:
        """The segments a change of the profile can move (all but those testing only what the customer did)."""
        own = {name for name, segment in self.segments.items() if segment.when.reads_profile}
        return frozenset(self.with_dependents(own))

    def history_properties(self, event_type: EventType) -> frozenset[str]:
        """The properties of an event of this type that its history entry keeps: those a `did`/`did_not` tests."""
        names: set[str] = set()
        for segment in self.segments.values():
            for test in segment.when.counted:
                if test.event == event_type:
                    names |= {
                        key.removeprefix(PROPERTY_PREFIX) for key in test.where or {} if key.startswith(PROPERTY_PREFIX)
                    }
        return frozenset(names)

    def window_days(self, names: Iterable[str]) -> int:
        """The longest `within_days` among these segments (0: none reads the history)."""
        return max((test.within_days for name in names for test in self.segments[name].when.counted), default=0)

    def read_messages(self, names: Iterable[str]) -> bool:
        """Whether any of these segments asks for the days since the last message (the ledger is read)."""
        tests = [self.segments[name].when.days_since for name in names]
        return any(test is not None and test.last_message is not None for test in tests)


def _changes_with_time(condition: SegmentCondition) -> bool:
    # A lifecycle stage too: `at_risk` and `lapsed` come with the days since the last order.
    timed = (condition.days_since, condition.date, condition.lifecycle_stage)
    return bool(condition.counted) or any(test is not None for test in timed)


def _cycle(segments: dict[str, Segment]) -> list[str]:
    """A chain of segments that comes back to its start, or []."""
    done: set[str] = set()

    def walk(name: str, path: list[str]) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done or name not in segments:
            return []
        for referred in segments[name].when.segment_names:
            found = walk(referred, [*path, name])
            if found:
                return found
        done.add(name)
        return []

    for name in sorted(segments):
        found = walk(name, [])
        if found:
            return found
    return []


def _unknown(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    listed = ", ".join(known) if known else "none yet"
    return f"no segment {name!r} in {config_file(SEGMENTS_FILE)}{did_you_mean(name, known)}; it defines {listed}"


def _segment_references(condition: Condition, location: Location) -> Iterator[tuple[Location, str]]:
    if condition.segment is not None:
        yield (*location, "segment"), condition.segment
    if condition.segments is not None:
        for key in ("any_of", "none_of"):
            for n, name in enumerate(getattr(condition.segments, key)):
                yield (*location, "segments", key, n), name


def segment_problems(document: YamlDocument, config: SegmentsConfig) -> list[Problem]:
    """What is wrong in config/segments.yaml beyond its shape: references to segments that do not exist, windows
    longer than the history keeps, dates read from traits not declared to hold dates, the starting event (a segment
    has none)."""
    problems: list[Problem] = []
    retention = get_settings().history_retention_days
    for name, segment in config.segments.items():
        at: Location = ("segments", name, "when")
        condition = segment.when
        for location, referred in _segment_references(condition, at):
            if referred not in config.segments:
                problems.append(document.problem(location, _unknown(referred, config.segments)))
        for key in ("did", "did_not"):
            test = getattr(condition, key)
            if test is None:
                continue
            if test.within_days > retention:
                problems.append(
                    document.problem(
                        (*at, key, "within_days"),
                        f"the history keeps {retention} days of events; a window of {test.within_days} days would "
                        f"count only the last {retention}: use within_days: {retention} or less",
                    )
                )
            problems.extend(_history_field_problems(document, test.where, (*at, key, "where")))
        if condition.date is not None and condition.date.trait is not None:
            trait = condition.date.trait
            if trait not in config.date_traits:
                hint = did_you_mean(trait, config.date_traits)
                problems.append(
                    document.problem(
                        (*at, "date", "trait"),
                        f"trait {trait!r} is not listed under date_traits{hint}; date_traits: "
                        f"{', '.join(config.date_traits)} (add it there if it holds dates such as 1990-03-14)",
                    )
                )
        if condition.event is not None:
            problems.append(
                document.problem(
                    (*at, "event"),
                    "a segment has no starting event; to test what the customer did, write "
                    "did: {event: product_viewed, within_days: 3}",
                )
            )
    cycle = _cycle(config.segments)
    if cycle:
        problems.append(
            document.problem(("segments", cycle[0]), f"segment {cycle[0]!r} refers to itself: {' → '.join(cycle)}")
        )
    return problems


def _history_field_problems(
    document: YamlDocument, where: dict[str, Comparison] | None, location: Location
) -> list[Problem]:
    problems: list[Problem] = []
    for field in where or {}:
        property_name = field.removeprefix(PROPERTY_PREFIX)
        if not field.startswith(PROPERTY_PREFIX) and field not in HISTORY_FIELDS:
            # A property written without its prefix (`catgory` for properties.category) is matched as one.
            properties = [f"{PROPERTY_PREFIX}{name}" for name in EVENT_PROPERTIES]
            hint = did_you_mean(field, HISTORY_FIELDS) or did_you_mean(f"{PROPERTY_PREFIX}{field}", properties)
            problems.append(
                document.problem(
                    (*location, field),
                    f"the history keeps no {field!r}{hint}; test "
                    f"{', '.join(HISTORY_FIELDS)} or properties.<name>, e.g. properties.category",
                )
            )
        elif field.startswith(PROPERTY_PREFIX) and _personal(property_name):
            problems.append(
                document.problem(
                    (*location, field),
                    f"{field} may hold personal data, which the history does not keep (it would stay there "
                    f"{get_settings().history_retention_days} days); test what was done instead, e.g. "
                    "properties.category or properties.sku",
                )
            )
    return problems


def _personal(property_name: str) -> bool:
    """A property named like an identifier or personal detail (email, phone, first_name, shipping_address...)."""
    words = set(property_name.lower().replace("-", "_").split("_"))
    a_persons_name = "name" in words and bool(words & PERSONAL_NAMES)
    return bool(words & PERSONAL_WORDS) or a_persons_name or property_name in {kind.value for kind in IdentifierKind}


def journey_segment_problems(journey: Journey, config: SegmentsConfig) -> list[tuple[Location, str]]:
    """(location, message) for every segment a journey names that config/segments.yaml does not define."""
    found: list[tuple[Location, str]] = []
    if journey.entry.segment is not None and journey.entry.segment not in config.segments:
        found.append((("entry", "segment"), _unknown(journey.entry.segment, config.segments)))
    for location, condition in journey_conditions(journey):
        found += [
            (at, _unknown(name, config.segments))
            for at, name in _segment_references(condition, location)
            if name not in config.segments
        ]
    return found


def journey_conditions(journey: Journey) -> Iterator[tuple[Location, Condition]]:
    """Every condition of a journey, where it stands in the file: audience, goal, branch cases, exit conditions."""
    if journey.audience is not None:
        yield ("audience",), journey.audience
    if journey.goal is not None and journey.goal.when is not None:
        yield ("goal", "when"), journey.goal.when
    for index, exit in enumerate(journey.exit_when):
        when = getattr(exit, "when", None)
        if isinstance(when, Condition):
            yield ("exit_when", index, "when"), when
    for index, step in enumerate(journey.steps):
        for n, case in enumerate(step.branch.cases if step.branch else []):
            yield ("steps", index, "branch", "cases", n, "when"), case.when


def load_segments(path: Path) -> SegmentsConfig:
    """The segments in `path` (none if there is no such file), or ConfigError listing every problem."""
    if not path.exists():
        return SegmentsConfig()
    document = YamlDocument.read(path)
    config = document.validate(SegmentsConfig)
    problems = segment_problems(document, config)
    if problems:
        raise ConfigError(sorted(problems, key=lambda problem: (problem.line, problem.column)))
    return config


@lru_cache(maxsize=1)
def segments() -> SegmentsConfig:
    """config/segments.yaml, loaded once per process (`omnijourney.app.config.clear()` should forget it)."""
    return load_segments(config_dir() / SEGMENTS_FILE)
