"""A scenario played under a fault plan, and how its outcome compares with the fault-free run's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta

from omnijourney_tools.chaos.backend import ChaosBackend
from omnijourney_tools.chaos.crashes import CrashPoint
from omnijourney_tools.chaos.faults import FaultKind, FaultPlan
from omnijourney_tools.chaos.outcome import EmailsAccepted, Outcome, outcome_of
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import AdvanceLine, ScenarioLine

# After the last line, the clock runs on this long, so a Task retried after a fault (Step Functions backs off for a
# minute at most over its five attempts) ends where the fault-free run's did.
SETTLE = timedelta(minutes=10)


@dataclass(frozen=True)
class ChaosRun:
    outcome: Outcome
    injected: Counter[FaultKind]  # every failed attempt
    escaped: Counter[FaultKind]  # those the SDK's retries did not get past: what the functions saw
    crashed: list[CrashPoint]
    failures: Counter[str]  # by retrier: failed invocations or records, each retried unless given up
    recoveries: Counter[str]
    unrecovered: Counter[str]


def play_under(lines: Sequence[ScenarioLine], plan: FaultPlan, crash_points: tuple[CrashPoint, ...] = ()) -> ChaosRun:
    """The scenario on a fresh backend with `plan`'s faults and the crash points armed."""
    settled = AdvanceLine(number=len(lines) + 1, at=lines[-1].at + SETTLE)
    emails = EmailsAccepted()
    backend = ChaosBackend(plan, crash_points, start=lines[0].at.astimezone(UTC))
    with emails.install(), backend:
        findings = Simulation(backend).run([*lines, settled])
        return ChaosRun(
            outcome=outcome_of(findings, backend, emails.emails),
            injected=backend.faults.injected,
            escaped=backend.faults.escaped,
            crashed=backend.crashes.fired,
            failures=backend.failures,
            recoveries=backend.recoveries,
            unrecovered=backend.unrecovered(),
        )
