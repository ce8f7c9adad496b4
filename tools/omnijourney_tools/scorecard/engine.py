"""The engines a scorecard runs on: anything that runs one SQL statement in its dialect and gives rows.

DuckDB over a lake folder is the default (`DuckDbLake`); Athena, reading the same facts through the Glue table
`facts`, is another implementation of the same protocol, its statements rendered for Trino.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import duckdb


class Engine(Protocol):
    """Runs one statement; `dialect` is the sqlglot dialect it is written in (duckdb, trino)."""

    dialect: str

    def run(self, sql: str) -> list[dict[str, Any]]: ...


class LakeNotFound(Exception):
    """The folder holds no facts: nothing to compute a scorecard from."""


class DuckDbLake:
    """DuckDB in memory over `DIR/facts/kind=<kind>/day=<day>/*.parquet`, as the view `facts`.

    `occurred_at` is read as a UTC instant whichever way a file stored it, so `AT TIME ZONE` gives local times.
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
            "CREATE VIEW facts AS SELECT * REPLACE (CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at) FROM lake_files"
        )

    def run(self, sql: str) -> list[dict[str, Any]]:
        # Through Arrow: instants come back as aware datetimes without pytz.
        rows: list[dict[str, Any]] = self.connection.sql(sql).to_arrow_table().to_pylist()
        return rows
