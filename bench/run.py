"""`make bench`: AWS calls and capacity units per event, local throughput, cold imports, a month of journeys.
Prints; never asserts."""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pyarrow import parquet

from bench.chaos import RATE, SEEDS, ScenarioChaos, chaos_figures
from bench.cold_start import FIRST, RUNS, cold_imports
from bench.journeys import START, Month, simulate_month
from bench.metering import OUTSIDE, Usage
from bench.pinpoint import Conversion, pinpoint_conversions
from bench.pipeline import RECEIVED_AT, Throughput, pipeline_costs, throughput
from bench.studio import CHROMIUM, LOADS, TARGET_MS, StudioLoads, studio_page_loads
from omnijourney.platform import clock
from omnijourney_tools.cli import main as omnijourney

# The budget for one simple track event, ingest and profile functions together.
TARGET_WRITE_UNITS = 3
TARGET_CALLS = 6
TARGET_IMPORT_RATIO = 1.5
# Target for a month of 200 customers through every journey on the virtual clock, on a 2-core machine.
TARGET_MONTH_SECONDS = 60
OUTCOMES = ("goal", "exited", "completed", "holdout", "stopped", "failed", "running")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """First column left-aligned, figures right-aligned."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        aligned = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(aligned))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def against(value: float, target: float) -> str:
    return f"{value:g} {'ok' if value <= target else 'OVER'}"


def print_pipeline_costs(results: list[tuple[str, dict[str, Usage]]]) -> None:
    rows = []
    for name, usage in results:
        ingest, profile = usage.get("ingest", Usage()), usage.get("profile", Usage())
        rows.append(
            [
                name,
                ingest.call_count,
                profile.call_count,
                against(ingest.call_count + profile.call_count, TARGET_CALLS),
                against(ingest.write_units + profile.write_units, TARGET_WRITE_UNITS),
                f"{ingest.read_units + profile.read_units:g}",
                f"{ingest.reported_units + profile.reported_units:g}",
                usage.get(OUTSIDE, Usage()).call_count,
            ]
        )
    table(
        "1. One event through ingest λ → SQS → profile λ on moto (warm containers unless said)",
        [
            "case",
            "ingest calls",
            "profile calls",
            f"calls (≤{TARGET_CALLS})",
            f"WCU (≤{TARGET_WRITE_UNITS})",
            "RCU",
            "moto-reported CU",
            "ESM calls",
        ],
        rows,
    )
    print(
        "Targets are the issue's, for a simple track event. Calls: counted by botocore before-call hooks on the\n"
        "clients the functions use. WCU/RCU: computed from item sizes by DynamoDB's rules (write: ceil(size/1 KB)\n"
        "of the larger of the item before and after, x2 in a transaction; read: ceil(size/4 KB), x0.5 eventually\n"
        "consistent, a miss costs the minimum), because moto answers ReturnConsumedCapacity=TOTAL with constants\n"
        "(1 per write call, 0.5 per read call, nothing for transactions): that is the moto-reported column.\n"
        "ESM: the SQS receive/delete calls of Lambda's event source mapping, made by the Lambda service."
    )
    for name, usage in results:
        print(f"  {name}")
        for function in ("ingest", "profile"):
            operations = sorted(usage.get(function, Usage()).calls.items())
            print(f"    {function:8}" + ", ".join(f"{operation} x{count}" for operation, count in operations))


def print_throughput(figures: Throughput) -> None:
    stages = {"ingest": figures.ingest_seconds, "profile": figures.profile_seconds, "total": figures.total_seconds}
    table(
        f"2. Throughput: {figures.events} Segment track events from {figures.visitors} visitors, one process on moto",
        ["stage", "wall s", "events/s", "ms/event"],
        [
            [stage, f"{seconds:.2f}", f"{figures.events / seconds:.0f}", f"{1000 * seconds / figures.events:.1f}"]
            for stage, seconds in stages.items()
        ],
    )
    print(
        f"moto-bound: {figures.seconds_in_aws_calls / figures.total_seconds:.0%} of the wall time is spent inside"
        f" {figures.aws_calls} botocore calls answered in-process by moto; deployed, calls are network round trips"
        " and functions scale out, so this is no forecast of AWS throughput."
    )
    if figures.stray_stdout_lines:
        print(
            f"note: the functions printed {figures.stray_stdout_lines} EMF metric line(s) although"
            " POWERTOOLS_METRICS_DISABLED=true (hidden here)."
        )


def print_cold_imports() -> None:
    results = cold_imports()
    boto3_seconds = results["import boto3"][0]
    rows = []
    for name, (seconds, rss_kb) in results.items():
        ratio = f"{seconds / boto3_seconds:.2f}"
        if name.startswith("functions/") and not name.endswith(FIRST):
            ratio += " ok" if seconds / boto3_seconds <= TARGET_IMPORT_RATIO else " OVER"
        rows.append([name, f"{1000 * seconds:.0f}", ratio, f"{rss_kb / 1024:.0f}"])
    table(
        f"3. Cold import as Lambda loads a handler: a fresh interpreter with only the layer (its bytecode included)"
        f" and the function's asset, writing no bytecode (median of {RUNS}; interpreter start-up not counted);"
        f" '{FIRST}': with what its first invocation imports too (the target is the cold start's)",
        ["import", "ms", f"x boto3 (≤{TARGET_IMPORT_RATIO})", "peak RSS MB"],
        rows,
    )


def print_month(month: Month) -> None:
    print(
        f"\n4. A month of journeys: {month.customers} customers, {month.lines} scenario lines built from the samples in"
        " events/, through the real handlers and compiled journeys on moto, on the virtual clock"
    )
    print_month_pace(month)
    print_journey_runs(month)
    print_messages(month.report["messages"])
    print_month_checks(month.report)


def print_month_pace(month: Month) -> None:
    metrics = month.report["metrics"]
    simulated_events = metrics["events"] + metrics["state_transitions"]
    print(
        f"wall time {month.wall_seconds:.1f} s {'ok' if month.wall_seconds <= TARGET_MONTH_SECONDS else 'OVER'}"
        f" (target ≤{TARGET_MONTH_SECONDS} s), set-up and report included, on {month.workers} worker process(es);"
        f" processor time {month.cpu_seconds:.1f} s\n"
        f"virtual days covered {month.virtual_days:g}\n"
        f"per wall second: {month.lines / month.wall_seconds:.1f} scenario lines,"
        f" {simulated_events / month.wall_seconds:.1f} simulated events ({metrics['events']} canonical events"
        f" recorded on profiles + {metrics['state_transitions']} Step Functions state transitions)"
    )


def print_journey_runs(month: Month) -> None:
    runs = grouped(Counter((run["journey"], run["outcome"]) for run in month.report["journeys"]))
    outcomes = [*OUTCOMES, *sorted({run["outcome"] for run in month.report["journeys"]} - set(OUTCOMES))]
    rows = [
        [
            journey,
            sum(runs[journey].values()),
            *(runs[journey][outcome] for outcome in outcomes),
            f"{statistics.fmean(transitions):.1f}" if transitions else "-",
            max(transitions, default="-"),
        ]
        for journey, transitions in sorted(month.transitions.items())
    ]
    table(
        "Journey runs by outcome; state transitions per run (StateEntered events in each execution's history)",
        ["journey", "runs", *outcomes, "transitions mean", "max"],
        rows,
    )
    if not month.transitions.get("win_back"):
        print(
            "win_back: no run, as expected. It starts at lifecycle stage `lapsed`, 180 days after a customer's last"
            " order, and this month begins with no order history."
        )


def print_messages(messages: list[dict[str, Any]]) -> None:
    by_journey = grouped(Counter((message["journey"], message["status"]) for message in messages))
    statuses = sorted({message["status"] for message in messages})
    table(
        "Messages by journey (ledger entries: one per send or suppression, and one per deferred visit)",
        ["journey", *statuses],
        [[journey, *(counts[status] for status in statuses)] for journey, counts in sorted(by_journey.items())],
    )
    for status in ("suppressed", "deferred"):
        reasons = Counter(message["reason"] for message in messages if message["status"] == status)
        listed = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
        print(f"{status} by reason: {listed or 'none'}")


def print_month_checks(report: dict[str, Any]) -> None:
    metrics = report["metrics"]
    inputs = dict(sorted(Counter(entry["status"] for entry in report["inputs"]).items()))
    lookups = dict(sorted(Counter(entry["status"] for entry in report["lookups"]).items()))
    print(
        f"consistency score {metrics['consistency_score']:g}"
        f" ({len(metrics['consistency_violations'])} violations of the scenario contract's rules)\n"
        f"inputs by HTTP status {inputs}; store lookups by status {lookups};"
        f" {metrics['customers']} live profiles, {metrics['orders']} orders, revenue {metrics['revenue']:.2f}"
    )
    for violation in metrics["consistency_violations"][:5]:
        print(f"  violation: {violation}")


def print_month_scorecard(month: Month, lake: Path) -> None:
    """The month's lake: its size, `omnijourney metrics` on it, and its figures beside the month report's."""
    files = list((lake / "facts").glob("kind=*/day=*/*.parquet"))
    size = sum(path.stat().st_size for path in files)
    facts = sum(parquet.read_metadata(path).num_rows for path in files)
    report = month.report["metrics"]
    last_day = (START + timedelta(days=month.virtual_days)).date()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        omnijourney(["metrics", "--lake", str(lake), "--to", last_day.isoformat(), "--json"])
    seconds = time.perf_counter() - started
    card = json.loads(printed.getvalue())
    print(
        f"\n4b. The month's facts as a lake (`simulate --lake`, its writing counted in section 4's wall time):"
        f" {facts:,} facts in {len(files)} Parquet files (one per kind and day), {size / 1024:,.0f} KB:"
        f" {size / report['events'] * 1000 / 1024:,.1f} KB per 1,000 canonical events,"
        f" {size / facts * 1000 / 1024:,.1f} KB per 1,000 facts\n"
        f"`omnijourney metrics --lake DIR --to {last_day} --json` on DuckDB:"
        f" {seconds:.1f} s wall (start-up, reading the files and every metric's statement included)"
    )
    ended = sum(run["transitions"] for run in month.report["journeys"] if run["ended_at"] is not None)
    staged = Counter(profile["lifecycle_stage"] for profile in month.report["profiles"])
    stages = [*card["clv"]["by_stage"], *sorted(set(staged) - set(card["clv"]["by_stage"]))]
    figures = [
        *((name, report[name], card[name]) for name in ("customers", "events", "orders", "revenue")),
        ("clv.average", report["clv"]["average"], card["clv"]["average"]),
        *(
            (name, report[name], card[name])
            for name in ("cross_channel_conversion_rate", "consistency_score", "messages_sent", "messages_suppressed")
        ),
        ("state_transitions (ended runs)", ended, card["state_transitions"]),
        *(
            (f"customers in stage {stage}", staged[stage], card["clv"]["by_stage"].get(stage, {}).get("customers", 0))
            for stage in stages
        ),
    ]
    # Lists are compared whole; the table shows their lengths.
    lists = [
        ("clv.by_customer", report["clv"]["by_customer"], card["clv"]["by_customer"]),
        ("consistency_violations", _violations(report), _violations(card)),
    ]
    table(
        "The scorecard from the lake beside the month report's metrics (computed in Python from the profiles, the"
        " ledger and the runs); stages as of the month's end",
        ["figure", "report", "scorecard", "equal"],
        [
            *([name, ours, theirs, "yes" if ours == theirs else "NO"] for name, ours, theirs in figures),
            *([name, len(ours), len(theirs), "yes" if ours == theirs else "NO"] for name, ours, theirs in lists),
        ],
    )
    print(
        "state_transitions: the lake counts an execution's once its end is reported (its run_ended fact), the report\n"
        "every run whose record has ended. They part on runs stopped while they waited for an event: on moto the\n"
        "stopped execution ends when its wait's timer fires, which may be after the month's end."
    )


def _violations(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((v["rule"], v["customer_id"], v["at"]) for v in metrics["consistency_violations"])


def print_studio(figures: StudioLoads) -> None:
    rows = [
        [
            load.page,
            f"{load.response_ms:.0f}",
            f"{load.dom_ms:.0f}",
            f"{load.load_ms:.0f}",
            "-" if load.ready_ms is None else f"{load.ready_ms:.0f}",
            against(round(load.seen_ms), TARGET_MS),
            f"{load.html_bytes / 1024:,.0f}",
            f"{load.bytes / 1024:,.0f}",
            load.fetched,
        ]
        for load in figures.pages
    ]
    if figures.lookup_ms is not None:
        rows.append(["lookup by phone", "", "", "", "", against(round(figures.lookup_ms), TARGET_MS), "", "", ""])
    table(
        f"5. The studio's pages in headless Chromium ({CHROMIUM}): `omnijourney studio` in its own process, each page"
        f" loaded {LOADS} times after a warm-up, in a fresh browser context each (no cache); ms from the navigation's"
        " start, medians",
        ["page", "first byte", "DOM ready", "load", "shown", f"seen (≤{TARGET_MS})", "HTML KB", "KB in all", "fetches"],
        rows,
    )
    print(
        "first byte: Navigation Timing's responseStart (the studio rendering the page); DOM ready:\n"
        "domContentLoadedEventEnd (the HTML read, its scripts run); load: loadEventEnd (styles, scripts and pictures\n"
        "in); shown: what the screen's own script shows after its fetches (the customer screen's form); seen: the\n"
        "later of load and shown. KB: Resource Timing's transferSize, headers included.\n"
        f"/simulate: the finished result of {figures.simulation}, uploaded through the page's own route"
        f" ({figures.simulation_seconds:.0f} s to play, not counted).\n"
        "lookup by phone: the demo's Lena on the customer screen, from the Find button's submit to her page shown."
    )
    if figures.customer_screen_problem:
        print(f"the customer screen: not measured ({figures.customer_screen_problem})")


def print_pinpoint_conversions(figures: list[Conversion]) -> None:
    table(
        "Pinpoint endpoints to a scenario (`import pinpoint endpoints --scenario`, a gzipped export, its own process)",
        ["endpoints", "export MB", "seconds", "records/s", "peak MB"],
        [
            [
                f"{found.endpoints:,}",
                f"{found.megabytes:.1f}",
                f"{found.seconds:.1f}",
                f"{found.per_second:,.0f}",
                f"{found.peak_mb:.0f}",
            ]
            for found in figures
        ],
    )


def print_chaos(figures: list[ScenarioChaos]) -> None:
    def listed(counts: Counter[Any]) -> str:
        return ", ".join(f"{key} {count}" for key, count in sorted(counts.items())) or "-"

    table(
        f"6. Chaos: every shipped scenario under {RATE:.0%} injected AWS faults ({SEEDS} seeds) and once per crash"
        " point, against its fault-free run",
        [
            "scenario",
            "runs",
            "faults injected",
            "reached functions",
            "failed, retried by",
            "recovered",
            "lost",
            "pending",
            "crashes",
            "differences",
        ],
        [
            [
                found.scenario,
                found.runs,
                found.injected.total(),
                listed(found.escaped),
                listed(found.failures),
                found.recoveries.total(),
                found.unrecovered.total(),
                found.pending,
                len(found.crashes),
                len(found.differences),
            ]
            for found in figures
        ],
    )
    injected: Counter[Any] = sum((found.injected for found in figures), Counter())
    print(
        f"faults injected by kind: {listed(injected)}.\nReached functions: those past the SDK's own retries (a tenth"
        " of what it retries, and all it does not). Lost: work never recovered (a record in the DLQ, a Task its\n"
        "Catch took). Pending: entries the provider accepted and the ledger never marked sent (the named window)."
    )
    for found in figures:
        for difference in found.differences[:5]:
            print(f"  {found.scenario}: {difference}")


def grouped(counts: Counter[tuple[str, str]]) -> defaultdict[str, Counter[str]]:
    """{(a, b): n} → {a: {b: n}}"""
    nested: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for (first, second), count in counts.items():
        nested[first][second] += count
    return nested


def main() -> None:
    started = time.perf_counter()
    clock.use(lambda: RECEIVED_AT)
    try:
        costs = pipeline_costs()
        load = throughput()
    finally:
        clock.use(None)
    print_pipeline_costs(costs)
    print_throughput(load)
    print_cold_imports()
    with tempfile.TemporaryDirectory() as lake:
        month = simulate_month(lake=Path(lake))
        print_month(month)
        print_month_scorecard(month, Path(lake))
    print_studio(studio_page_loads())
    print_chaos(chaos_figures())
    print_pinpoint_conversions(pinpoint_conversions())
    print(f"\nbench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
