"""Every shipped scenario's simulate report, byte for byte, against tests/golden/<scenario>.json; and the scorecard of
the lake the same run wrote, against the report's metrics (issue 18's "done when", tests/integration/
test_scorecard_equality.py): one simulation per scenario serves both, and the scenario tests (the session's shared
runs of tests/integration/test_scenarios.py).

A refactor proves it changed nothing by passing this unchanged. A change meant to change behaviour runs
`make golden` (which sets OMNIJOURNEY_WRITE_GOLDEN=1 for this file) and commits the new reports with it, saying
in the commit why they changed: the diff of the golden files is what a reviewer reads.
"""

from __future__ import annotations

import json
import os
from datetime import UTC
from pathlib import Path

import pytest

from omnijourney_tools.cli import main
from omnijourney_tools.simulation.scenario import read
from tests.integration.test_scenarios import RUNS, SCENARIOS, report_file, scenario_lake
from tests.integration.test_scorecard_equality import from_the_lake, from_the_report

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
WRITING = os.environ.get("OMNIJOURNEY_WRITE_GOLDEN") == "1"
# The shipped scenarios as the project runs them (variants written by tests are not shipped).
SHIPPED = sorted(name for name, run in RUNS.items() if run.lines is None)


def test_every_shipped_scenario_has_a_golden_report() -> None:
    assert sorted(path.stem for path in SCENARIOS.glob("*.jsonl")) == SHIPPED
    if not WRITING:
        assert sorted(path.stem for path in GOLDEN.glob("*.json")) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_the_report_is_the_golden_one_and_the_lake_gives_its_metrics(
    name: str, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = SCENARIOS / f"{name}.jsonl"
    report, lake = report_file(tmp_path_factory, name), scenario_lake(tmp_path_factory, name)
    # The report stages its profiles at the scenario's last line, the scorecard at the end of that line's day (no
    # shipped scenario has a 90- or 180-day mark in between).
    last_day = read(scenario)[-1].at.astimezone(UTC).date()
    capsys.readouterr()

    assert main(["metrics", "--lake", str(lake), "--to", last_day.isoformat(), "--json"]) == 0

    made, golden = report.read_bytes(), GOLDEN / f"{name}.json"
    if WRITING:
        golden.write_bytes(made)
    assert from_the_lake(json.loads(capsys.readouterr().out)) == from_the_report(json.loads(made))
    assert made == golden.read_bytes(), f"{name}'s report changed: `make golden` if that is meant, and say why"
