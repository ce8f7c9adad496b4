"""The shared scorecard: every metric of metrics/*.sql run on one engine, as one typed result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from omnijourney.journeys.language import Holdout
from omnijourney_tools.scorecard.definitions import Definitions, Scope
from omnijourney_tools.scorecard.engine import Engine
from omnijourney_tools.scorecard.lift import HoldoutLift, holdout_lift


@dataclass(frozen=True)
class Violation:
    at: str
    customer_id: str
    rule: str


@dataclass(frozen=True)
class GroupValue:
    """Lifetime value of a group of customers: those who first came from one channel, or those in one lifecycle
    stage."""

    customers: int
    revenue: float
    average: float


@dataclass(frozen=True)
class DealsApart:
    """Won deals that are not revenue, being in another currency than the shop's: how many, and their amounts by
    currency."""

    count: int
    by_currency: dict[str, float]


@dataclass(frozen=True)
class Clv:
    average: float
    by_customer: dict[str, float]
    by_first_channel: dict[str, GroupValue]
    by_stage: dict[str, GroupValue]
    deals_apart: DealsApart


@dataclass(frozen=True)
class StepFunnel:
    step: str
    sent: int
    deferred: int
    held: dict[str, int]


@dataclass(frozen=True)
class JourneyFunnel:
    """How a journey's runs went: entered by group, each step's messages, how runs ended (`goal` among them)."""

    entered: dict[str, int]
    steps: list[StepFunnel]
    ended: dict[str, int]


@dataclass(frozen=True)
class Scorecard:
    customers: int
    events: int
    orders: int
    revenue: float
    clv: Clv
    cross_channel_conversion_rate: float
    consistency_score: float
    consistency_violations: list[Violation]
    messages_sent: int
    messages_suppressed: int
    suppressed_by_reason: dict[str, int]
    state_transitions: int
    state_transitions_cost_usd: float
    funnel: dict[str, JourneyFunnel]
    holdout_lift: dict[str, HoldoutLift]

    def as_json(self) -> dict[str, Any]:
        """The figures under the names of the simulate report's `metrics`, plus the cost, the funnel and each
        holdout's lift."""
        return asdict(self)


def scorecard(
    engine: Engine,
    scope: Scope,
    *,
    step_order: dict[str, list[str]] | None = None,
    holdouts: Mapping[str, Holdout] | None = None,
    definitions: Definitions | None = None,
    progress: Callable[[str], None] | None = None,
) -> Scorecard:
    """Every metric on `engine`, for `scope`; each journey's funnel lists its steps in `step_order` (journey → step
    ids as the journey defines them), steps it does not know after them; the lift of each journey of `holdouts`
    (journey → its holdout) that customers entered, counted by `scope.conversions`. `progress` is told each metric's
    name as its statement starts (each metric of `definitions` runs once)."""
    sql = definitions or Definitions()

    def rows(metric: str) -> list[dict[str, Any]]:
        if progress is not None:
            progress(metric)
        return engine.run(sql.statement(metric, scope, engine.dialect))

    def value(metric: str, column: str | None = None) -> Any:
        (row,) = rows(metric)
        return row[column or metric]

    transitions = rows("state_transitions")[0]
    return Scorecard(
        customers=value("customers"),
        events=value("events"),
        orders=value("orders"),
        revenue=_money(value("revenue")),
        clv=Clv(
            average=float(value("clv", "average")),
            by_customer={row["customer_id"]: _money(row["revenue"]) for row in rows("clv_by_customer")},
            by_first_channel={
                row["first_channel"] or "unknown": GroupValue(
                    row["customers"], _money(row["revenue"]), float(row["average"])
                )
                for row in rows("clv_by_first_channel")
            },
            by_stage={
                row["stage"]: GroupValue(row["customers"], _money(row["revenue"]), float(row["average"]))
                for row in rows("clv_by_stage")
            },
            deals_apart=_deals_apart(rows("clv_deals_apart")),
        ),
        cross_channel_conversion_rate=float(value("cross_channel_conversion_rate")),
        consistency_score=float(value("consistency_score")),
        consistency_violations=[
            Violation(row["occurred_at"].isoformat(), row["customer_id"], row["rule"])
            for row in rows("consistency_violations")
        ],
        messages_sent=value("messages_sent"),
        messages_suppressed=int(value("messages_suppressed")),
        suppressed_by_reason={row["reason"]: row["messages"] for row in rows("suppressed_by_reason")},
        state_transitions=int(transitions["state_transitions"]),
        state_transitions_cost_usd=_money(transitions["cost_usd"]),
        funnel=_funnels(rows("funnel"), step_order or {}),
        holdout_lift=_lifts(rows("holdout_lift"), scope, holdouts or {}),
    )


def _lifts(rows: list[dict[str, Any]], scope: Scope, holdouts: Mapping[str, Holdout]) -> dict[str, HoldoutLift]:
    groups = {(row["journey"], row["run_group"]): (row["customers"], row["converted"]) for row in rows}
    return {
        journey: holdout_lift(
            scope.conversions[journey],
            holdout,
            groups.get((journey, "treatment"), (0, 0)),
            groups.get((journey, "holdout"), (0, 0)),
        )
        for journey, holdout in sorted(holdouts.items())
        if journey in scope.conversions and any(name == journey for name, _ in groups)
    }


def _deals_apart(rows: list[dict[str, Any]]) -> DealsApart:
    return DealsApart(
        count=sum(row["deals"] for row in rows),
        by_currency={row["currency"]: _money(row["amount"]) for row in rows},
    )


def _money(amount: Decimal | float | int | None) -> float:
    return float(amount or 0)


def _funnels(rows: list[dict[str, Any]], step_order: dict[str, list[str]]) -> dict[str, JourneyFunnel]:
    journeys = sorted({row["journey"] for row in rows})
    return {
        journey: _funnel([row for row in rows if row["journey"] == journey], step_order.get(journey, []))
        for journey in journeys
    }


def _funnel(rows: list[dict[str, Any]], order: list[str]) -> JourneyFunnel:
    def totals(stage: str, step: str | None = None) -> dict[str, int]:
        # A run in no split group is treated like the treatment group.
        return {
            row["detail"] or "treatment": row["total"] for row in rows if row["stage"] == stage and row["step"] == step
        }

    steps = sorted(
        {row["step"] for row in rows if row["step"] is not None},
        key=lambda step: (order.index(step) if step in order else len(order), step),
    )
    return JourneyFunnel(
        entered=totals("entered"),
        steps=[
            StepFunnel(
                step,
                sent=sum(totals("sent", step).values()),
                deferred=sum(totals("deferred", step).values()),
                held=dict(sorted(totals("held", step).items())),
            )
            for step in steps
        ],
        ended=dict(sorted(totals("ended").items())),
    )
