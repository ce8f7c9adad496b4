"""The metrics' SQL (metrics/*.sql), composed into statements an engine runs.

`facts.sql` defines the relations every metric builds on (its CTEs); every other file is one metric, a query whose
name is the file's, which another metric may use by that name (the consistency score counts the rows of
`consistency_violations`). A statement is a metric's query after `settings` and `quiet_channels` (built here from
validated values, never from pasted text), the shared relations and the metrics it names, rendered in the engine's
dialect. The files are written in the SQL DuckDB and Athena (Trino) both accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import sqlglot
from sqlglot import exp

METRICS_DIR = Path(__file__).resolve().parents[3] / "metrics"
SHARED = "facts"
# The dialect the files are written in; sqlglot renders them for each engine.
WRITTEN_IN = "duckdb"


@dataclass(frozen=True)
class Scope:
    """What a scorecard covers: the days from `first_day` to `last_day` (UTC, both included; open where None),
    one journey's figures or all, and the quiet hours the audit checks (config/consistency.yaml)."""

    quiet_start: str
    quiet_end: str
    quiet_channels: tuple[str, ...]
    default_timezone: str
    first_day: date | None = None
    last_day: date | None = None
    journey: str | None = None


@dataclass(frozen=True)
class Definitions:
    """The SQL files of one folder, parsed once."""

    folder: Path = METRICS_DIR

    @cached_property
    def shared(self) -> list[exp.CTE]:
        return list(_parsed(self.folder / f"{SHARED}.sql").args["with_"].expressions)

    @cached_property
    def metrics(self) -> dict[str, exp.Query]:
        return {path.stem: _parsed(path) for path in sorted(self.folder.glob("*.sql")) if path.stem != SHARED}

    def statement(self, metric: str, scope: Scope, dialect: str) -> str:
        """The metric's query with everything it builds on, as one statement in `dialect`."""
        query = self.metrics[metric].copy()
        own = list(query.args["with_"].expressions) if query.args.get("with_") else []
        used = [
            exp.CTE(this=self.metrics[name].copy(), alias=exp.TableAlias(this=exp.to_identifier(name)))
            for name in self._used_by(metric)
        ]
        query.set("with_", exp.With(expressions=[*_settings(scope), *self.shared, *used, *own]))
        return query.sql(dialect=dialect)

    def _used_by(self, metric: str) -> list[str]:
        """The metrics `metric` names, each after those it names in turn."""
        found: list[str] = []
        for table in self.metrics[metric].find_all(exp.Table):
            if table.name in self.metrics and table.name != metric:
                found.extend(name for name in [*self._used_by(table.name), table.name] if name not in found)
        return found


def _parsed(path: Path) -> exp.Query:
    query = sqlglot.parse_one(path.read_text(encoding="utf-8"), read=WRITTEN_IN)
    if not isinstance(query, exp.Query):
        raise TypeError(f"{path} is not a query")
    return query


def _settings(scope: Scope) -> list[exp.CTE]:
    """`settings` (one row) and `quiet_channels`, from the scope's validated values as typed literals."""
    end = scope.last_day + timedelta(days=1) if scope.last_day else None
    row = exp.select(
        _timestamp(scope.first_day).as_("range_start"),
        _timestamp(end).as_("range_end"),
        exp.cast(exp.Literal.string(scope.journey) if scope.journey else exp.null(), "VARCHAR").as_("journey"),
        exp.Literal.number(_minute_of_day(scope.quiet_start)).as_("quiet_start_minute"),
        exp.Literal.number(_minute_of_day(scope.quiet_end)).as_("quiet_end_minute"),
        exp.Literal.string(scope.default_timezone).as_("default_timezone"),
    )
    channels = (
        exp.select("channel").from_(
            exp.values([(channel,) for channel in scope.quiet_channels], alias="quiet", columns=["channel"])
        )
        if scope.quiet_channels
        else exp.select(exp.cast(exp.null(), "VARCHAR").as_("channel")).where(exp.false())
    )
    return [
        exp.CTE(this=row, alias=exp.TableAlias(this=exp.to_identifier("settings"))),
        exp.CTE(this=channels, alias=exp.TableAlias(this=exp.to_identifier("quiet_channels"))),
    ]


def _timestamp(day: date | None) -> exp.Expression:
    return exp.cast(exp.Literal.string(f"{day.isoformat()} 00:00:00") if day else exp.null(), "TIMESTAMP")


def _minute_of_day(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
