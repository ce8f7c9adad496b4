"""Issue 18's "done when": for every shipped scenario, `omnijourney simulate --report r.json --lake DIR` then
`omnijourney metrics --lake DIR --json` gives the figures of r.json's `metrics`, computed the other way (Python over
the profiles, the ledger and the runs at the end of the run).

One test per scenario, each simulating its scenario once: pytest-xdist shares the scenarios out among the workers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnijourney_tools.cli import main
from tests.conftest import ROOT

SCENARIOS = sorted((ROOT / "scenarios").glob("*.jsonl"))
# The journeys a scenario is played with where it needs more than the project's (as tests/integration/test_scenarios.py
# plays it).
JOURNEYS = {"guards_hold_a_careless_flash_sale": Path(__file__).parent / "scenario_journeys"}
FIGURES = [
    "customers",
    "events",
    "orders",
    "revenue",
    "cross_channel_conversion_rate",
    "consistency_score",
    "messages_sent",
    "messages_suppressed",
    "suppressed_by_reason",
]


def figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """What both ways must agree on, the violations by rule and customer among them."""
    return {name: metrics[name] for name in FIGURES} | {
        "clv.average": metrics["clv"]["average"],
        "clv.by_customer": metrics["clv"]["by_customer"],
        "violations": sorted((v["rule"], v["customer_id"], v["at"]) for v in metrics["consistency_violations"]),
    }


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda path: path.stem)
def test_scorecard_from_the_lake_equals_the_simulate_report(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journeys = ["--journeys", str(JOURNEYS[scenario.stem])] if scenario.stem in JOURNEYS else []
    report, lake = tmp_path / "r.json", tmp_path / "lake"
    assert main(["simulate", str(scenario), "--quiet", "--report", str(report), "--lake", str(lake), *journeys]) == 0
    capsys.readouterr()

    assert main(["metrics", "--lake", str(lake), "--json"]) == 0

    scorecard = json.loads(capsys.readouterr().out)
    played = json.loads(report.read_text())
    # An execution's transitions are a fact when it ends: the report also counts those of runs still waiting.
    ended = sum(run["transitions"] for run in played["journeys"] if run["ended_at"] is not None)
    assert figures(scorecard) | {"state_transitions": scorecard["state_transitions"]} == figures(played["metrics"]) | {
        "state_transitions": ended
    }
