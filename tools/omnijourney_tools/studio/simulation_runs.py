"""The studio's simulation runs: a scenario from scenarios/ or an uploaded one, played by `omnijourney simulate`'s own
code in a process of its own (moto and the virtual clock are one per process, and the customer screen keeps a backend
in the studio's), one run at a time, its progress read by the page while it plays and its result kept until the next
run.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from omnijourney.journeys.catalog import load_journeys
from omnijourney.platform.configfile import journeys_dir
from omnijourney_tools.simulation.scenario import ScenarioError, ScenarioLine, parse_lines
from omnijourney_tools.studio.simulation_charts import Charts, charts_of
from omnijourney_tools.studio.simulation_result import CustomerTimeline, Result, result_of

SHIPPED_SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
# The project's sample payloads, which scenarios name in their `file` lines.
SAMPLE_EVENTS = Path(__file__).resolve().parents[3] / "events"


class Busy(Exception):
    """A run was asked for while another is playing."""


@dataclass(frozen=True)
class Finished:
    """A run's result; `run` counts the runs this studio started, so a page names the result it shows."""

    result: Result
    charts: Charts
    run: int

    def customer(self, customer_id: str) -> CustomerTimeline | None:
        return next((found for found in self.result.customers if found.customer_id == customer_id), None)


@dataclass(frozen=True)
class Progress:
    """`state` is idle, running, finished or failed; `error` says why a run failed."""

    state: str
    scenario: str | None = None
    done: int = 0
    total: int = 0
    error: str | None = None


class Simulations:
    """Runs over the scenarios in `folder`; an upload's `file` references are read relative to it too, as a shipped
    scenario's are, and only from under it or the project's events/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._progress = Progress("idle")
        self._finished: Finished | None = None
        self._runs = 0

    def names(self) -> list[str]:
        return sorted(path.name for path in self.folder.glob("*.jsonl"))

    def shipped(self, name: str) -> list[ScenarioLine]:
        """The lines of scenarios/`name` (a name that is not one of its files is refused before any path is made)."""
        if name not in self.names():
            raise ScenarioError(f"no scenario named {name!r} in {self.folder.name}/")
        return self.uploaded(name, (self.folder / name).read_text(encoding="utf-8"))

    def uploaded(self, name: str, text: str) -> list[ScenarioLine]:
        """The lines of an uploaded scenario; a malformed line raises ScenarioError naming `name:line`."""
        lines = parse_lines(text, name, self.folder, within=(self.folder, SAMPLE_EVENTS))
        if not lines:
            raise ScenarioError(f"{name}: has no lines to play")
        return lines

    def start(self, scenario: str, lines: list[ScenarioLine]) -> None:
        """Play the lines in the background; ConfigError (before anything runs) while a journey or config/ has errors,
        as `omnijourney simulate` would stop."""
        with self._lock:
            self._refuse_if_busy()
        steps = saved_steps()  # outside the lock: the page reads the progress meanwhile
        with self._lock:
            self._refuse_if_busy()
            self._progress = Progress("running", scenario, 0, len(lines))
            self._runs += 1
            run = self._runs
        threading.Thread(
            target=self._play, args=(scenario, lines, steps, run), name="studio-simulation", daemon=True
        ).start()

    def _refuse_if_busy(self) -> None:
        """Busy while a run plays (called under the lock)."""
        if self._progress.state == "running":
            raise Busy(f"{self._progress.scenario} is playing: one run at a time")

    def progress(self) -> Progress:
        with self._lock:
            return self._progress

    def finished(self) -> Finished | None:
        with self._lock:
            return self._finished

    def _advance(self, done: int, total: int) -> None:
        with self._lock:
            self._progress = Progress("running", self._progress.scenario, done, total)

    def _play(self, scenario: str, lines: list[ScenarioLine], steps: dict[str, list[str]], run: int) -> None:
        # lazy: the simulation loads moto, boto3 and botocore's models (seconds), which the studio's pages never need
        from omnijourney_tools.simulation import simulate

        try:
            report = simulate(lines, progress=self._advance, apart=True)
            result = result_of(scenario, len(lines), report, steps)
            finished = Finished(result, charts_of(result), run)
        except Exception as error:  # noqa: BLE001 - the page shows why the run failed, and the studio stays up
            with self._lock:
                self._progress = Progress("failed", scenario, self._progress.done, len(lines), f"{error}")
            return
        with self._lock:
            self._finished = finished
            self._progress = Progress("finished", scenario, len(lines), len(lines))


def saved_steps() -> dict[str, list[str]]:
    """Each journey's step ids in its file's order, from journeys/ and config/ as saved now, checked by the validator of
    `omnijourney journeys validate`; ConfigError while either has errors. Loaded in a process of its own, as the run
    itself plays: this process's cached definitions (the customer screen's backend, the editor's previews) stay as they
    are, and nothing it cached (segments, offers, lifecycle stages) stands in for a file changed since."""
    # Spawned, as the run's own process is: a fork would copy the server's threads mid-step.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as fresh:
        return fresh.submit(_steps_as_saved).result()


def _steps_as_saved() -> dict[str, list[str]]:
    loaded = load_journeys([journeys_dir()])
    return {name: [step.id for step in journey.steps] for name, journey in loaded.journeys.items()}
