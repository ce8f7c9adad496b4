"""The `omnijourney metrics` subcommand: the shared scorecard of a lake or of a deployed stage's facts on Athena, in
words for a marketer, as a self-contained HTML report, or as JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from omnijourney.app import config

if TYPE_CHECKING:
    from omnijourney.journeys.language import Journey
    from omnijourney_tools.scorecard.definitions import Scope
    from omnijourney_tools.scorecard.engine import Engine
    from omnijourney_tools.scorecard.scorecard import Scorecard

SIZE_UNITS = ("kB", "MB", "GB", "TB")


def add_command(commands: Any) -> None:
    """Add `metrics` to the CLI's subparsers."""
    metrics = commands.add_parser(
        "metrics",
        help="the shared scorecard (docs/metrics.md) computed from a lake of facts",
        description="CLV, cross-channel conversion, the consistency score and its violations, messages, Step "
        "Functions cost, each journey's funnel and each holdout's lift, computed by the SQL of metrics/*.sql: on "
        "DuckDB from the facts `omnijourney simulate --lake DIR` wrote (DIR/facts/kind=<kind>/day=<day>/), or on "
        "Athena from a deployed stage's facts.",
    )
    facts = metrics.add_mutually_exclusive_group(required=True)
    facts.add_argument("--lake", type=Path, help="the lake folder (the one holding facts/)")
    facts.add_argument(
        "--athena",
        action="store_true",
        help="query the facts of the stack deployed as --stage on Athena, in its workgroup (AWS credentials needed)",
    )
    metrics.add_argument("--stage", help="with --athena: the stage the stack was deployed as (cdk.json's stage)")
    metrics.add_argument("--from", dest="first_day", type=_day, help="first day counted, YYYY-MM-DD (UTC)")
    metrics.add_argument("--to", dest="last_day", type=_day, help="last day counted, YYYY-MM-DD (UTC), included")
    metrics.add_argument(
        "--journey",
        help="one journey's figures (its runs, messages, audit and funnel); customers and orders stay whole",
    )
    output = metrics.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the scorecard as JSON, for machines")
    output.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="write the scorecard as one HTML file with its charts, which opens offline",
    )


def run(args: argparse.Namespace) -> int:
    # lazy: DuckDB, sqlglot, boto3 and the charts load when a scorecard is computed, not for every other command
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    from omnijourney.analytics.athena import QueryFailed
    from omnijourney_tools.scorecard.definitions import Definitions
    from omnijourney_tools.scorecard.engine import LakeNotFound
    from omnijourney_tools.scorecard.scorecard import scorecard

    journeys = config.journeys().journeys
    if refused := _refusal(args, journeys):
        print(refused, file=sys.stderr)
        return 2
    scope = scope_of(journeys, args.first_day, args.last_day, args.journey)
    definitions = Definitions()
    # Progress is for a person watching a terminal; stdout stays the scorecard's alone.
    progress = Progress(sys.stderr, len(definitions.metrics)) if sys.stderr.isatty() and not args.json else None
    try:
        engine, source = _engine(args, progress)
        card = scorecard(
            engine,
            scope,
            step_order={name: [step.id for step in journey.steps] for name, journey in journeys.items()},
            holdouts={name: holdout for name, journey in journeys.items() if (holdout := journey.holdout) is not None},
            definitions=definitions,
            progress=progress.metric if progress else None,
        )
    except LakeNotFound as error:
        return _failed(progress, str(error), 2)
    except NoCredentialsError:
        return _failed(
            progress,
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for an identity "
            f"that may query the workgroup of stage {args.stage}",
            2,
        )
    except NoRegionError:
        return _failed(progress, "no AWS region: set AWS_REGION to the region the stack is deployed in", 2)
    except (QueryFailed, ClientError) as error:
        return _failed(progress, f"Athena did not answer: {error}", 1)
    if progress:
        progress.finish()
    return _print(card, scope, source, args)


