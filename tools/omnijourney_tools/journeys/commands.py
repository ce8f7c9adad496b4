"""`omnijourney journeys …`: validate, compile, draw and describe journeys, fit for CI.

Exit codes: 0 all good (warnings are printed, and pass), 1 a journey has errors (each printed as
file:line:column), or warnings with `validate --strict`, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnijourney.journeys.catalog import journey_files, load_journeys
from omnijourney.journeys.compiler import compile_journey
from omnijourney.journeys.language import json_schema
from omnijourney.platform.configfile import ConfigError, Severity
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.journeys import diagram

if TYPE_CHECKING:
    from omnijourney.platform.configfile import Problem

DEFAULT_PATHS = [Path("journeys")]
PICTURES = {"mermaid": ".mmd", "svg": ".svg"}


def add_commands(commands: Any) -> None:
    """Add `journeys` and its actions to the `omnijourney` command's subparsers."""
    journeys = commands.add_parser("journeys", help="validate, compile, draw journeys (journeys/*.yaml)")
    actions = journeys.add_subparsers(dest="action", required=True)
    paths_help = "journey files or folders (default: journeys/)"
    config_help = (
        "read segments, offers, lifecycle stages and shop.yaml from this folder (default: the project's config/)"
    )
    validate = actions.add_parser(
        "validate",
        help="check journeys; every error and warning at its file:line:column",
        description="Exit 0 when there are no errors: warnings (what deploys but can never happen) pass, "
        "unless --strict. Exit 1 on errors.",
    )
    validate.add_argument("paths", nargs="*", type=Path, default=DEFAULT_PATHS, help=paths_help)
    validate.add_argument(
        "--strict", action="store_true", help="warnings are errors too: exit 1 when there is any (for CI)"
    )
    validate.add_argument("--config", type=Path, help=config_help)
    compile_ = actions.add_parser("compile", help="Amazon States Language of each journey")
    compile_.add_argument("paths", nargs="*", type=Path, default=DEFAULT_PATHS, help=paths_help)
    compile_.add_argument("--out", type=Path, help="write <journey>.asl.json files into this folder")
    compile_.add_argument("--config", type=Path, help=config_help)
    diagram = actions.add_parser("diagram", help="a picture of each journey (Mermaid or SVG)")
    diagram.add_argument("paths", nargs="*", type=Path, default=DEFAULT_PATHS, help=paths_help)
    diagram.add_argument("--format", choices=sorted(PICTURES), default="mermaid")
    diagram.add_argument("--out", type=Path, help="write <journey>.mmd or .svg files into this folder")
    diagram.add_argument("--config", type=Path, help=config_help)
    schema = actions.add_parser("schema", help="the JSON Schema of the journey language, for editors")
    schema.add_argument("--out", type=Path, help="write it to this file")


def run(args: argparse.Namespace) -> int:

    if args.action == "schema":
        return _schema(args.out)
    missing = [str(path) for path in [*args.paths, *([args.config] if args.config else [])] if not path.exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    with definitions_from(config_dir=args.config):
        return _checked(args)


def _checked(args: argparse.Namespace) -> int:
    files = journey_files(args.paths)
    try:
        loaded = load_journeys(args.paths)
    except ConfigError as error:
        _report(error.problems)
        return 1
    journeys = loaded.journeys
    if args.action == "validate":
        if loaded.warnings:
            _report(list(loaded.warnings))
        if loaded.warnings and args.strict:
            print("--strict: warnings fail validation", file=sys.stderr)
            return 1
        print(f"{len(files)} journey(s) valid: {', '.join(sorted(journeys))}")
        return 0
    if args.action == "compile":
        machines = {name: compile_journey(journey) for name, journey in journeys.items()}
        if args.out is None and len(machines) > 1:
            # One JSON document on stdout: the state machines by journey name.
            sys.stdout.write(json.dumps(machines, indent=2) + "\n")
            return 0
        return _write({name: json.dumps(asl, indent=2) + "\n" for name, asl in machines.items()}, args.out, ".asl.json")

    draw = diagram.svg if args.format == "svg" else diagram.mermaid
    return _write({name: draw(journey) for name, journey in journeys.items()}, args.out, PICTURES[args.format])


def _report(problems: list[Problem]) -> None:
    """Each problem at its file:line:column, then how many errors and warnings in how many files."""

    for problem in problems:
        print(problem, file=sys.stderr)
    warnings = sum(1 for problem in problems if problem.severity is Severity.warning)
    files = len({problem.path for problem in problems})
    counted = [f"{len(problems) - warnings} error(s)"] if warnings < len(problems) else []
    counted += [f"{warnings} warning(s)"] if warnings else []
    print(f"{' and '.join(counted)} in {files} file(s)", file=sys.stderr)


def _write(outputs: dict[str, str], folder: Path | None, suffix: str) -> int:
    if folder is None:
        sys.stdout.write("\n".join(outputs.values()))
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(outputs.items()):
        path = folder / f"{name}{suffix}"
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


def _schema(out: Path | None) -> int:

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(out)
    return 0
