"""`make bench`: AWS calls and capacity units per event, local throughput, cold imports. Prints; never asserts."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.cold_start import RUNS, cold_imports
from bench.metering import OUTSIDE, Usage
from bench.pipeline import RECEIVED_AT, Throughput, pipeline_costs, throughput
from omnijourney import clock

# The budget for one simple track event, ingest and profile functions together.
TARGET_WRITE_UNITS = 3
TARGET_CALLS = 6
TARGET_IMPORT_RATIO = 1.5


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
        if name.startswith("functions/"):
            ratio += " ok" if seconds / boto3_seconds <= TARGET_IMPORT_RATIO else " OVER"
        rows.append([name, f"{1000 * seconds:.0f}", ratio, f"{rss_kb / 1024:.0f}"])
    table(
        f"3. Cold import in a fresh interpreter (median of {RUNS}; interpreter start-up not counted)",
        ["import", "ms", f"x boto3 (≤{TARGET_IMPORT_RATIO})", "peak RSS MB"],
        rows,
    )


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
    print(f"\nbench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
