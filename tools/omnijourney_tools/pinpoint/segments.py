"""`import pinpoint segments`: Pinpoint's dimensional segments as shared segments in config/segments.yaml.

A segment condition is an AND of its tests, with `segment`, `segments: {any_of, none_of}` for membership of others;
Pinpoint's ORs (several CONTAINS values, channels, groups of type ANY) and NOTs (EXCLUSIVE, NONE) become parts of
their own (`<name>_part_<n>`) that the segment names. Attributes, user attributes and metrics are traits of the same
name (as `import pinpoint endpoints` writes them), the country the trait `country`, a channel `reachable_by`, recency
`did`/`did_not` a page or screen view. A dimension with no equivalent (a device, a GPS point, a date comparison)
is reported, and the segment matches nobody (it requires the tag UNMAPPED_TAG) until a person decides: an import
must never send to more people than Pinpoint did.

The imported segments go into one delimited block of config/segments.yaml (segment_block), replaced by every import
(segments from earlier imports stay); the user's own text around it is kept as it is.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnijourney.edge.sources.pinpoint import LOCATION_TRAITS
from omnijourney.events import ConsentChannel, EventType
from omnijourney.journeys.segments import SEGMENTS_FILE, SegmentsConfig, load_segments
from omnijourney.platform.configfile import ConfigError
from omnijourney_tools.pinpoint.exports import SEGMENT, Export, ImportRefused, read_exports
from omnijourney_tools.pinpoint.names import imported_segments, segment_description, snake_name
from omnijourney_tools.pinpoint.outputs import Outputs
from omnijourney_tools.pinpoint.report import MigrationReport, ObjectReport
from omnijourney_tools.pinpoint.segment_block import PART, edited_block, imported_block

UNMAPPED_TAG = "pinpoint_unmapped"
# Recency: Pinpoint's window, as calendar days in the customer's timezone (today included).
RECENCY_DAYS = {"HR_24": 1, "DAY_7": 7, "DAY_14": 14, "DAY_30": 30}
RECENCY_WORDS = {"HR_24": "24 hours", "DAY_7": "7 days", "DAY_14": "14 days", "DAY_30": "30 days"}
# What counts as being active: a page or screen view is what the web and app sources send on every visit.
ACTIVITY = EventType.page_viewed
CHANNELS = {
    "EMAIL": ConsentChannel.email,
    "SMS": ConsentChannel.sms,
    **dict.fromkeys(
        ("PUSH", "GCM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "ADM", "BAIDU"), ConsentChannel.push
    ),
}
# The trait the `pinpoint` source writes an endpoint's country to.
COUNTRY_TRAIT = LOCATION_TRAITS["Country"]
# Pinpoint's comparison of a metric: the bound it sets, and in words.
METRIC_OPERATORS = {
    "GREATER_THAN": ("at_least", "above"),
    "GREATER_THAN_OR_EQUAL": ("at_least", "at least"),
    "LESS_THAN": ("at_most", "below"),
    "LESS_THAN_OR_EQUAL": ("at_most", "at most"),
    "EQUAL": ("equals", "is"),
}
UNMAPPED_DEMOGRAPHICS = ("AppVersion", "DeviceType", "Make", "Model", "Platform")


@dataclass
class Clause:
    """An AND of tests, before it is written as a segment condition: `tests` are the condition's own keys (traits,
    reachable_by, did, did_not); `required` segments all hold, one segment of each of `choices`, none of `excluded`."""

    tests: dict[str, Any] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    choices: list[list[str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.tests or self.required or self.choices or self.excluded)

    @property
    def holds(self) -> str:
        return "; ".join(self.words) or "everyone"


def convert(args: argparse.Namespace, report: MigrationReport, outputs: Outputs) -> None:
    path: Path = args.config / SEGMENTS_FILE
    exports = read_exports(args.files, SEGMENT)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    earlier = imported_block(path, text)
    configured = _configured(path)
    names = _names(exports, configured)
    definitions: dict[str, dict[str, Any]] = {}
    reports: dict[str, ObjectReport] = {}
    for export in exports:
        segment, reported = _segment(export, names, report)
        definitions |= segment
        reports |= dict.fromkeys(segment, reported)
    _inherit_unmapped(definitions, reports, configured)
    outputs.add(path, edited_block(path, text, earlier, definitions), source=str(path), edits_existing=True)
    report.notes.append(
        "Attributes and user attributes are tested as traits of the same name, and the country as the trait "
        f"`{COUNTRY_TRAIT}`, as `import pinpoint endpoints` writes them; metrics as traits of the same name too. "
        "An attribute with several values is "
        "a list trait, which `equals` and `one_of` do not match (Pinpoint matched any of its values)."
    )


def _configured(path: Path) -> SegmentsConfig:
    try:
        return load_segments(path)
    except ConfigError as error:
        raise ImportRefused(path, f"cannot be read, so nothing can be added to it; fix it first:\n{error}") from None


def _names(exports: list[Export], configured: SegmentsConfig) -> dict[str, str]:
    """Pinpoint segment id → its name here: the segments imported before, then those of this import."""
    names = imported_segments(configured.segments)
    taken: dict[str, Export] = {}
    for export in exports:
        name = snake_name(
            str(export.body.get("Name") or export.body.get("Id") or ""), fallback="segment", max_length=48
        )
        if name in taken:
            raise export.refuse(f"would be named {name!r} like {taken[name].record}; rename one in Pinpoint's export")
        taken[name] = export
        # A list imported from a file becomes no segment here: a group naming it is reported, not resolved.
        if export.body.get("Id") and not _is_list(export):
            names[str(export.body["Id"])] = name
    return names


def _segment(
    export: Export, names: dict[str, str], report: MigrationReport
) -> tuple[dict[str, dict[str, Any]], ObjectReport]:
    """The segment's definition and its parts', and its entry in the report."""
    body = export.body
    segment_id = body.get("Id")
    name = names.get(str(segment_id)) if segment_id else None
    name = name or snake_name(str(body.get("Name") or ""), fallback="segment", max_length=48)
    reported = report.object("segment", str(body.get("Name") or segment_id or name), export.file)
    if _is_list(export):
        _imported_from_files(export, reported)
        return {}, reported
    builder = Builder(export, name, names, reported)
    clause = builder.both(
        [
            builder.dimensions(body.get("Dimensions") or {}, "Dimensions"),
            builder.groups(body.get("SegmentGroups") or {}, "SegmentGroups"),
        ]
    )
    when = builder.realized(clause)
    if builder.unmapped:
        when["tags"] = [UNMAPPED_TAG]
    if segment_id:
        description = segment_description(str(segment_id), clause.holds)
    else:
        description = f"Imported from Pinpoint (the export has no segment id): {clause.holds}"
        reported.decide(
            "Id",
            "the export has none (a WriteSegmentRequest): journeys that name this segment by id will not find it; "
            "export it with `aws pinpoint get-segment` and import that",
        )
    parts = len(builder.parts)
    reported.became = f"segment `{name}` in config/segments.yaml" + (f" (with {parts} part(s))" if parts else "")
    if builder.unmapped:
        reported.became += f", matching nobody until the decisions below are made (it requires tag {UNMAPPED_TAG})"
    return {name: {"description": description, "when": when}, **builder.parts}, reported


def _inherit_unmapped(
    definitions: dict[str, dict[str, Any]], reports: dict[str, ObjectReport], configured: SegmentsConfig
) -> None:
    """A segment (or part) that leaves out (`none_of`) or may stand in for (`any_of`) a segment matching nobody
    until a person decides (it requires UNMAPPED_TAG) requires the tag too: `none_of` a segment nobody is in lets
    everyone in, and Pinpoint's segment reached only some of them. Repeated until nothing changes: a segment that
    inherits the tag passes it on to those that name it."""
    tagged = {name for name, segment in configured.segments.items() if UNMAPPED_TAG in (segment.when.tags or [])}
    tagged |= {name for name, definition in definitions.items() if UNMAPPED_TAG in definition["when"].get("tags", [])}
    inheriting = True
    while inheriting:
        inheriting = False
        for name, definition in definitions.items():
            memberships = definition["when"].get("segments") or {}
            named = [other for key in ("none_of", "any_of") for other in memberships.get(key, []) if other in tagged]
            if name in tagged or not named:
                continue
            definition["when"]["tags"] = [*definition["when"].get("tags", []), UNMAPPED_TAG]
            tagged.add(name)
            inheriting = True
            reports[name].decide(
                f"segment {name!r}",
                f"it leaves out or may stand in for {', '.join(named)}, which match(es) nobody until a person decides "
                f"(tag {UNMAPPED_TAG}): it would reach customers Pinpoint's segment did not, so it requires the tag "
                "too and matches nobody, as an import never reaches more customers than Pinpoint did; decide those "
                f"first, then remove `{UNMAPPED_TAG}` here",
            )


def _is_list(export: Export) -> bool:
    kind = export.enum_value(export.body.get("SegmentType", "DIMENSIONAL"), "SegmentType", "SegmentType")
    return kind == "IMPORT" or bool(export.body.get("ImportDefinition"))


def _imported_from_files(export: Export, reported: ObjectReport) -> None:
    definition = export.body.get("ImportDefinition") or {}
    size = definition.get("Size")
    counts = ", ".join(
        f"{count} {channel}" for channel, count in sorted((definition.get("ChannelCounts") or {}).items())
    )
    reported.became = "nothing: an imported segment is a list of endpoints, not a condition"
    reported.decide(
        f"imported segment ({size if size is not None else 'unknown number of'} endpoints"
        + (f": {counts}" if counts else "")
        + ")",
        "bring its endpoints over with `omnijourney import pinpoint endpoints` (from an export job of this segment), "
        "then define who they are as a segment: a trait or tag they share, e.g. `when: {tags: [imported_list]}` "
        "after tagging them",
    )
    if export.body.get("SegmentGroups") or export.body.get("Dimensions"):
        reported.decide(
            "SegmentGroups",
            "the filters on the imported list are not imported: add them to the segment you define for it",
        )


class Builder:
    """One Pinpoint segment as a condition, with the parts of its own its ORs and NOTs need."""

    def __init__(self, export: Export, name: str, names: dict[str, str], reported: ObjectReport) -> None:
        self.export = export
        self.name = name
        self.names = names
        self.reported = reported
        self.parts: dict[str, dict[str, Any]] = {}
        self.unmapped = False

    # Combining --------------------------------------------------------------------------------------------

    def both(self, clauses: Iterable[Clause]) -> Clause:
        """All of the clauses: merged into one where their tests do not overlap, the rest as parts."""
        merged = Clause()
        for clause in clauses:
            merged.required += clause.required
            merged.choices += clause.choices
            merged.excluded += clause.excluded
            merged.words += clause.words
            left = self._merge_tests(merged.tests, clause.tests)
            if left:
                merged.required.append(self.part(Clause(tests=left, words=clause.words)))
        return merged

    def either(self, clauses: list[Clause]) -> Clause:
        """Any of the clauses."""
        kept = [clause for clause in clauses if not clause.empty]
        if len(kept) <= 1:
            return kept[0] if kept else Clause()
        words = [f"any of ({' / '.join(clause.holds for clause in kept)})"]
        return Clause(choices=[[self.part(clause) for clause in kept]], words=words)

    def neither(self, clauses: list[Clause]) -> Clause:
        """None of the clauses."""
        kept = [clause for clause in clauses if not clause.empty]
        return Clause(
            excluded=[self.part(clause) for clause in kept], words=[f"not ({clause.holds})" for clause in kept]
        )

    @staticmethod
    def _merge_tests(into: dict[str, Any], tests: dict[str, Any]) -> dict[str, Any]:
        """Merge `tests` into `into`; return those that would overwrite a test there."""
        left: dict[str, Any] = {}
        for key, value in tests.items():
            if key == "reachable_by":
                into[key] = sorted({*into.get(key, []), *value})
            elif key == "traits":
                traits = into.setdefault("traits", {})
                for trait, comparison in value.items():
                    if trait in traits and traits[trait].keys() & comparison.keys():
                        left.setdefault("traits", {})[trait] = comparison
                    else:
                        traits[trait] = {**traits.get(trait, {}), **comparison}
            elif key in into:
                left[key] = value
            else:
                into[key] = value
        return left

    def part(self, clause: Clause) -> str:
        """A segment of its own holding `clause`, named after this one (the same clause twice is one part)."""
        if len(clause.required) == 1 and not (clause.tests or clause.choices or clause.excluded):
            return clause.required[0]
        when = self.realized(clause)
        for name, definition in self.parts.items():
            if definition["when"] == when:
                return name
        name = f"{self.name}{PART}{len(self.parts) + 1}"
        self.parts[name] = {"description": f"Part of {self.name}: {clause.holds}", "when": when}
        return name

    def realized(self, clause: Clause) -> dict[str, Any]:
        """The segment condition of a clause. A condition names at most one segment in `segment` and one list in
        `any_of`: more, and the rest goes into a part it names."""
        when = dict(clause.tests)
        names = list(dict.fromkeys([*clause.required, *(group[0] for group in clause.choices if len(group) == 1)]))
        groups = [group for group in clause.choices if len(group) > 1]
        memberships: dict[str, list[str]] = {}
        if len(names) <= 1 and len(groups) <= 1:
            if names:
                when["segment"] = names[0]
            if groups:
                memberships["any_of"] = groups[0]
        else:
            when["segment"] = names[0] if names else self.part(Clause(choices=[groups[0]]))
            rest = Clause(required=names[1:], choices=groups if names else groups[1:])
            memberships["any_of"] = [self.part(rest)]
        if clause.excluded:
            memberships["none_of"] = list(dict.fromkeys(clause.excluded))
        if memberships:
            when["segments"] = memberships
        return when

    # Pinpoint's dimensions --------------------------------------------------------------------------------

    def groups(self, groups: dict[str, Any], path: str) -> Clause:
        """SegmentGroups: each group's source segments and dimensions, the groups combined by Include."""
        listed = groups.get("Groups") or []
        if not listed:
            return Clause()
        clauses = []
        for index, group in enumerate(listed):
            at = f"{path}.Groups[{index}]"
            references = [
                self.reference(ref, f"{at}.SourceSegments[{n}]")
                for n, ref in enumerate(group.get("SourceSegments", []))
            ]
            sources = self._combined(references, group.get("SourceType", "ALL"), f"{at}.SourceType")
            dimensions = [
                self.dimensions(dimension, f"{at}.Dimensions[{n}]")
                for n, dimension in enumerate(group.get("Dimensions", []))
            ]
            filters = self._combined(dimensions, group.get("Type", "ALL"), f"{at}.Type")
            clauses.append(self.both([sources, filters]))
            self.reported.mapped(f"{at} ({group.get('Type', 'ALL')})", clauses[-1].holds)
        return self._combined(clauses, groups.get("Include", "ALL"), f"{path}.Include")

    def _combined(self, clauses: list[Clause], how: str, path: str) -> Clause:
        combine: dict[str, Callable[[list[Clause]], Clause]] = {
            "ALL": self.both,
            "ANY": self.either,
            "NONE": self.neither,
        }
        return combine[self.export.enum_value(how, "Include", path)](clauses)

    def reference(self, reference: dict[str, Any], path: str) -> Clause:
        segment_id = str(reference["Id"])
        name = self.names.get(segment_id)
        if name is None:
            self._unmapped(
                f"{path} (segment {segment_id})",
                "not among the segments imported (an imported list, or one not exported): import it in the same "
                "command or before, or write the test it stood for",
            )
            return Clause()
        return Clause(required=[name], words=[f"in {name}"])

    def dimensions(self, dimensions: dict[str, Any], path: str) -> Clause:
        clauses = []
        for source in ("Attributes", "UserAttributes"):
            for name, dimension in (dimensions.get(source) or {}).items():
                clauses.append(self.attribute(name, dimension, f"{path}.{source}.{name}"))
        for name, metric in (dimensions.get("Metrics") or {}).items():
            clauses.append(self.metric(name, metric, f"{path}.Metrics.{name}"))
        demographic = dimensions.get("Demographic") or {}
        if demographic.get("Channel"):
            clauses.append(self.channel(demographic["Channel"], f"{path}.Demographic.Channel"))
        for key in UNMAPPED_DEMOGRAPHICS:
            if demographic.get(key):
                self._unmapped(
                    f"{path}.Demographic.{key}", "a profile keeps no device details: test a trait the app sends"
                )
        location = dimensions.get("Location") or {}
        if location.get("Country"):
            clauses.append(self.country(location["Country"], f"{path}.Location.Country"))
        if location.get("GPSPoint"):
            self._unmapped(f"{path}.Location.GPSPoint", "a profile keeps no position: test a trait such as a city")
        recency = (dimensions.get("Behavior") or {}).get("Recency")
        if recency:
            clauses.append(self.recency(recency, f"{path}.Behavior.Recency"))
        return self.both(clauses)

    def attribute(self, name: str, dimension: dict[str, Any], path: str) -> Clause:
        kind = self.export.enum_value(
            dimension.get("AttributeType", "INCLUSIVE"), "AttributeType", f"{path}.AttributeType"
        )
        values = [str(value) for value in dimension["Values"]]
        if kind in ("INCLUSIVE", "EXCLUSIVE"):
            clause = self._one_of(name, values)
            result = clause if kind == "INCLUSIVE" else self.neither([clause])
        elif kind == "CONTAINS":
            result = self.either(
                [Clause(tests={"traits": {name: {"contains": v}}}, words=[f"{name} contains {v}"]) for v in values]
            )
        else:
            self._unmapped(
                f"{path} ({kind} {', '.join(values)})",
                "omnijourney compares dates only relative to today (`date: {trait: …, within_next_days: N}`): "
                "write the test you mean",
            )
            return Clause()
        self.reported.mapped(f"{path} ({kind} {', '.join(values)})", result.holds)
        return result

    def _one_of(self, trait: str, values: list[Any]) -> Clause:
        if len(values) == 1:
            return Clause(tests={"traits": {trait: {"equals": values[0]}}}, words=[f"{trait} is {values[0]}"])
        shown = ", ".join(str(value) for value in values)
        return Clause(tests={"traits": {trait: {"one_of": values}}}, words=[f"{trait} is one of {shown}"])

    def metric(self, name: str, metric: dict[str, Any], path: str) -> Clause:
        operator, value = str(metric["ComparisonOperator"]), metric["Value"]
        if operator not in METRIC_OPERATORS:
            raise self.export.refuse(
                f"{operator!r} is not one of Pinpoint's comparison operators: {', '.join(METRIC_OPERATORS)}",
                field=f"{path}.ComparisonOperator",
            )
        number = int(value) if float(value).is_integer() else float(value)
        bound, words = METRIC_OPERATORS[operator]
        clause = Clause(tests={"traits": {name: {bound: number}}}, words=[f"{name} {words} {number}"])
        if operator in ("GREATER_THAN", "LESS_THAN"):
            # Strictly: the bound itself is left out.
            clause = self.both([clause, self.neither([self._one_of(name, [number])])])
            clause.words = [f"{name} {words} {number}"]
        self.reported.mapped(f"{path} ({operator} {number})", f"trait {clause.holds}")
        self.reported.decide(
            path,
            f"Pinpoint kept metrics per endpoint; `import pinpoint endpoints` makes them the trait {name!r}, one "
            "value per customer (the last endpoint imported wins): send it as a trait from now on (e.g. a Segment "
            "identify) or the imported value stays",
        )
        return clause

    def channel(self, dimension: dict[str, Any], path: str) -> Clause:
        kind = self.export.enum_value(
            dimension.get("DimensionType", "INCLUSIVE"), "DimensionType", f"{path}.DimensionType"
        )
        for index, value in enumerate(dimension["Values"]):
            self.export.enum_value(value, "ChannelType", f"{path}.Values[{index}]")
        channels = list(dict.fromkeys(CHANNELS[value] for value in dimension["Values"] if value in CHANNELS))
        others = [value for value in dimension["Values"] if value not in CHANNELS]
        if others and kind == "INCLUSIVE":
            self.reported.decide(
                f"{path} ({', '.join(others)})", "omnijourney has no such channel: left out of the segment"
            )
        if not channels:
            self._unmapped(f"{path} ({kind} {', '.join(others)})", "omnijourney has no such channel")
            return Clause()
        clauses = [Clause(tests={"reachable_by": [c.value]}, words=[f"reachable by {c.value}"]) for c in channels]
        result = self.either(clauses) if kind == "INCLUSIVE" else self.neither(clauses)
        self.reported.mapped(f"{path} ({kind} {', '.join(dimension['Values'])})", result.holds)
        self.reported.decide(
            path,
            "reachable_by means a marketing message may go out now: the address and the consent "
            "config/consistency.yaml asks for (marketing SMS needs an opt-in); Pinpoint counted every endpoint of "
            "the channel, opted out or not",
        )
        return result

    def country(self, dimension: dict[str, Any], path: str) -> Clause:
        kind = self.export.enum_value(
            dimension.get("DimensionType", "INCLUSIVE"), "DimensionType", f"{path}.DimensionType"
        )
        clause = self._one_of(COUNTRY_TRAIT, [str(value) for value in dimension["Values"]])
        result = clause if kind == "INCLUSIVE" else self.neither([clause])
        self.reported.mapped(f"{path} ({kind} {', '.join(dimension['Values'])})", result.holds)
        return result

    def recency(self, recency: dict[str, Any], path: str) -> Clause:
        active = self.export.enum_value(recency["RecencyType"], "RecencyType", f"{path}.RecencyType") == "ACTIVE"
        duration = self.export.enum_value(recency["Duration"], "Duration", f"{path}.Duration")
        days = RECENCY_DAYS[duration]
        test = {"event": ACTIVITY.value, "within_days": days}
        did = "did" if active else "did_not"
        clause = Clause(tests={did: test}, words=[f"{'' if active else 'no '}{ACTIVITY.value} within {days} day(s)"])
        self.reported.mapped(f"{path} ({recency['RecencyType']} {duration})", f"{did}: {ACTIVITY.value}")
        self.reported.decide(
            path,
            f"Pinpoint counted any activity of the endpoint (a session, an event) in the last "
            f"{RECENCY_WORDS[duration]}; this "
            f"counts page and screen views on the last {days} calendar day(s) in the customer's timezone: add a "
            "`did` part for other events your app sends, if they mean active",
        )
        return clause

    def _unmapped(self, pinpoint: str, why: str) -> None:
        self.unmapped = True
        self.reported.decide(
            pinpoint,
            f"no equivalent ({why}); until you replace `tags: [{UNMAPPED_TAG}]` in segment {self.name!r} with a test "
            "of your own, it matches nobody",
        )
