"""The daily consistency audit on moto: the day before the schedule fired, audited by the statements the layer ships,
on Athena (moto's answers seeded through its results queue), published as CloudWatch metrics.

moto runs no SQL: that the statements compute the score is tests/integration/test_scorecard*.py's on DuckDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infra.packaging import audit_statements
from omnijourney.analytics.athena import AthenaEngine, QueryFailed, get_lake_settings, statement_for_day
from omnijourney_tools.local import REGION, LambdaContext, load_handler
from tests.integration.conftest import fake_aws

WORKGROUP = "omnijourney-test-analytics"
DATABASE = "omnijourney_test"
# What EventBridge sends when the daily rule fires (infra/analytics.py: 02:00 UTC).
SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-03-15T02:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/omnijourney-test-consistency-audit"],
    "detail": {},
}


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Any]:
    """moto's Athena with the workgroup, and the statements the layer build renders, where the function finds them."""
    for metric, statement in audit_statements().items():
        (tmp_path / f"{metric}.sql").write_text(statement, encoding="utf-8")
    environment = {
        "OMNIJOURNEY_ATHENA_WORKGROUP": WORKGROUP,
        "OMNIJOURNEY_LAKE_DATABASE": DATABASE,
        "OMNIJOURNEY_METRICS_DIR": str(tmp_path),
        "POWERTOOLS_SERVICE_NAME": "omnijourney",
        "POWERTOOLS_METRICS_NAMESPACE": "omnijourney",
    }
    get_lake_settings.cache_clear()
    with fake_aws(**environment):
        athena = boto3.client("athena", region_name=REGION)
        athena.create_work_group(Name=WORKGROUP, Configuration={"EnforceWorkGroupConfiguration": True})
        yield athena
    get_lake_settings.cache_clear()


def seed(*results: tuple[list[tuple[str, str]], list[list[str | None]]]) -> None:
    """Athena's answers to the next queries, in order: (columns as name and type, rows), as GetQueryResults gives
    them (text cells, the first row naming the columns)."""
    payload = {
        "region": REGION,
        "results": [
            {
                "rows": [{"Data": [{"VarCharValue": name} for name, _ in columns]}]
                + [{"Data": [{} if cell is None else {"VarCharValue": cell} for cell in row]} for row in rows],
                "column_info": [{"Name": name, "Label": name, "Type": kind} for name, kind in columns],
            }
            for columns, rows in results
        ],
    }
    answer = requests.post("http://motoapi.amazonaws.com/moto-api/static/athena/query-results", json=payload, timeout=5)
    answer.raise_for_status()


def executions(athena: Any) -> list[dict[str, Any]]:
    ids = athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"] for execution in ids]


def published_metrics(printed: str) -> dict[str, list[float]]:
    """Each metric's values as Powertools wrote them (CloudWatch embedded metric format), in namespace omnijourney."""
    found: dict[str, list[float]] = {}
    for line in printed.splitlines():
        if not line.startswith("{") or "_aws" not in (document := json.loads(line)):
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "omnijourney"
            found.update({metric["Name"]: document[metric["Name"]] for metric in directive["Metrics"]})
    return found


SCORE = [("consistency_score", "double")]
VIOLATIONS = [("occurred_at", "timestamp"), ("customer_id", "varchar"), ("rule", "varchar")]


def test_the_audit_publishes_yesterdays_score_and_violations_and_audits_only_that_day(
    lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(
        (SCORE, [["0.75"]]),
        (
            VIOLATIONS,
            [
                ["2026-03-14 22:30:00.000", "cus_1", "in_quiet_hours"],
                ["2026-03-14 23:10:00.000", "cus_2", "after_opt_out"],
                ["2026-03-14 23:40:00.000", "cus_1", "in_quiet_hours"],
            ],
        ),
    )
    handler = load_handler("analytics_audit")

    answer = handler.lambda_handler(SCHEDULED, LambdaContext(function_name="omnijourney-test-analytics-audit"))

    assert answer == {
        "day": "2026-03-14",
        "consistency_score": 0.75,
        "violations": {"after_opt_out": 1, "in_quiet_hours": 2},
    }
    printed = capsys.readouterr().out
    assert published_metrics(printed) == {"ConsistencyScore": [0.75], "ConsistencyViolations": [3]}
    assert "cus_1" not in printed  # counts by rule in the log, never whose
    sent = executions(lake)
    shipped = {path.stem: path.read_text() for path in Path(get_lake_settings().metrics_dir).glob("*.sql")}
    assert sorted(execution["Query"] for execution in sent) == sorted(
        statement_for_day(shipped[metric], date(2026, 3, 14))
        for metric in ("consistency_score", "consistency_violations")
    )
    for execution in sent:
        assert "CAST('2026-03-14 00:00:00' AS TIMESTAMP) AS range_start" in execution["Query"]
        assert "CAST('2026-03-15 00:00:00' AS TIMESTAMP) AS range_end" in execution["Query"]
        assert execution["QueryExecutionContext"]["Database"] == DATABASE
        assert execution["WorkGroup"] == WORKGROUP


def test_a_day_without_violations_scores_one(lake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    seed((SCORE, [["1.0"]]), (VIOLATIONS, []))
    handler = load_handler("analytics_audit")

    answer = handler.lambda_handler(SCHEDULED, LambdaContext(function_name="omnijourney-test-analytics-audit"))

    assert answer["violations"] == {}
    assert published_metrics(capsys.readouterr().out) == {"ConsistencyScore": [1.0], "ConsistencyViolations": [0]}


def test_athena_rows_come_back_as_python_values_with_nulls(lake: Any) -> None:
    seed(
        (
            [("at", "timestamp"), ("amount", "decimal(18,4)"), ("orders", "bigint"), ("channel", "varchar")],
            [["2026-03-14 09:05:00.000", "12.5000", "3", None]],
        )
    )
    engine = AthenaEngine(lake, workgroup=WORKGROUP, database=DATABASE, max_wait_seconds=60)

    [row] = engine.run("SELECT 1")

    assert row["at"].isoformat() == "2026-03-14T09:05:00+00:00"
    assert str(row["amount"]) == "12.5000"
    assert row["orders"] == 3
    assert row["channel"] is None


class StuckAthena:
    """An Athena whose queries end as `state` (moto's always succeed)."""

    def __init__(self, state: str, reason: str = "") -> None:
        self.state = state
        self.reason = reason

    def start_query_execution(self, **_: Any) -> dict[str, str]:
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        return {"QueryExecution": {"Status": {"State": self.state, "StateChangeReason": self.reason}}}


def test_a_failed_query_fails_the_audit_with_athenas_reason() -> None:
    reason = "Query exhausted resources at this scale factor"
    engine = AthenaEngine(StuckAthena("FAILED", reason), workgroup=WORKGROUP, database=DATABASE, max_wait_seconds=60)

    with pytest.raises(QueryFailed, match=reason):
        engine.run("SELECT 1")


def test_a_query_running_past_the_wait_fails_the_audit() -> None:
    engine = AthenaEngine(StuckAthena("RUNNING"), workgroup=WORKGROUP, database=DATABASE, max_wait_seconds=0)

    with pytest.raises(QueryFailed, match="still running"):
        engine.run("SELECT 1")
