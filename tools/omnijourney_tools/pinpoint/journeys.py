"""`omnijourney import pinpoint journeys`: each Pinpoint journey (get-journey / list-journeys JSON) as one journey
file, `<out>/<name>.yaml`, its steps in the order a participant meets them from StartActivity, each with a comment
naming the Pinpoint activity it came from."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from omnijourney.channels.targets import WEBHOOKS_FILE
from omnijourney.journeys.segments import SEGMENTS_FILE, load_segments
from omnijourney.platform.configfile import ConfigError
from omnijourney_tools.pinpoint.activities import CustomPayload, CustomTarget, Graph
from omnijourney_tools.pinpoint.exports import JOURNEY, Export, ImportRefused, read_exports
from omnijourney_tools.pinpoint.journey_settings import IDENTITY, journey_settings
from omnijourney_tools.pinpoint.journey_steps import Draft, in_order
from omnijourney_tools.pinpoint.names import imported_segments
from omnijourney_tools.pinpoint.outputs import IMPORTED_MARK, Outputs, written_by_an_import
from omnijourney_tools.pinpoint.report import MigrationReport
from omnijourney_tools.pinpoint.webhook_parts import payload_template, with_targets

TEMPLATES_FOLDER = "templates"


@dataclass(frozen=True)
class ImportedJourney:
    """One journey converted: its file's name and text, and what its webhook sends need (targets, payloads)."""

    export: Export
    name: str
    text: str
    webhook_targets: Mapping[str, CustomTarget]
    payloads: Mapping[str, CustomPayload]


def convert(args: argparse.Namespace, report: MigrationReport, outputs: Outputs) -> None:
    out: Path = args.out
    segments = _imported_segments(args.config)
    exports = read_exports(args.files, JOURNEY)
    converted = [_journey_file(export, report, segments, out / TEMPLATES_FOLDER) for export in exports]
    # Only once every journey converted: a refused one leaves nothing written.
    for journey in converted:
        outputs.add(out / f"{journey.name}.yaml", journey.text, source=str(journey.export.file))
    _add_webhook_parts(converted, args.config / WEBHOOKS_FILE, out / TEMPLATES_FOLDER, outputs)


def _add_webhook_parts(converted: list[ImportedJourney], webhooks: Path, templates: Path, outputs: Outputs) -> None:
    """The targets the journeys' webhook sends name (added to config/webhooks.yaml) and their payload templates
    (each unless the folder has it already, e.g. written by hand)."""
    targets = {name: target for journey in converted for name, target in journey.webhook_targets.items()}
    existing = webhooks.read_text(encoding="utf-8") if webhooks.exists() else None
    merged = with_targets(str(webhooks), existing, targets) if targets else None
    if merged is not None:
        outputs.add(webhooks, merged, source=str(webhooks), edits_existing=True)
    for journey in converted:
        for template, payload in journey.payloads.items():
            path = templates / f"{template}.yaml"
            if path not in outputs.paths and not (path.exists() and not written_by_an_import(path)):
                outputs.add(path, payload_template(journey.name, payload), source=str(journey.export.file))


def _imported_segments(config: Path) -> dict[str, str]:
    path = config / SEGMENTS_FILE
    try:
        return imported_segments(load_segments(path).segments)
    except ConfigError as error:
        raise ImportRefused(path, f"cannot be read, so no segment can be found by its Pinpoint id: {error}") from None


def _journey_file(
    export: Export, report: MigrationReport, segments: Mapping[str, str], templates: Path
) -> ImportedJourney:
    body = export.body
    reported = report.object("journey", str(body["Name"]), export.file)
    settings = journey_settings(export, reported, segments)
    name = str(settings.fields["journey"])
    graph = Graph(
        export,
        reported,
        segments=segments,
        everyone_enters_at=settings.everyone_enters_at,
        templates=templates,
        journey=name,
    )
    drafts = graph.drafts()
    if not drafts:
        raise export.refuse("nothing in it can be imported: every activity is one omnijourney leaves out (CUSTOM)")
    steps = in_order(drafts, graph.end)
    reported.became = f"journey `{name}` ({len(steps)} steps)"
    return ImportedJourney(export, name, _yaml(body, settings.fields, steps), graph.webhook_targets, graph.payloads)


def _yaml(body: Mapping[str, object], fields: Mapping[str, object], steps: list[Draft]) -> str:
    identity = ", ".join(f"{key} {body[key]}" for key in (*IDENTITY, "State") if key in body and key != "Name")
    lines = [IMPORTED_MARK, _comment(f"Pinpoint journey {body['Name']!r}" + (f": {identity}" if identity else ""))]
    lines += [_dump(dict(fields)), "", "steps:"]
    for draft in steps:
        lines.append(f"  {_comment(draft.comment)}")
        lines += [f"  {line}" for line in _dump([draft.step]).splitlines()]
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    """Writes a value met twice out again, never as an anchor and an alias (`*id001`), which marketers do not read."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _dump(value: object) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120).rstrip()


def _comment(text: str) -> str:
    return "# " + " ".join(text.split())
