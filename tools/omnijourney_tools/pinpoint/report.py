"""The migration report: each Pinpoint object, what it became, and what needs a human decision. Every import prints
it and writes it to `pinpoint-import.md`, one section per kind of object, so the journeys, templates, segments,
settings and endpoints imported one after the other end up in one document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPORT_FILE = Path("pinpoint-import.md")
TITLE = "# What came over from Amazon Pinpoint"
INTRO = (
    "Written by `omnijourney import pinpoint`. Each Pinpoint object, what it became in omnijourney, and the"
    " decisions left to a person (tick them off as you make them). docs/migrate-from-pinpoint.md explains each."
)


@dataclass
class Mapping:
    """One part of a Pinpoint object (an activity, a setting) and what it became."""

    pinpoint: str
    became: str


@dataclass
class ObjectReport:
    """One Pinpoint object (a journey, a template, a segment, the settings, an endpoint file)."""

    kind: str
    name: str
    source: str
    became: str = "nothing"
    mappings: list[Mapping] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)

    def mapped(self, pinpoint: str, became: str) -> None:
        """A part that came over: `pinpoint` names it as Pinpoint does, `became` says what it is now."""
        self.mappings.append(Mapping(pinpoint, became))

    def decide(self, pinpoint: str, decision: str) -> None:
        """A part with no equivalent, or an equivalent that changes behaviour: what a person has to decide."""
        self.decisions.append(f"{pinpoint}: {decision}")


@dataclass
class MigrationReport:
    """The objects of one import (one section of pinpoint-import.md)."""

    section: str
    objects: list[ObjectReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def object(self, kind: str, name: str, source: Path | str) -> ObjectReport:
        reported = ObjectReport(kind, name, str(source))
        self.objects.append(reported)
        return reported

    @property
    def decisions(self) -> int:
        return sum(len(reported.decisions) for reported in self.objects)

    def summary(self) -> str:
        kinds = sorted({reported.kind for reported in self.objects})
        counted = ", ".join(f"{sum(r.kind == kind for r in self.objects)} {kind}(s)" for kind in kinds) or "nothing"
        return f"{self.section}: {counted} imported; {self.decisions} decision(s) left for a person"

    def markdown(self) -> str:
        lines = [f"## {self.section}", "", *(f"{note}" for note in self.notes)]
        if self.notes:
            lines.append("")
        for reported in self.objects:
            lines += [
                f"### {reported.kind} {reported.name!r}",
                "",
                f"From `{reported.source}`; became {reported.became}.",
                "",
            ]
            if reported.mappings:
                lines += ["| Pinpoint | omnijourney |", "|---|---|"]
                lines += [f"| {_cell(m.pinpoint)} | {_cell(m.became)} |" for m in reported.mappings]
                lines.append("")
            if reported.decisions:
                lines += ["Decisions for a person:", ""]
                lines += [f"- [ ] {decision}" for decision in reported.decisions]
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def text(self) -> str:
        """What the command prints: each object, what it became, and each decision."""
        lines = []
        for reported in self.objects:
            lines.append(f"{reported.kind} {reported.name!r} ({reported.source}) → {reported.became}")
            lines += [f"  decide: {decision}" for decision in reported.decisions]
        lines += self.notes
        lines.append(self.summary())
        return "\n".join(lines)


def merged_report(existing: str | None, report: MigrationReport) -> str:
    """pinpoint-import.md with this import's section in place of the one an earlier import of the same kind wrote;
    the other sections stay."""
    sections = _sections(existing) if existing and existing.startswith(TITLE) else {}
    sections[report.section] = report.markdown()
    return "\n".join([TITLE, "", INTRO, "", *sections.values()])


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^(?=## )", text, flags=re.MULTILINE)[1:]
    return {part.splitlines()[0][3:]: part.rstrip() + "\n" for part in parts}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
