"""The engines a scorecard runs on: anything that runs one SQL statement in its dialect and gives rows.

DuckDB over a lake folder is the default (`DuckDbLake`); Athena, reading the same facts through the Glue table
`facts` of a deployed stage (`athena_lake`), is another implementation of the same protocol (the layer's
`AthenaEngine`), its statements rendered for Trino.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import duckdb

from omnijourney.analytics.athena import AthenaEngine, lake_names

# How long one statement may run before the scorecard gives up on it: someone is waiting at a terminal, and the
# workgroup's bytes-scanned cutoff (infra/analytics.py) bounds what a query costs whatever the wait.
ATHENA_MAX_WAIT_SECONDS = 15 * 60


class Engine(Protocol):
    """Runs one statement; `dialect` is the sqlglot dialect it is written in (duckdb, trino)."""

    dialect: str

    def run(self, sql: str) -> list[dict[str, Any]]: ...


class LakeNotFound(Exception):
    """The folder holds no facts: nothing to compute a scorecard from."""


class DuckDbLake:
    """DuckDB in memory over `DIR/facts/kind=<kind>/day=<day>/*.parquet`, as the view `facts`.

    `occurred_at` is read as a UTC instant whichever way a file stored it, so `AT TIME ZONE` gives local times; `day`
    as the text it is in the path (and in the Glue table), not the date DuckDB would make of it.
    """

    dialect = "duckdb"

    def __init__(self, lake: Path) -> None:
        files = sorted(str(path) for path in (lake / "facts").glob("kind=*/day=*/*.parquet"))
        if not files:
            raise LakeNotFound(f"{lake} holds no facts (expected {lake / 'facts'}/kind=<kind>/day=<day>/*.parquet)")
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")
        # The files' paths go in as values, never into a statement's text.
        self.connection.read_parquet(files, hive_partitioning=True, union_by_name=True).create_view("lake_files")
        self.connection.execute(
            "CREATE VIEW facts AS SELECT * REPLACE"
            " (CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at, CAST(day AS VARCHAR) AS day) FROM lake_files"
        )

    def run(self, sql: str) -> list[dict[str, Any]]:
        # Through Arrow: instants come back as aware datetimes without pytz.
        rows: list[dict[str, Any]] = self.connection.sql(sql).to_arrow_table().to_pylist()
        return rows


def athena_lake(stage: str, athena: Any) -> AthenaEngine:
    """Athena over the facts of the stack deployed as `stage`, in its workgroup and Glue database, through `athena`
    (a boto3 Athena client)."""
    names = lake_names(stage)
    return AthenaEngine(
        athena, workgroup=names.workgroup, database=names.database, max_wait_seconds=ATHENA_MAX_WAIT_SECONDS
    )


class ScanReporting:
    """A boto3 Athena client that tells `on_scanned` how many bytes a query has scanned so far each time its state is
    read (`Statistics.DataScannedInBytes`, which Athena gives while the query runs): for progress on a terminal."""

    def __init__(self, athena: Any, on_scanned: Callable[[str, int], None]) -> None:
        self.athena = athena
        self.on_scanned = on_scanned

    def start_query_execution(self, **request: Any) -> Any:
        return self.athena.start_query_execution(**request)

    def get_query_execution(self, **request: Any) -> Any:
        answer = self.athena.get_query_execution(**request)
        scanned = answer["QueryExecution"].get("Statistics", {}).get("DataScannedInBytes")
        if scanned is not None:
            self.on_scanned(request["QueryExecutionId"], int(scanned))
        return answer

    def get_paginator(self, operation: str) -> Any:
        return self.athena.get_paginator(operation)
