"""`omnijourney simulate`: replay what customers do across channels through the real handlers, on moto."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path
from typing import Any

from omnijourney_tools.simulation import shares
from omnijourney_tools.simulation.runner import Progress, play, report_of
from omnijourney_tools.simulation.scenario import ScenarioLine

# Scenarios at least this long are shared out among the processor's cores by default: below it, starting
# another process costs more than it saves.
SHARED_FROM_LINES = 300


def simulate(
    lines: Iterable[ScenarioLine],
    progress: Progress | None = None,
    workers: int | None = None,
    *,
    apart: bool = False,
    lake: Path | None = None,
) -> dict[str, Any]:
    """The scenario's report. With more than one worker, customers who share no identifier are shared out
    among that many processes (default: one per core for long scenarios); the report is the same. `apart`: never
    in this process, for a caller that keeps a moto backend of its own (the studio's customer screen): moto and the
    virtual clock are one per process. `lake`: the analytics facts the run wrote, as Parquet under that folder."""
    lines = list(lines)
    start = lines[0].at.astimezone(UTC) if lines else None
    if workers is None:
        workers = (os.cpu_count() or 1) if len(lines) >= SHARED_FROM_LINES else 1
    parts = shares.split(lines, workers) if workers > 1 else []
    facts = lake is not None
    if len(parts) > 1:
        findings = shares.play_apart(parts, start, progress, facts=facts)
    elif apart:
        findings = shares.play_apart([lines], start, progress, facts=facts)
    else:
        findings = [play(lines, start, progress, facts=facts)]
    if lake is not None:
        from omnijourney_tools import lake as parquet  # lazy: pyarrow, which only --lake needs

        parquet.write(lake, parquet.records_in(body for found in findings for body in found.fact_records))
    return report_of(findings)
