"""The Simulate page's charts: Vega-Lite specifications made with Altair, rendered to SVG on the server by vl-convert,
so the page needs no chart script and nothing from a CDN. They are drawn once, when a run finishes, and put in the page
as SVG elements: an `<img>` of SVG costs the browser a document of its own per chart (for a 200-customer result, as
much as its HTML), the same SVG inline a few elements more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import vl_convert
from markupsafe import Markup

from omnijourney_tools.studio.simulation_result import Funnel, Result

WIDTH = 520
BAR_HEIGHT = 22
# Long reasons in words: the legend wraps nothing, so it shortens them (the table beside each chart has them whole).
LABEL_LIMIT = 420
# One colour per outcome in every funnel (AA contrast on white); holds take the warm ones, in the order they come.
OUTCOME_COLOURS = {"entered": "#1a56b8", "reached": "#8593a8", "sent": "#1e6b34", "reached the goal": "#6a3fa0"}
HOLD_COLOURS = ["#a8201a", "#b25a00", "#a3195b", "#7a4d00", "#c2410c"]


@dataclass(frozen=True)
class Chart:
    """An SVG chart, and what it shows in words (the page names the chart's image with it)."""

    svg: Markup
    description: str


@dataclass(frozen=True)
class Charts:
    funnels: dict[str, Chart]
    held_by_reason: Chart | None


def charts_of(result: Result) -> Charts:
    held = result.held_by_reason
    return Charts(
        funnels={funnel.journey: funnel_chart(funnel) for funnel in result.funnels},
        held_by_reason=_held_chart(held) if held else None,
    )


def funnel_chart(funnel: Funnel) -> Chart:
    rows = [{"stage": "entered", "outcome": "entered", "runs": funnel.entered}]
    for step in funnel.steps:
        rows.append({"stage": step.step, "outcome": "sent", "runs": step.sent})
        rows.extend({"stage": step.step, "outcome": why, "runs": runs} for why, runs in step.held.items())
        passed = step.reached - step.sent - sum(step.held.values())
        rows.append({"stage": step.step, "outcome": "reached", "runs": max(passed, 0)})
    rows.append({"stage": "goal", "outcome": "reached the goal", "runs": funnel.goal})
    stages = ["entered", *(step.step for step in funnel.steps), "goal"]
    chart = (
        alt.Chart(alt.InlineData(values=[row for row in rows if row["runs"]]))
        .mark_bar()
        .encode(
            x=alt.X("sum(runs):Q", title="runs", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("stage:N", sort=stages, title=None),
            color=alt.Color(
                "outcome:N",
                title=None,
                scale=_outcome_scale(funnel),
                legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=LABEL_LIMIT),
            ),
        )
        .properties(width=WIDTH, height=alt.Step(BAR_HEIGHT), title=funnel.journey)
    )
    steps = ", ".join(f"{step.step} {step.reached}" for step in funnel.steps)
    return Chart(
        svg_image(chart.to_dict()),
        f"funnel of {funnel.journey}: {funnel.entered} entered, {steps}, {funnel.goal} reached the goal",
    )


def _outcome_scale(funnel: Funnel) -> alt.Scale:
    holds = list(dict.fromkeys(why for step in funnel.steps for why in step.held))
    domain = [*OUTCOME_COLOURS, *holds]
    colours = [*OUTCOME_COLOURS.values(), *(HOLD_COLOURS[index % len(HOLD_COLOURS)] for index in range(len(holds)))]
    return alt.Scale(domain=domain, range=colours)


def _held_chart(held: dict[str, int]) -> Chart:
    chart = (
        alt.Chart(alt.InlineData(values=[{"reason": why, "messages": count} for why, count in held.items()]))
        .mark_bar()
        .encode(
            x=alt.X("messages:Q", title="messages", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("reason:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
        )
        .properties(width=WIDTH, height=alt.Step(BAR_HEIGHT), title="messages not sent, or sent later, by reason")
    )
    return Chart(
        svg_image(chart.to_dict()),
        "messages held by reason: " + "; ".join(f"{why}: {count}" for why, count in held.items()),
    )


def svg_image(specification: dict[str, Any]) -> Markup:
    # Markup as drawn: vl-convert writes the texts it draws (journey and step names, reasons) escaped.
    return Markup(vl_convert.vegalite_to_svg(specification))  # noqa: S704 - SVG that vl-convert wrote, texts escaped
