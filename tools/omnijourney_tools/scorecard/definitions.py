"""The metrics' SQL (metrics/*.sql), composed into statements an engine runs.

`facts.sql` defines the relations every metric builds on (its CTEs); every other file is one metric, a query whose
name is the file's, which another metric may use by that name (the consistency score counts the rows of
`consistency_violations`). A statement is a metric's query after `settings`, `quiet_channels` and `conversions`
(built here from validated values, never from pasted text), the shared relations and the metrics it names,
rendered in the engine's dialect. The files are written in the SQL DuckDB and Athena (Trino) both accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import sqlglot
from sqlglot import exp

from omnijourney.app import config
from omnijourney.journeys.language import ConversionRule
from omnijourney.profiles.lifecycle import LifecycleConfig

METRICS_DIR = Path(__file__).resolve().parents[3] / "metrics"
SHARED = "facts"
# The dialect the files are written in; sqlglot renders them for each engine.
WRITTEN_IN = "duckdb"


@dataclass(frozen=True)
class Scope:
    """What a scorecard covers: the days from `first_day` to `last_day` (UTC, both included; open where None),
    one journey's figures or all, the quiet hours the audit checks (config/consistency.yaml), what each journey
    counts as converting (journey → its rule, from journeys/) and how long after entering its holdout split comes
    (journey → `Journey.time_to_holdout_split`; none: at entry), the lifecycle stages customers are put in
    (config/lifecycle.yaml as loaded, unless given), and the shop's currency, the one won deals count as revenue in
    (config/shop.yaml as loaded, unless given)."""

    quiet_start: str
    quiet_end: str
    quiet_channels: tuple[str, ...]
    default_timezone: str
    first_day: date | None = None
    last_day: date | None = None
    journey: str | None = None
    conversions: Mapping[str, ConversionRule] = field(default_factory=dict)
    splits_after: Mapping[str, timedelta] = field(default_factory=dict)
    lifecycle: LifecycleConfig = field(default_factory=config.lifecycle)
    currency: str = field(default_factory=lambda: config.shop().currency)
    crm_currency: str = field(default_factory=lambda: config.shop().deal_currency)


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
    """`settings` (one row), `quiet_channels` and `conversions`, from the scope's validated values as typed
    literals."""
    end = scope.last_day + timedelta(days=1) if scope.last_day else None
    row = exp.select(
        _timestamp(scope.first_day).as_("range_start"),
        _timestamp(end).as_("range_end"),
        _text(scope.journey).as_("journey"),
        exp.Literal.number(_minute_of_day(scope.quiet_start)).as_("quiet_start_minute"),
        exp.Literal.number(_minute_of_day(scope.quiet_end)).as_("quiet_end_minute"),
        exp.Literal.string(scope.default_timezone).as_("default_timezone"),
        _text(scope.currency).as_("shop_currency"),
        _text(scope.crm_currency).as_("crm_currency"),
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
        exp.CTE(
            this=_conversions(scope.conversions, scope.splits_after),
            alias=exp.TableAlias(this=exp.to_identifier("conversions")),
        ),
        exp.CTE(this=_stages(scope.lifecycle), alias=exp.TableAlias(this=exp.to_identifier("lifecycle_stages"))),
    ]


def _stages(lifecycle: LifecycleConfig) -> exp.Query:
    """One row per lifecycle stage, in the file's order (`stage_order`), each condition typed; NULL where a stage does
    not set it."""
    rows = [
        exp.select(
            _integer(order).as_("stage_order"),
            _text(stage.name).as_("stage"),
            _integer(stage.when.min_orders).as_("min_orders"),
            _integer(stage.when.max_orders).as_("max_orders"),
            _integer(stage.when.days_since_last_order_at_least).as_("days_since_last_order_at_least"),
            exp.cast(exp.null() if stage.when.known is None else exp.Boolean(this=stage.when.known), "BOOLEAN").as_(
                "known"
            ),
        )
        for order, stage in enumerate(lifecycle.stages)
    ]
    query: exp.Query = rows[0]  # a lifecycle has a stage at least (its catch-all)
    for row in rows[1:]:
        query = exp.union(query, row, distinct=False)
    return query


def _integer(value: int | None) -> exp.Expression:
    return exp.cast(exp.Literal.number(value) if value is not None else exp.null(), "INTEGER")


def _conversions(rules: Mapping[str, ConversionRule], splits_after: Mapping[str, timedelta]) -> exp.Query:
    """One row per journey and channel its conversion may happen on (channel NULL: any), with the seconds from entering
    to the journey's holdout split."""
    rows = [
        _conversion_row(
            journey,
            rule.event.value,
            channel,
            rule.within_days,
            int(splits_after.get(journey, timedelta()).total_seconds()),
        )
        for journey, rule in sorted(rules.items())
        for channel in rule.channels or (None,)
    ]
    if not rows:
        return _conversion_row(None, None, None, None, None).where(exp.false())
    query: exp.Query = rows[0]
    for row in rows[1:]:
        query = exp.union(query, row, distinct=False)
    return query


def _conversion_row(
    journey: str | None, event: str | None, channel: str | None, days: int | None, split_after: int | None
) -> exp.Select:
    return exp.select(
        _text(journey).as_("journey"),
        _text(event).as_("event_type"),
        _text(channel).as_("channel"),
        _integer(days).as_("within_days"),
        _integer(split_after).as_("split_after_seconds"),
    )


def _text(value: str | None) -> exp.Expression:
    return exp.cast(exp.Literal.string(value) if value is not None else exp.null(), "VARCHAR")


def _timestamp(day: date | None) -> exp.Expression:
    return exp.cast(exp.Literal.string(f"{day.isoformat()} 00:00:00") if day else exp.null(), "TIMESTAMP")


def _minute_of_day(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
