"""metrics/*.sql stays in the SQL both DuckDB and Athena (Trino, engine 3) accept: each file parses in both dialects,
and every statement the scorecard runs, rendered for Trino, parses back without a construct Trino refuses."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from omnijourney.events import EventType
from omnijourney.journeys.language import ConversionRule
from omnijourney_tools.scorecard.definitions import METRICS_DIR, SHARED, Definitions, Scope

FILES = sorted(METRICS_DIR.glob("*.sql"))
DEFINITIONS = Definitions()
SCOPE = Scope(
    quiet_start="21:00",
    quiet_end="09:00",
    quiet_channels=("sms", "push"),
    default_timezone="Europe/Berlin",
    first_day=date(2025, 3, 1),
    last_day=date(2025, 3, 31),
    journey="abandoned_cart",
    conversions={"abandoned_cart": ConversionRule(EventType.order_completed, ("web", "pos"), 14)},
)
# What docs/metrics.md defines, each a file (the scorecard's JSON keys).
DEFINED = {
    "customers", "events", "orders", "revenue", "clv", "clv_by_customer", "clv_by_first_channel",
    "cross_channel_conversion_rate", "messages_sent", "messages_suppressed", "suppressed_by_reason",
    "consistency_violations", "consistency_score", "state_transitions", "funnel", "holdout_lift", "clv_by_stage",
}  # fmt: skip


def test_every_metric_of_the_scorecard_has_its_file() -> None:
    assert {path.stem for path in FILES} == DEFINED | {SHARED}


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
@pytest.mark.parametrize("dialect", ["duckdb", "trino"])
def test_file_parses_as_one_query_in_both_dialects(path: Path, dialect: str) -> None:
    (statement,) = sqlglot.parse(path.read_text(encoding="utf-8"), read=dialect)
    assert isinstance(statement, exp.Query)
    assert not statement.find(exp.Qualify), "Trino has no QUALIFY: filter a numbered subquery"


@pytest.mark.parametrize("metric", sorted(DEFINED))
def test_statement_rendered_for_trino_parses_back_as_trino_takes_it(metric: str) -> None:
    rendered = sqlglot.parse_one(DEFINITIONS.statement(metric, SCOPE, "trino"), read="trino")

    # Trino's AT TIME ZONE takes a literal zone only; a zone from a column is AT_TIMEZONE(instant, zone).
    assert all(isinstance(node.args["zone"], exp.Literal) for node in rendered.find_all(exp.AtTimeZone))
    names = {cte.alias for cte in rendered.find_all(exp.CTE)}
    assert {"settings", "quiet_channels", "conversions", "customer_facts"} <= names
    # Everything it reads is defined in the statement, but the facts table itself.
    assert {table.name for table in rendered.find_all(exp.Table)} <= names | {"facts"}


def test_scope_is_typed_literals_never_pasted_text() -> None:
    hostile = Scope(**{**SCOPE.__dict__, "journey": "x' OR '1'='1"})

    settings = sqlglot.parse_one(DEFINITIONS.statement("customers", hostile, "duckdb"), read="duckdb")
    (row,) = [cte.this for cte in settings.find_all(exp.CTE) if cte.alias == "settings"]
    journey = next(select for select in row.selects if select.alias == "journey")
    assert journey.find(exp.Literal).this == "x' OR '1'='1"
    assert row.selects[0].sql("trino") == "CAST('2025-03-01 00:00:00' AS TIMESTAMP) AS range_start"
    assert row.selects[1].sql("trino") == "CAST('2025-04-01 00:00:00' AS TIMESTAMP) AS range_end"
