"""Chaos over every shipped scenario: many seeds of injected AWS faults, and each crash point, against the fault-free
run (tools/omnijourney_tools/chaos). Figures only; tests/integration/test_chaos.py asserts on a small corpus."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from omnijourney_tools.chaos.crashes import CrashPoint
from omnijourney_tools.chaos.faults import FaultKind, FaultPlan
from omnijourney_tools.chaos.run import play_under
from omnijourney_tools.simulation.scenario import read

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEEDS = 20
RATE = 0.1


@dataclass
class ScenarioChaos:
    scenario: str
    runs: int = 0
    injected: Counter[FaultKind] = field(default_factory=Counter)
    escaped: Counter[FaultKind] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    recoveries: Counter[str] = field(default_factory=Counter)
    unrecovered: Counter[str] = field(default_factory=Counter)
    pending: int = 0  # ledger entries left pending: the named window
    crashes: list[CrashPoint] = field(default_factory=list)  # the points reached (each run once)
    differences: list[str] = field(default_factory=list)  # "seed N: …" or "<crash point>: …"


def chaos_figures(seeds: int = SEEDS) -> list[ScenarioChaos]:
    """Each shipped scenario fault-free, under RATE faults for each seed, and with each crash point."""
    figures = []
    for path in sorted(SCENARIOS.glob("*.jsonl")):
        lines = read(path)
        expected = play_under(lines, FaultPlan(rate=0)).outcome
        found = ScenarioChaos(path.stem)
        trials: list[tuple[str, FaultPlan, tuple[CrashPoint, ...]]] = [
            (f"seed {seed}", FaultPlan(rate=RATE, seed=seed), ()) for seed in range(seeds)
        ]
        trials += [(point.value, FaultPlan(rate=0), (point,)) for point in CrashPoint]
        for label, plan, points in trials:
            run = play_under(lines, plan, points)
            found.runs += 1
            found.injected += run.injected
            found.escaped += run.escaped
            found.failures += run.failures
            found.recoveries += run.recoveries
            found.unrecovered += run.unrecovered
            found.pending += len(run.outcome.pending)
            found.crashes += run.crashed
            found.differences += [f"{label}: {difference}" for difference in run.outcome.differences(expected)]
        figures.append(found)
    return figures
