"""The `omnijourney import pinpoint …` subcommands (docs/migrate-from-pinpoint.md)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

CONVERTERS = {
    "journeys": "Journeys",
    "templates": "Templates",
    "segments": "Segments",
    "settings": "Settings",
    "endpoints": "Customers (endpoints)",
}
"""Each kind of Pinpoint object: its module in this package (with `convert(args, report, outputs)`) and the title of
its section in pinpoint-import.md."""


def add_tool(tools: Any) -> None:
    """Add `pinpoint` to the `import` command's tools."""
    pinpoint = tools.add_parser(
        "pinpoint",
        help="Amazon Pinpoint's journeys, templates, segments, settings and endpoints (docs/migrate-from-pinpoint.md)",
        description="Converts what the AWS CLI prints for Pinpoint (get-journey, list-journeys, get-email-template, "
        "get-segment, get-application-settings, an export job's endpoints) to omnijourney definitions and customers. "
        "Every import prints what each object became and what needs a person's decision, and writes it to "
        "pinpoint-import.md. Nothing is written when any record is refused.",
    )
    kinds = pinpoint.add_subparsers(dest="kind", required=True)
    journeys = _kind(kinds, "journeys", "journeys (get-journey / list-journeys JSON) → one YAML journey each")
    journeys.add_argument("files", nargs="+", type=Path, metavar="FILE")
    journeys.add_argument("--out", type=Path, default=Path("journeys"), help="journeys folder (default: journeys/)")
    journeys.add_argument(
        "--config",
        type=Path,
        default=Path("config"),
        help="config folder whose segments.yaml holds the imported segments the journeys name (default: config/)",
    )
    templates = _kind(
        kinds, "templates", "message templates (get-email-template, get-sms-template, get-push-template JSON)"
    )
    templates.add_argument("files", nargs="+", type=Path, metavar="FILE")
    templates.add_argument(
        "--out", type=Path, default=Path("journeys/templates"), help="templates folder (default: journeys/templates/)"
    )
    segments = _kind(kinds, "segments", "segments (get-segment / get-segments JSON) → config/segments.yaml")
    segments.add_argument("files", nargs="+", type=Path, metavar="FILE")
    segments.add_argument("--config", type=Path, default=Path("config"), help="config folder (default: config/)")
    settings = _kind(
        kinds, "settings", "application settings (get-application-settings JSON) → config/consistency.yaml"
    )
    settings.add_argument("files", nargs="+", type=Path, metavar="FILE")
    settings.add_argument("--config", type=Path, default=Path("config"), help="config folder (default: config/)")
    endpoints = _kind(
        kinds,
        "endpoints",
        "customers from an endpoint export job's output (newline-delimited EndpointResponse JSON, gzipped or not);"
        " a bad line is reported with its file, line and field and skipped, and the import goes on",
    )
    endpoints.add_argument("source", help="a file, or s3://bucket/prefix of the export job's output")
    into = endpoints.add_mutually_exclusive_group(required=True)
    into.add_argument("--stage", help="send them to this deployed stage's events queue (AWS credentials needed)")
    into.add_argument(
        "--scenario", type=Path, metavar="OUT.jsonl", help="write them as `pinpoint` lines of a scenario instead"
    )
    endpoints.add_argument(
        "--checkpoint",
        type=Path,
        help="with --stage: where the last record sent is kept, to resume after an interruption (default: the file's"
        " name + .checkpoint, next to it; for s3://, the bucket and prefix + .checkpoint, here). A --scenario is"
        " written whole or not at all",
    )


def _kind(kinds: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = kinds.add_parser(name, help=help_text, description=help_text)
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("pinpoint-import.md"),
        help="the migration report (default: ./pinpoint-import.md)",
    )
    parser.add_argument("--force", action="store_true", help="replace files of the same name that no import wrote")
    return parser


def run(args: argparse.Namespace) -> int:
    # lazy: botocore's Pinpoint model and the converters load only for an import
    from omnijourney_tools.pinpoint.exports import ImportRefused
    from omnijourney_tools.pinpoint.outputs import Outputs
    from omnijourney_tools.pinpoint.report import MigrationReport, merged_report

    converter = importlib.import_module(f"omnijourney_tools.pinpoint.{args.kind}")
    report = MigrationReport(CONVERTERS[args.kind])
    outputs = Outputs(replace_any=args.force)
    try:
        converter.convert(args, report, outputs)
    except ImportRefused as refused:
        print(f"{refused}\nNothing was written.", file=sys.stderr)
        return 2
    written = outputs.commit()
    report_path: Path = args.report
    existing = report_path.read_text(encoding="utf-8") if report_path.exists() else None
    report_path.write_text(merged_report(existing, report), encoding="utf-8")
    print(report.text())
    unchanged = len(outputs.paths) - len(written)
    print(
        f"wrote {len(written)} file(s)"
        + (f", {unchanged} unchanged" if unchanged else "")
        + f"; report in {report_path}"
    )
    return 0
