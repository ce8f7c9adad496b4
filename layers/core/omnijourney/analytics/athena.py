"""The facts on Athena, as the daily consistency audit reads them: boto3 only (docs/deploy.md, "The analytics lake").

The audit's statements are the scorecard's own SQL (metrics/*.sql), composed and rendered for Athena when the layer
is built (infra/packaging.py): composing needs sqlglot, which the layer does not ship. They are rendered for the
range of `MARKER_DAY`, whose two timestamp literals each audit replaces by its own day's: Athena takes `?`
parameters only in WHERE clauses, and the range is a value of the `settings` relation. Only dates go in, never text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from omnijourney.platform.errors import Unavailable

# The statements the layer ships, each named by its metric (metrics/<name>.sql).
AUDIT_METRICS = ("consistency_score", "consistency_violations")
# The one-day range the shipped statements are rendered with; its literals stand where each audit's range goes.
MARKER_DAY = date(1, 1, 1)
# Between two polls of a running query: short at first (most audits take seconds), then no busier than this.
MAX_POLL_SECONDS = 5.0


class LakeSettings(BaseSettings):
    """Where the audit queries: the Athena workgroup, the Glue database holding `facts`, the rendered statements."""

    model_config = SettingsConfigDict(env_prefix="OMNIJOURNEY_", frozen=True)

    athena_workgroup: str = "omnijourney-local-analytics"
    lake_database: str = "omnijourney_local"
    metrics_dir: str = "/opt/omnijourney/metrics"
    # A query still running after this long fails the audit (the workgroup's bytes-scanned cutoff bounds its cost);
    # both of its queries fit in the function's 15 minutes.
    athena_max_wait_seconds: int = 420


@dataclass(frozen=True)
class LakeNames:
    """Where a deployed stage's facts are queried: the Glue database holding `facts` and the Athena workgroup."""

    database: str
    workgroup: str


def lake_names(stage: str) -> LakeNames:
    """The names infra/analytics.py gives the lake of the stack deployed as `stage` (one definition, for the stack and
    for `omnijourney metrics --athena --stage S`)."""
    prefix = f"omnijourney-{stage}"
    return LakeNames(database=prefix.replace("-", "_"), workgroup=f"{prefix}-analytics")  # Glue names take no hyphen


@lru_cache(maxsize=1)
def get_lake_settings() -> LakeSettings:
    return LakeSettings()


class QueryFailed(Unavailable):
    """Athena did not answer: the query failed, was cancelled or ran past the wait. The scheduled audit fails and
    its function's error alarm fires; the next day's audit runs again."""

    title = "Analytics query failed"


class AthenaEngine:
    """Runs one statement in a workgroup, waits for it (bounded) and gives its rows as dicts of Python values,
    like the scorecard's other engines (`dialect` is the one sqlglot renders for Athena)."""

    dialect = "trino"

    def __init__(
        self,
        athena: Any,
        *,
        workgroup: str,
        database: str,
        max_wait_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.athena = athena
        self.workgroup = workgroup
        self.database = database
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep

    def run(self, sql: str) -> list[dict[str, Any]]:
        execution_id: str = self.athena.start_query_execution(
            QueryString=sql, QueryExecutionContext={"Database": self.database}, WorkGroup=self.workgroup
        )["QueryExecutionId"]
        self._wait(execution_id)
        return list(self._rows(execution_id))

    def _wait(self, execution_id: str) -> None:
        deadline = time.monotonic() + self.max_wait_seconds
        pause = 0.5
        while True:
            status = self.athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                return
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason", "no reason given")
                raise QueryFailed(f"Athena query {execution_id} {state.lower()}: {reason}")
            if time.monotonic() >= deadline:
                raise QueryFailed(f"Athena query {execution_id} still {state.lower()} after {self.max_wait_seconds} s")
            self.sleep(pause)
            pause = min(pause * 2, MAX_POLL_SECONDS)

    def _rows(self, execution_id: str) -> Iterator[dict[str, Any]]:
        pages = self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)
        first = True
        for page in pages:
            result = page["ResultSet"]
            columns = [(column["Name"], column["Type"]) for column in result["ResultSetMetadata"]["ColumnInfo"]]
            rows = result["Rows"]
            if first:  # a SELECT's first row names its columns
                rows, first = rows[1:], False
            for row in rows:
                cells = [cell.get("VarCharValue") for cell in row["Data"]]
                yield {name: _value(kind, cell) for (name, kind), cell in zip(columns, cells, strict=True)}


def _value(kind: str, text: str | None) -> Any:
    """A result cell (Athena answers text) as the Python value of its column's type; NULL as None."""
    if text is None:
        return None
    if kind in ("tinyint", "smallint", "integer", "bigint"):
        return int(text)
    if kind in ("double", "float", "real"):
        return float(text)
    if kind.startswith("decimal"):
        return Decimal(text)
    if kind == "boolean":
        return text == "true"
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return text


def range_literals(first_day: date, last_day: date) -> tuple[str, str]:
    """The timestamp literals the scorecard's `settings` gives a range of days (UTC, `last_day` included)."""
    return f"'{first_day.isoformat()} 00:00:00'", f"'{(last_day + timedelta(days=1)).isoformat()} 00:00:00'"


def statement_for_day(rendered: str, day: date) -> str:
    """A shipped statement, rendered for `MARKER_DAY`, for `day` instead."""
    for marker, literal in zip(range_literals(MARKER_DAY, MARKER_DAY), range_literals(day, day), strict=True):
        if rendered.count(marker) != 1:
            raise ValueError(f"the statement holds {marker} {rendered.count(marker)} times, not once")
        rendered = rendered.replace(marker, literal)
    return rendered


@dataclass(frozen=True)
class ConsistencyAudit:
    """One day's audit: the consistency score of the messages sent that day and the rules they broke."""

    day: date
    score: float
    violations_by_rule: dict[str, int]

    @property
    def violations(self) -> int:
        return sum(self.violations_by_rule.values())


def consistency_audit(day: date, engine: AthenaEngine | None = None) -> ConsistencyAudit:
    """The consistency score and violations of the messages sent on `day` (UTC), audited against every fact."""
    settings = get_lake_settings()
    if engine is None:
        from omnijourney.platform.aws import client  # lazy: boto3 loads on the first audit, not at cold start

        engine = AthenaEngine(
            client("athena"),
            workgroup=settings.athena_workgroup,
            database=settings.lake_database,
            max_wait_seconds=settings.athena_max_wait_seconds,
        )
    folder = Path(settings.metrics_dir)

    def rows(metric: str) -> list[dict[str, Any]]:
        return engine.run(statement_for_day((folder / f"{metric}.sql").read_text(encoding="utf-8"), day))

    (score_row,) = rows("consistency_score")  # 1.0 when nothing was sent
    by_rule: dict[str, int] = {}
    for violation in rows("consistency_violations"):
        by_rule[violation["rule"]] = by_rule.get(violation["rule"], 0) + 1
    return ConsistencyAudit(day, float(score_row["consistency_score"]), dict(sorted(by_rule.items())))
