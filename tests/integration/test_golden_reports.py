"""Every shipped scenario's simulate report, byte for byte, against tests/golden/<scenario>.json.

A refactor proves it changed nothing by passing this unchanged. A change meant to change behaviour runs
`make golden` (which sets OMNIJOURNEY_WRITE_GOLDEN=1 for this file) and commits the new reports with it, saying
in the commit why they changed: the diff of the golden files is what a reviewer reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.test_scenarios import RUNS, SCENARIOS, report_file

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
WRITING = os.environ.get("OMNIJOURNEY_WRITE_GOLDEN") == "1"
# The shipped scenarios as the project runs them (variants written by tests are not shipped).
SHIPPED = sorted(name for name, run in RUNS.items() if run.lines is None)


def test_every_shipped_scenario_has_a_golden_report() -> None:
    assert sorted(path.stem for path in SCENARIOS.glob("*.jsonl")) == SHIPPED
    if not WRITING:
        assert sorted(path.stem for path in GOLDEN.glob("*.json")) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_the_report_is_the_golden_one_byte_for_byte(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    made = report_file(tmp_path_factory, name).read_bytes()
    golden = GOLDEN / f"{name}.json"
    if WRITING:
        golden.write_bytes(made)
    assert made == golden.read_bytes(), f"{name}'s report changed: `make golden` if that is meant, and say why"