def scope_of(
    journeys: Mapping[str, Journey], first_day: date | None, last_day: date | None, journey: str | None
) -> Scope:
    """What the scorecard covers, with the quiet hours of config/consistency.yaml and each journey's conversion and
    holdout split."""
    from omnijourney_tools.scorecard.definitions import Scope

    quiet_hours = config.consistency().quiet_hours
    return Scope(
        quiet_start=quiet_hours.start,
        quiet_end=quiet_hours.end,
        quiet_channels=tuple(quiet_hours.channels),
        default_timezone=quiet_hours.default_timezone,
        first_day=first_day,
        last_day=last_day,
        journey=journey,
        conversions={name: journey.conversion_rule for name, journey in journeys.items()},
        splits_after={name: journey.time_to_holdout_split for name, journey in journeys.items()},
    )


class Progress:
    """A long scorecard's progress on a terminal: each metric as its statement starts, and on Athena the bytes its
    queries have scanned so far (which Athena bills), rewritten in place on the metric's line as they grow."""

    def __init__(self, terminal: TextIO, metrics: int) -> None:
        self.terminal = terminal
        self.metrics = metrics
        self.started = 0
        self.line = ""
        self.scanned: dict[str, int] = {}  # query execution → bytes it scanned so far

    def metric(self, name: str) -> None:
        if self.line:
            self.terminal.write("\n")
        self.started += 1
        self.line = f"metric {self.started} of {self.metrics}: {name}…"
        self._show()

    def scanned_by(self, execution: str, scanned: int) -> None:
        if self.scanned.get(execution) != scanned:
            self.scanned[execution] = scanned
            self._show()

    def finish(self) -> None:
        if self.line:
            self.terminal.write("\n")
            self.line = ""
        self.terminal.flush()

    def _show(self) -> None:
        scanned = f" {_size(sum(self.scanned.values()))} scanned so far" if self.scanned else ""
        # Back to the line's start and clear it: the same line, longer.
        self.terminal.write(f"\r\x1b[K{self.line}{scanned}")
        self.terminal.flush()


def _refusal(args: argparse.Namespace, journeys: Mapping[str, Journey]) -> str | None:
    """Why the command cannot run as asked, in words; None when it can."""
    if args.journey is not None and args.journey not in journeys:
        return f"no journey is named {args.journey!r}; the journeys are: {', '.join(sorted(journeys))}"
    if args.first_day and args.last_day and args.first_day > args.last_day:
        return f"--from {args.first_day} is after --to {args.last_day}"
    if args.athena and not args.stage:
        return "--athena needs --stage S: the stage whose stack holds the facts"
    if args.stage and not args.athena:
        return f"--stage {args.stage} names a deployed stack, which only --athena queries; --lake reads a folder"
    return None


def _engine(args: argparse.Namespace, progress: Progress | None) -> tuple[Engine, str]:
    """The engine the scorecard runs on, and where its facts are, in words."""
    from omnijourney_tools.scorecard.engine import DuckDbLake, ScanReporting, athena_lake

    if not args.athena:
        return DuckDbLake(args.lake), str(args.lake)
    from omnijourney.platform.aws import client

    athena = client("athena")
    engine = athena_lake(args.stage, ScanReporting(athena, progress.scanned_by) if progress else athena)
    return engine, f"Athena, database {engine.database} in workgroup {engine.workgroup}"


def _failed(progress: Progress | None, error: str, status: int) -> int:
    if progress:
        progress.finish()
    print(error, file=sys.stderr)
    return status


def _print(card: Scorecard, scope: Scope, source: str, args: argparse.Namespace) -> int:
    from omnijourney_tools.scorecard.words import in_words

    if args.json:
        print(json.dumps(card.as_json(), indent=2))
    elif args.html:
        from omnijourney_tools.scorecard.report import report_html

        try:
            args.html.write_text(report_html(card, scope, source), encoding="utf-8")
        except OSError as error:
            print(f"cannot write {args.html}: {error.strerror}", file=sys.stderr)
            return 2
        print(f"Wrote the scorecard to {args.html}: open it in a browser (it needs no network).")
    else:
        print("\n".join(in_words(card, scope, source)))
    return 0


def _size(count: int) -> str:
    """Bytes in decimal units, as Athena bills them."""
    power = min(int(math.log10(count)) // 3, len(SIZE_UNITS)) if count else 0
    return f"{count} bytes" if power == 0 else f"{count / 1000**power:.1f} {SIZE_UNITS[power - 1]}"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD") from None
