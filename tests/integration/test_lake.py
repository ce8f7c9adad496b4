"""`omnijourney simulate --lake DIR`: the facts the functions put to Firehose, as Parquet that DuckDB reads with the
columns docs/analytics.md documents."""

from __future__ import annotations

import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb
import pytest

from omnijourney.platform.aws import client
from omnijourney_tools.cli import main
from omnijourney_tools.lake import records_in, write
from omnijourney_tools.local import LocalBackend
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import read
from tests.conftest import EVENTS, ROOT
from tests.integration.test_scenarios import report_file, scenario_lake

SCENARIOS = ROOT / "scenarios"
DOCUMENTED_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "decimal(18,4)": "DECIMAL(18,4)",
    "array<string>": "VARCHAR[]",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
}


def shared(factory: pytest.TempPathFactory, name: str) -> tuple[dict[str, Any], duckdb.DuckDBPyRelation]:
    """A shipped scenario's report and lake, from the session's shared run (tests/integration/test_scenarios.py)."""
    return json.loads(report_file(factory, name).read_text()), facts_in(scenario_lake(factory, name))


def simulated(scenario: str, folder: Path) -> tuple[dict[str, Any], duckdb.DuckDBPyRelation]:
    report = folder / "report.json"
    lake = folder / "lake"
    assert main(["simulate", str(SCENARIOS / scenario), "--quiet", "--report", str(report), "--lake", str(lake)]) == 0
    return json.loads(report.read_text()), facts_in(lake)


def facts_in(lake: Path) -> duckdb.DuckDBPyRelation:
    return duckdb.sql(f"SELECT * FROM read_parquet('{lake}/facts/*/*/*.parquet', hive_partitioning = true)")


def rows(relation: duckdb.DuckDBPyRelation, where: str = "TRUE") -> list[dict[str, Any]]:
    found = relation.filter(where)
    return [dict(zip(found.columns, row, strict=True)) for row in found.fetchall()]


@pytest.fixture(scope="module")
def shoes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], duckdb.DuckDBPyRelation]:
    return shared(tmp_path_factory, "shoes")


