"""The scorecard as one self-contained HTML file for a marketer (`omnijourney metrics --html FILE`): every section in
plain words, charts drawn on this machine as inline SVG the way the studio draws its own (Altair, rendered by
vl-convert), styles inline. The file opens offline, from a mail or a shared drive, and asks nothing of a network."""

from __future__ import annotations

import dataclasses
from collections import Counter
from functools import cache
from pathlib import Path

import altair as alt
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

from omnijourney_tools.scorecard.definitions import Scope
from omnijourney_tools.scorecard.lift import HoldoutLift
from omnijourney_tools.scorecard.scorecard import GroupValue, JourneyFunnel, Scorecard

# The holdout sentence of the terminal's scorecard, word for word, and its way of writing points.
from omnijourney_tools.scorecard.words import lift_sentence, points

# The studio's drawing: the same funnel picture and SVG rendering wherever a funnel is shown.
from omnijourney_tools.studio.simulation_charts import BAR_HEIGHT, WIDTH, Chart, funnel_chart, svg_image
from omnijourney_tools.studio.simulation_result import STANDARD_USD_PER_TRANSITION, Funnel, StepCounts

TEMPLATES = Path(__file__).parent / "templates"
BAR_COLOUR = "#1a56b8"  # the studio's "entered" blue: AA contrast on white
INTERVAL_COLOUR = "#1e6b34"  # the studio's "sent" green
# What each rule of the consistency audit (metrics/consistency_violations.sql) means, for a marketer.
RULE_MEANINGS = {
    "named_a_product_already_bought": "a marketing message promoted a product the customer had already bought",
    "after_opt_out": "a marketing message went out on a channel the customer had opted out of",
    "during_open_ticket": "a marketing message went out while the customer had a support ticket open",
    "in_quiet_hours": "a marketing text or push arrived in the customer's quiet hours",
    "sent_twice": "one step of a journey sent its message twice",
    "sent_after_erasure": "a message went to a customer after they asked to be erased",
    "offer_disagreement": "two messages showed one customer different codes for the same product",
    "offer_on_uncovered_product": "a message showed an offer for none of the products it promoted",
}


@dataclasses.dataclass(frozen=True)
class ReportCharts:
    """The report's charts; None where there is nothing to draw."""

    clv_by_stage: Chart | None
    clv_by_first_channel: Chart | None
    funnels: dict[str, Chart]
    holdout_lift: Chart | None


def report_html(card: Scorecard, scope: Scope, source: str) -> str:
    """The report of `card`, computed for `scope` from `source` (the lake folder or the Athena database, in words)."""
    by_rule = Counter(violation.rule for violation in card.consistency_violations)
    return _page().render(
        card=card,
        scope=scope,
        source=source,
        charts=ReportCharts(
            clv_by_stage=_values_chart("lifetime value by lifecycle stage", card.clv.by_stage),
            clv_by_first_channel=_values_chart(
                "lifetime value by the channel customers came from", card.clv.by_first_channel
            ),
            funnels={journey: _funnel(journey, funnel) for journey, funnel in card.funnel.items()},
            holdout_lift=_lift_chart(card.holdout_lift),
        ),
        violations_by_rule=sorted(by_rule.items(), key=lambda item: (-item[1], item[0])),
        rule_meanings=RULE_MEANINGS,
        lift_sentences={journey: lift_sentence(journey, lift) for journey, lift in card.holdout_lift.items()},
        usd_per_1000_transitions=STANDARD_USD_PER_TRANSITION * 1000,
    )


@cache
def _page() -> Template:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
    )
    return environment.get_template("report.html")


def _values_chart(title: str, values: dict[str, GroupValue]) -> Chart | None:
    """Average lifetime value per group, a bar each, in the groups' order."""
    if not values:
        return None
    rows = [{"group": group, "average": value.average} for group, value in values.items()]
    chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar(color=BAR_COLOUR)
        .encode(
            x=alt.X("average:Q", title="average lifetime value per customer"),
            y=alt.Y("group:N", sort=list(values), title=None),
        )
        .properties(width=WIDTH, height=alt.Step(BAR_HEIGHT), title=title)
    )
    figures = "; ".join(
        f"{group}: {value.average:,.2f} on average over {value.customers} {_customers(value.customers)}"
        for group, value in values.items()
    )
    return Chart(svg_image(chart.to_dict()), f"{title}: {figures}")


def _funnel(journey: str, funnel: JourneyFunnel) -> Chart:
    """The studio's funnel picture (entered → each step sent or held by reason → goal), described in the lake's
    figures. A deferred message is counted again when it is finally sent or held, so it is no part of a step's bar."""
    steps = [StepCounts(step.step, step.sent + sum(step.held.values()), step.sent, step.held) for step in funnel.steps]
    entered, goal = sum(funnel.entered.values()), funnel.ended.get("goal", 0)
    drawn = funnel_chart(Funnel(journey, entered, steps, goal, not_entered={}))
    groups = ", ".join(f"{runs} {group}" for group, runs in sorted(funnel.entered.items()))
    groups = f" ({groups})" if groups else ""
    figures = "; ".join(
        f"{step.step}: {step.sent} sent" + "".join(f", {held} held ({reason})" for reason, held in step.held.items())
        for step in funnel.steps
    )
    description = f"funnel of {journey}: {entered} entered{groups}; {figures}; {goal} reached the goal"
    return dataclasses.replace(drawn, description=description)


def _lift_chart(lifts: dict[str, HoldoutLift]) -> Chart | None:
    """Each journey's lift, in percentage points, as a dot on its 95% confidence interval, with zero marked: an
    interval that crosses zero cannot yet tell a gain from chance."""
    measured = [
        (journey, lift.lift, lift.confidence_interval[0], lift.confidence_interval[1])
        for journey, lift in lifts.items()
        if lift.lift is not None and lift.confidence_interval is not None
    ]
    if not measured:
        return None
    # Drawn in points (a lift of 0.08 is 8 points), as the sentences say it.
    data = alt.InlineData(
        values=[
            {"journey": journey, "lift": lift * 100, "low": low * 100, "high": high * 100}
            for journey, lift, low, high in measured
        ]
    )
    journey = alt.Y("journey:N", title=None)
    interval = (
        alt.Chart(data)
        .mark_rule(color=INTERVAL_COLOUR, strokeWidth=3)
        .encode(x=alt.X("low:Q", title="lift in percentage points, with its 95% interval"), x2="high:Q", y=journey)
    )
    estimate = alt.Chart(data).mark_point(color=INTERVAL_COLOUR, filled=True, size=90).encode(x="lift:Q", y=journey)
    zero = (
        alt.Chart(alt.InlineData(values=[{"zero": 0}])).mark_rule(color="#333333", strokeDash=[4, 4]).encode(x="zero:Q")
    )
    chart = alt.layer(interval, estimate, zero).properties(
        width=WIDTH, height=alt.Step(BAR_HEIGHT * 2), title="holdout lift"
    )
    figures = "; ".join(
        f"{journey}: {points(lift)} points, 95% interval {points(low)} to {points(high)}"
        for journey, lift, low, high in measured
    )
    return Chart(svg_image(chart.to_dict()), f"holdout lift: {figures}")


def _customers(count: int) -> str:
    return "customer" if count == 1 else "customers"
