"""The `omnijourney metrics` subcommand: the shared scorecard of a lake, in words for a marketer or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from omnijourney.app import config


def add_command(commands: Any) -> None:
    """Add `metrics` to the CLI's subparsers."""
    metrics = commands.add_parser(
        "metrics",
        help="the shared scorecard (docs/metrics.md) computed from a lake of facts",
        description="CLV, cross-channel conversion, the consistency score and its violations, messages, Step "
        "Functions cost and each journey's funnel, computed by the SQL of metrics/*.sql on DuckDB from the facts "
        "`omnijourney simulate --lake DIR` wrote (DIR/facts/kind=<kind>/day=<day>/).",
    )
    metrics.add_argument("--lake", type=Path, required=True, help="the lake folder (the one holding facts/)")
    metrics.add_argument("--from", dest="first_day", type=_day, help="first day counted, YYYY-MM-DD (UTC)")
    metrics.add_argument("--to", dest="last_day", type=_day, help="last day counted, YYYY-MM-DD (UTC), included")
    metrics.add_argument(
        "--journey",
        help="one journey's figures (its runs, messages, audit and funnel); customers and orders stay whole",
    )
    metrics.add_argument("--json", action="store_true", help="print the scorecard as JSON, for machines")


def run(args: argparse.Namespace) -> int:
    # lazy: DuckDB and sqlglot load when a scorecard is computed, not for every other command
    from omnijourney_tools.scorecard.definitions import Scope
    from omnijourney_tools.scorecard.engine import DuckDbLake, LakeNotFound
    from omnijourney_tools.scorecard.scorecard import scorecard
    from omnijourney_tools.scorecard.words import in_words

    journeys = config.journeys().journeys
    if args.journey is not None and args.journey not in journeys:
        print(f"no journey is named {args.journey!r}; the journeys are: {', '.join(sorted(journeys))}", file=sys.stderr)
        return 2
    if args.first_day and args.last_day and args.first_day > args.last_day:
        print(f"--from {args.first_day} is after --to {args.last_day}", file=sys.stderr)
        return 2
    quiet_hours = config.consistency().quiet_hours
    scope = Scope(
        quiet_start=quiet_hours.start,
        quiet_end=quiet_hours.end,
        quiet_channels=tuple(quiet_hours.channels),
        default_timezone=quiet_hours.default_timezone,
        first_day=args.first_day,
        last_day=args.last_day,
        journey=args.journey,
    )
    try:
        engine = DuckDbLake(args.lake)
    except LakeNotFound as error:
        print(error, file=sys.stderr)
        return 2
    step_order = {name: [step.id for step in journey.steps] for name, journey in journeys.items()}
    card = scorecard(engine, scope, step_order=step_order)
    print(json.dumps(card.as_json(), indent=2) if args.json else "\n".join(in_words(card, scope, args.lake)))
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD") from None
