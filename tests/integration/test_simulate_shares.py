"""`omnijourney simulate --workers`: customers shared out among processes, the same report as one process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.journeys import scenario_lines, scenario_text
from omnijourney_tools.cli import main
from omnijourney_tools.simulation import simulate
from omnijourney_tools.simulation.scenario import (
    AdvanceLine,
    DeliveryLine,
    ScenarioLine,
    ScheduleLine,
    parse_lines,
    read,
)
from omnijourney_tools.simulation.shares import split
from tests.conftest import ROOT

SHOPPERS = 10
DAYS = 7


@pytest.fixture(scope="module")
def shop_week() -> list[ScenarioLine]:
    """A week of ten shoppers, each through web, app, shop, store, support and email, from the real samples."""
    return parse_lines(scenario_text(scenario_lines(SHOPPERS, DAYS)), "<week>", base=ROOT / "scenarios")


@pytest.fixture(scope="module")
def alone(shop_week: list[ScenarioLine]) -> dict[str, Any]:
    return simulate(shop_week, workers=1)


def names(line: ScenarioLine, profile: dict[str, Any]) -> bool:
    """The line carries one of the customer's identifiers, as the customer's profile lists them at the end."""
    text = line.model_dump_json().lower().replace(" ", "")  # phones as typed: "+49 151 …"
    return any(value.lower() in text for values in profile["identifiers"].values() for value in values)


def test_no_customer_is_split_between_workers_and_each_worker_gets_customers(
    shop_week: list[ScenarioLine], alone: dict[str, Any]
) -> None:
    shares = split(shop_week, 2)
    assert len(shares) == 2
    workers_of = {
        profile["customer_id"]: {
            index for index, share in enumerate(shares) if any(names(line, profile) for line in share)
        }
        for profile in alone["profiles"]
    }
    assert len(workers_of) >= SHOPPERS
    assert all(len(workers) == 1 for workers in workers_of.values()), workers_of
    assert {worker for (worker,) in workers_of.values()} == {0, 1}
    # Lines of nobody's (the clock's, a schedule's turn) go to both; both end at the scenario's end.
    nobodys = [line.number for line in shop_week if isinstance(line, AdvanceLine | ScheduleLine)]
    assert nobodys
    for share in shares:
        assert set(nobodys) <= {line.number for line in share}
        assert share[-1].at == shop_week[-1].at


def test_an_anonymous_cart_linked_by_email_then_phone_keeps_the_customer_on_one_worker() -> None:
    lines = read(ROOT / "scenarios" / "web_cart_found_in_store.jsonl")
    sources = {line.source for line in lines if isinstance(line, DeliveryLine)}
    assert {"segment", "zendesk", "twilio"} <= sources
    assert len(split(lines, 2)) == 1


def test_two_workers_write_the_report_one_worker_writes_byte_for_byte(
    shop_week: list[ScenarioLine], alone: dict[str, Any]
) -> None:
    progress: list[tuple[int, int]] = []
    shared = simulate(shop_week, lambda done, total: progress.append((done, total)), workers=2)
    # Each scenario line counted once, when the last worker that plays it has.
    assert progress == [(done, len(shop_week)) for done in range(1, len(shop_week) + 1)]
    assert alone["metrics"]["customers"] >= SHOPPERS
    assert alone["metrics"]["messages_sent"] > SHOPPERS
    assert {run["journey"] for run in alone["journeys"]} >= {"abandoned_cart", "welcome_series", "post_purchase"}
    assert json.dumps(shared, indent=2) == json.dumps(alone, indent=2)


def test_a_journey_that_does_not_compile_is_reported_from_a_worker_with_its_file_and_line(
    shop_week: list[ScenarioLine], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journeys = tmp_path / "journeys"
    shutil.copytree(ROOT / "journeys", journeys)
    welcome = journeys / "welcome_series.yaml"
    welcome.write_text(welcome.read_text().replace("timeout: {days: 3}", "timeout: {days: three}"))
    scenario = tmp_path / "week.jsonl"
    scenario.write_text(scenario_text(scenario_lines(SHOPPERS, DAYS)))
    assert main(["simulate", str(scenario), "--journeys", str(journeys), "--workers", "2"]) == 2
    error = capsys.readouterr().err
    assert "welcome_series.yaml:28:17: steps[1].wait_for.timeout.days" in error


def test_workers_must_be_a_positive_whole_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", str(ROOT / "scenarios" / "shoes.jsonl"), "--workers", "0"])
    assert exit_.value.code == 2
    assert "'0' is not a whole number of 1 or more" in capsys.readouterr().err
