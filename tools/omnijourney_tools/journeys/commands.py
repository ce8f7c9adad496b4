"""`omnijourney journeys …`: validate, compile, draw and describe journeys, fit for CI.

Exit codes: 0 all good, 1 a journey has problems (each printed as file:line:column), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_PATHS = [Path("journeys")]
PICTURES = {"mermaid": ".mmd", "svg": ".svg"}


def add_commands(commands: Any) -> None:
    """Add `journeys` and its actions to the `omnijourney` command's subparsers."""
    journeys = commands.add_parser("journeys", help="validate, compile, draw journeys (journeys/*.yaml)")
    actions = journeys.add_subparsers(dest="action", required=True)
    paths_help = "journey files or folders (default: journeys/)"
    validate = actions.add_parser("validate", help="check journeys; every problem at its file:line:column")
    validate.add_argument("paths", nargs="*", type=Path, default=DEFAULT_PATHS, help=paths_help)
    compile_ = actions.add_parser("compile", help="Amazon States Language of each journey")
    compile_.add_argument("paths", nargs="*", type=Path, default=DEFAULT_PATHS, help=paths_help)
    compile_.add_argument("--out", type=Path, help="write <journey>.asl.json files into this folder")
    diagram = actions.add_parser("diagram", help="a picture of each journey (Mermaid or SVG)")
    diagram.add_argument("paths", nargs="*", type=Path, default=DEFAULT_PATHS, help=paths_help)
    diagram.add_argument("--format", choices=sorted(PICTURES), default="mermaid")
    diagram.add_argument("--out", type=Path, help="write <journey>.mmd or .svg files into this folder")
    schema = actions.add_parser("schema", help="the JSON Schema of the journey language, for editors")
    schema.add_argument("--out", type=Path, help="write it to this file")


def run(args: argparse.Namespace) -> int:
    from omnijourney.journeys.catalog import journey_files, load_journeys
    from omnijourney.platform.configfile import ConfigError

    if args.action == "schema":
        return _schema(args.out)
    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = journey_files(args.paths)
    try:
        journeys = load_journeys(args.paths).journeys
    except ConfigError as error:
        print(error, file=sys.stderr)
        broken = len({problem.path for problem in error.problems})
        print(f"{len(error.problems)} problem(s) in {broken} file(s)", file=sys.stderr)
        return 1
    if args.action == "validate":
        print(f"{len(files)} journey(s) valid: {', '.join(sorted(journeys))}")
        return 0
    if args.action == "compile":
        from omnijourney.journeys.compiler import compile_journey

        machines = {name: compile_journey(journey) for name, journey in journeys.items()}
        if args.out is None and len(machines) > 1:
            # One JSON document on stdout: the state machines by journey name.
            sys.stdout.write(json.dumps(machines, indent=2) + "\n")
            return 0
        return _write({name: json.dumps(asl, indent=2) + "\n" for name, asl in machines.items()}, args.out, ".asl.json")
    from omnijourney_tools.journeys import diagram

    draw = diagram.svg if args.format == "svg" else diagram.mermaid
    return _write({name: draw(journey) for name, journey in journeys.items()}, args.out, PICTURES[args.format])


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
    from omnijourney.journeys.language import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(out)
    return 0
