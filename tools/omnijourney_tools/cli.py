"""The `omnijourney` command: journeys as code, simulate scenarios, the demo story, quarantine, identities, imports."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from omnijourney.app.config import consistency
from omnijourney.platform import clock
from omnijourney.platform.configfile import ConfigError
from omnijourney.platform.errors import OmnijourneyError
from omnijourney.profiles.service import refused_identities
from omnijourney_tools import hubspot_import
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.journeys import commands as journey_commands
from omnijourney_tools.journeys import preview as template_commands
from omnijourney_tools.pinpoint import command as pinpoint_import
from omnijourney_tools.scorecard import command as metrics_command
from omnijourney_tools.serve import command as serve_command
from omnijourney_tools.studio import command as studio_command

if TYPE_CHECKING:
    from omnijourney_tools.simulation.scenario import ScenarioLine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_SCENARIO = PROJECT_ROOT / "scenarios" / "shoes.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="omnijourney", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    simulate = commands.add_parser("simulate", help="replay a scenario on moto and write the report")
    simulate.add_argument("scenario", type=Path)
    simulate.add_argument("--journeys", type=Path, help="journeys directory (default: the project's journeys/)")
    simulate.add_argument("--config", type=Path, help="config directory (default: the project's config/)")
    simulate.add_argument("--report", type=Path, help="write the JSON report here")
    simulate.add_argument(
        "--workers",
        type=_positive,
        help="processes to share the customers among (default: one per core from 300 lines; the report is the same)",
    )
    simulate.add_argument(
        "--lake",
        type=Path,
        help="also write the run's analytics facts as Parquet under this folder, as production writes them to S3"
        " (DIR/facts/kind=<kind>/day=<YYYY-MM-DD>/; docs/analytics.md)",
    )
    simulate.add_argument(
        "--quiet", action="store_true", help="print only the summary, not the timeline of who got what and why"
    )
    demo = commands.add_parser(
        "demo", help="tell the shoes story: web cart, app identify, store lookup, in-store order"
    )
    demo.add_argument("--scenario", type=Path, default=DEMO_SCENARIO)
    quarantine = commands.add_parser("quarantine", help="deliveries that were signed but could not be parsed")
    quarantine_commands = quarantine.add_subparsers(dest="action", required=True)
    quarantine_commands.add_parser("list", help="list quarantined deliveries")
    replay = quarantine_commands.add_parser("replay", help="parse and enqueue a quarantined delivery again")
    replay.add_argument("key")
    replay.add_argument("--body", type=Path, help="a corrected body to use instead of the one received")
    identities = commands.add_parser("identities", help="the identity table: what links profiles")
    identities_commands = identities.add_subparsers(dest="action", required=True)
    identities_commands.add_parser(
        "audit",
        help="list customers linked through identifiers the rules in config/identifiers.yaml refuse (exit 1 if any)",
    )
    journey_commands.add_commands(commands)
    serve_command.add_command(commands)
    studio_command.add_command(commands)
    template_commands.add_command(commands)
    metrics_command.add_command(commands)
    importer = commands.add_parser("import", help="bring definitions and customers over from another tool")
    import_tools = importer.add_subparsers(dest="tool", required=True)
    pinpoint_import.add_tool(import_tools)
    hubspot_import.add_tool(import_tools)
    args = parser.parse_args(argv)
    if args.command == "journeys":
        return journey_commands.run(args)
    if args.command == "serve":
        return serve_command.run(args)
    if args.command == "studio":
        return studio_command.run(args)
    if args.command == "templates":
        return template_commands.run(args)
    if args.command == "metrics":
        return metrics_command.run(args)
    if args.command == "import":
        return pinpoint_import.run(args) if args.tool == "pinpoint" else hubspot_import.run(args, clock.now)
    if args.command == "simulate":
        return _simulate(
            args.scenario, args.config, args.report, args.journeys, args.workers, quiet=args.quiet, lake=args.lake
        )
    if args.command == "demo":
        return _demo(args.scenario)
    if args.command == "identities":
        return _audit_identities()
    return _quarantine(args)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


@dataclass(frozen=True)
class _Played:
    """A scenario's report, its lines, and the shop's timezone it was played with (for the timeline)."""

    report: dict[str, Any]
    lines: list[ScenarioLine]
    shop_zone: ZoneInfo

    def timeline(self) -> list[str]:
        from omnijourney_tools.simulation.timeline import timeline  # lazy: with the simulation, see _run

        return timeline(self.report, self.lines, self.shop_zone)


def _run(
    scenario: Path,
    config: Path | None,
    journeys: Path | None = None,
    workers: int | None = None,
    lake: Path | None = None,
) -> _Played | None:
    # lazy: the simulation loads moto, boto3 and botocore's models (seconds), which the other commands never need
    from omnijourney_tools.simulation import simulate
    from omnijourney_tools.simulation.scenario import ScenarioError, read

    with definitions_from(config_dir=config, journeys_dir=journeys):
        try:
            lines = read(scenario)
            report = simulate(lines, progress=_progress if sys.stderr.isatty() else None, workers=workers, lake=lake)
            return _Played(report, lines, consistency().quiet_hours.zone)
        except (ScenarioError, ConfigError) as error:
            print(error, file=sys.stderr)
            return None


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} lines",
        end="" if done < total else "\n",
        file=sys.stderr,
    )


def _simulate(
    scenario: Path,
    config: Path | None,
    report_path: Path | None,
    journeys: Path | None,
    workers: int | None,
    *,
    quiet: bool,
    lake: Path | None = None,
) -> int:
    played = _run(scenario, config, journeys, workers, lake)
    if played is None:
        return 2
    report = played.report
    if not quiet:
        print("\n".join([f"{scenario}, on a virtual clock:", *played.timeline(), ""]))
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    statuses = Counter(entry["status"] for entry in report["inputs"])
    metrics = report["metrics"]
    outcomes = Counter(run["outcome"] for run in report["journeys"])
    held = ", ".join(f"{n}× {reason}" for reason, n in metrics["suppressed_by_reason"].items())
    print(
        f"{scenario}: {len(report['inputs'])} inputs ({', '.join(f'{n}× {s}' for s, n in sorted(statuses.items()))}), "
        f"{len(report['lookups'])} lookups, {metrics['customers']} customers, "
        f"{metrics['orders']} orders, revenue {metrics['revenue']:.2f}\n"
        f"journeys: {len(report['journeys'])} runs ({', '.join(f'{n}× {o}' for o, n in sorted(outcomes.items()))}); "
        f"messages: {metrics['messages_sent']} sent, {metrics['messages_suppressed']} suppressed"
        + (f" ({held})" if held else "")
        + f"; consistency score {metrics['consistency_score']:.2f}\n"
        f"{metrics['events']} events recorded; {metrics['state_transitions']} Step Functions state transitions"
        f" (Standard workflows bill each one)"
    )
    for violation in metrics["consistency_violations"]:
        print(f"  violation: {violation['rule']} at {violation['at']} for {violation['customer_id']}")
    return 0


def _demo(scenario: Path) -> int:
    played = _run(scenario, None)
    if played is None:
        return 2
    print("The shoes story, replayed through the real handlers and journeys on moto, on a virtual clock:\n")
    print("\n".join(played.timeline()))
    metrics = played.report["metrics"]
    print(
        f"\n{metrics['customers']} customer, {metrics['orders']} order, revenue {metrics['revenue']:.2f}; "
        f"{metrics['messages_sent']} messages sent, {metrics['messages_suppressed']} held back; "
        f"consistency score {metrics['consistency_score']:.2f}; "
        f"cross-channel conversion rate {metrics['cross_channel_conversion_rate']:.2f}; "
        f"average lifetime value {metrics['clv']['average']:.2f}"
    )
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    from omnijourney_tools import quarantine  # lazy: boto3, which the offline commands never need

    if args.action == "list":
        for key in quarantine.list_quarantined():
            print(key)
        return 0
    try:
        event_ids = quarantine.replay(args.key, args.body.read_bytes() if args.body else None)
    except OmnijourneyError as error:
        print(f"{args.key}: {error.title}: {error.detail}", file=sys.stderr)
        return 1
    print(f"replayed {args.key}: {len(event_ids)} event(s) enqueued")
    return 0


def _audit_identities() -> int:
    findings = refused_identities()
    for finding in findings:
        merged = f", {finding.merged_profiles} profile(s) merged into it" if finding.merged_profiles else ""
        what = f"{finding.kind.value} {finding.masked_value}"
        print(f"{finding.customer_id}: {what}: {finding.reason.value}{merged}")
    customers = len({finding.customer_id for finding in findings})
    found = f"{len(findings)} identifier(s) on {customers} customer(s)"
    print(f"{found} refused or spelled differently now; review their merges")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