def documented_columns() -> dict[str, str]:
    """Column → type, from the table of docs/analytics.md."""
    text = (ROOT / "docs" / "analytics.md").read_text()
    section = text.split("## The table `facts`", 1)[1].split("\nKinds:", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([\w(),<>]+)", section, re.MULTILINE))


def test_duckdb_reads_the_documented_columns_with_their_types(shoes: Any) -> None:
    _, facts = shoes
    documented = documented_columns()
    assert len(documented) > 20
    read_as = dict(zip(facts.columns, map(str, facts.dtypes), strict=True))
    assert read_as.pop("day") == "DATE"  # the second partition key, read from the path
    assert read_as.pop("kind") == "VARCHAR"
    assert read_as == {name: DOCUMENTED_TYPES[kind] for name, kind in documented.items() if name not in ("kind", "day")}


def test_the_shoes_story_is_in_the_facts(shoes: Any) -> None:
    report, facts = shoes
    [customer] = [profile["customer_id"] for profile in report["profiles"]]
    web_events = rows(facts, "kind = 'event' AND channel = 'web'")
    assert {"page_viewed", "cart_updated", "checkout_started"} <= {row["event_type"] for row in web_events}
    [order] = rows(facts, "kind = 'order'")
    assert (order["channel"], order["order_state"], order["skus"]) == ("pos", "placed", ["SHOE-TRAIL-42"])
    assert (str(order["amount"]), order["currency"], order["customer_id"]) == ("129.9500", "EUR", customer)
    messages = rows(facts, "kind = 'message'")
    assert {(row["journey"], row["step"]) for row in messages if row["status"] == "sent"} == {
        (message["journey"], message["step"]) for message in report["messages"] if message["status"] == "sent"
    }
    deferred = [row for row in messages if row["status"] == "deferred"]
    assert deferred
    assert {row["reason"] for row in deferred} == {"open_ticket"}
    assert {row["timezone"] for row in messages} == {"Europe/Berlin"}
    started = rows(facts, "kind = 'run_started'")
    ended = {row["execution"]: row for row in rows(facts, "kind = 'run_ended'")}
    assert (
        sorted(row["execution"] for row in started)
        == sorted(ended)
        == sorted(run["execution"] for run in report["journeys"])
    )
    for run in report["journeys"]:
        end = ended[run["execution"]]
        assert (end["outcome"], end["reason"], end["channel"]) == (run["outcome"], run["reason"], run["converted_on"])
        assert end["transitions"] == run["transitions"]
    assert {row["run_group"] for row in started} == {"treatment"}
    issued = rows(facts, "kind = 'offer_issued'")
    assert {row["offer_code"] for row in issued} == {
        message["offer"]["code"] for message in report["messages"] if message["offer"]
    }
    # Each code with when it stops being live, as the profile shows it (the facts' timestamps are UTC, without a zone).
    assert {row["offer_code"]: row["expires_at"].replace(tzinfo=UTC).isoformat() for row in issued} == {
        offer["code"]: offer["expires_at"] for profile in report["profiles"] for offer in profile["offers"]
    }
    # Anonymous on the web at first; known once the app identified her by email.
    known = [row["known"] for row in sorted(rows(facts, "kind = 'event'"), key=lambda row: row["occurred_at"])]
    assert (known[0], known[-1]) == (False, True)
    [merge] = rows(facts, "kind = 'merge'")
    assert merge["customer_id"] == customer
    assert merge["merged_id"] != customer
    assert {row["status"] for row in rows(facts, "kind = 'ticket'")} == {"opened", "solved"}


def test_a_redelivered_event_adds_no_second_event_fact(tmp_path_factory: pytest.TempPathFactory) -> None:
    report, facts = shared(tmp_path_factory, "duplicate_webhooks")
    events = rows(facts, "kind = 'event'")
    assert len({row["fact_id"] for row in events}) == len({row["event_id"] for row in events})
    assert len({row["event_id"] for row in events}) == report["metrics"]["events"]
    [[orders]] = facts.filter("kind = 'order'").aggregate("count(DISTINCT fact_id)").fetchall()
    assert orders == 1


def test_a_status_change_delivered_again_puts_its_run_ended_fact_again_under_the_same_id(tmp_path: Path) -> None:
    lines = read(SCENARIOS / "shoes.jsonl")
    with LocalBackend(stage="sim", start=lines[0].at) as backend:
        Simulation(backend).run(lines)
        machine = backend.state_machines["post_purchase"]
        [execution] = client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
        described = client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
        detail = {key: described.get(key) for key in ("name", "stateMachineArn", "status", "input", "output")}
        # EventBridge delivers at least once: the same status change, to the journey-step function, again.
        backend.journey_step({"detail-type": "Step Functions Execution Status Change", "detail": detail})
        records = records_in(backend.fact_records())
    write(tmp_path, records)
    ended = rows(facts_in(tmp_path), f"kind = 'run_ended' AND execution = '{execution['name']}'")
    assert len(ended) == 2
    assert len({row["fact_id"] for row in ended}) == 1


def test_an_erased_customer_s_identifiers_are_nowhere_in_the_lake(tmp_path_factory: pytest.TempPathFactory) -> None:
    report, facts = shared(tmp_path_factory, "erased_customer_gets_nothing")
    before = report["lookups"][0]["profile"]
    customer = json.loads((EVENTS / "shopify" / "customers_create.json").read_text())
    address = customer["default_address"]
    personal = [value for values in before["identifiers"].values() for value in values] + [
        "+49 151 23456789",
        customer["first_name"],
        customer["last_name"],
        address["address1"],
        address["address2"],
        address["zip"],
    ]
    assert {entry["line"]: entry["status"] for entry in report["inputs"]}[10] == 200  # the erasure
    erased = rows(facts, "kind = 'erasure'")
    assert before["customer_id"] in {row["customer_id"] for row in erased}
    cells = [str(value) for row in rows(facts) for value in row.values() if value is not None]
    assert len(cells) > 100
    assert [value for value in personal if any(value in cell for cell in cells)] == []


def test_the_same_scenario_gives_the_same_lake(shoes: Any, tmp_path: Path) -> None:
    _, first = shoes
    _, again = simulated("shoes.jsonl", tmp_path)
    assert again.fetchall() == first.fetchall()
