"""A picture of a journey for the marketer who wrote it: Mermaid text, or a standalone SVG.

Drawn from the journey's steps (what the marketer wrote), not from the compiled states, whose
routing and retry states would only be noise; the flow comes from the same `edges` the
validator checks, so the picture and the checks never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

from omnijourney.journeys.language import Comparison, Condition, EventMatch, Journey, Step
from omnijourney.journeys.validation import END, edges

Shape = Literal["start", "step", "decision", "end", "goal"]
ENTRY, GOAL_NODE = "entry", "goal"
UNITS = (("days", "d"), ("hours", "h"), ("minutes", "min"))


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    shape: Shape


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Flow:
    nodes: list[Node]
    arrows: list[Arrow]


def comparison_text(field: str, comparison: Comparison) -> str:
    parts = []
    if comparison.equals is not None:
        parts.append(f"{field} = {comparison.equals}")
    if comparison.one_of is not None:
        parts.append(f"{field} in {', '.join(map(str, comparison.one_of))}")
    if comparison.at_least is not None:
        parts.append(f"{field} ≥ {comparison.at_least:g}")
    if comparison.at_most is not None:
        parts.append(f"{field} ≤ {comparison.at_most:g}")
    if comparison.contains is not None:
        parts.append(f"{field} contains {comparison.contains}")
    return " and ".join(parts)


def where_text(where: dict[str, Comparison] | None) -> str:
    return " and ".join(comparison_text(field, comparison) for field, comparison in (where or {}).items())


def condition_text(condition: Condition) -> str:
    parts = []
    if condition.lifecycle_stage:
        parts.append(f"stage {' or '.join(condition.lifecycle_stage)}")
    if condition.reachable_by:
        category = f" for {condition.reachable_for}" if condition.reachable_for else ""
        parts.append(f"reachable by {', '.join(condition.reachable_by)}{category}")
    if condition.segment:
        parts.append(f"in segment {condition.segment}")
    if condition.segments and condition.segments.any_of:
        parts.append(f"in segment {' or '.join(condition.segments.any_of)}")
    if condition.segments and condition.segments.none_of:
        parts.append(f"in no segment of {', '.join(condition.segments.none_of)}")
    parts.extend(f"{channel} consent {status}" for channel, status in (condition.consent or {}).items())
    if condition.orders:
        parts.append(comparison_text("orders", condition.orders))
    if condition.open_ticket is not None:
        parts.append("open ticket" if condition.open_ticket else "no open ticket")
    if condition.tags:
        parts.append(f"tagged {', '.join(condition.tags)}")
    parts.extend(comparison_text(name, comparison) for name, comparison in (condition.traits or {}).items())
    if condition.event:
        parts.append(where_text(condition.event))
    return " and ".join(parts)


def event_text(match: EventMatch | Journey) -> str:
    """`event[ name][ where …]` of an entry, goal or awaited event."""
    if isinstance(match, Journey):
        entry = match.entry
        if entry.stage:
            return f"becomes {entry.stage}"
        if entry.schedule:
            return f"on schedule {entry.schedule}"
        if entry.segment:
            return f"enters segment {entry.segment}"
        event, name, where = entry.event, entry.name, entry.where
    else:
        event, name, where = match.event, match.name, match.where
    text = (event.value if event else "") + (f" “{name}”" if name else "")
    return text + (f" where {where_text(where)}" if where else "")


def duration_text(days: int, hours: int, minutes: int) -> str:
    values = {"days": days, "hours": hours, "minutes": minutes}
    return " ".join(f"{values[unit]}{short}" for unit, short in UNITS if values[unit])


def step_label(step: Step) -> str:
    if step.wait is not None:
        wait = step.wait
        later = duration_text(wait.days, wait.hours, wait.minutes)
        if wait.until is None:
            what = f"wait {later}"
        else:
            what = f"wait until {wait.until} local" + (f", {later} later" if later else "")
            what += " (at once if past, that day)" if wait.same_day else ""
    elif step.wait_for is not None:
        awaited = EventMatch(event=step.wait_for.event, name=step.wait_for.name, where=step.wait_for.where)
        what = f"wait for {event_text(awaited)}"
    elif step.send is not None:
        send = step.send
        what = f"{send.channel}: {send.template} ({send.category})"
    elif step.update_profile is not None:
        update = step.update_profile
        changes = [f"+{tag}" for tag in update.add_tags] + [f"-{tag}" for tag in update.remove_tags]
        what = "update profile " + " ".join(changes + [f"{key}={value}" for key, value in update.traits.items()])
    elif step.exit is not None:
        return f"exit: {step.exit}"
    else:
        what = step.action
    return f"{step.id}: {what}"


def arrow_labels(step: Step) -> list[str]:
    """The label of each of `edges(step)`, in the same order."""
    if step.exit is not None:
        return []
    if step.branch is not None:
        return [condition_text(case.when) for case in step.branch.cases] + ["otherwise"]
    if step.split is not None:
        return [f"{group.percent}%" for group in step.split if group.goto]
    if step.wait_for is not None:
        timeout = step.wait_for.timeout
        return ["event", f"no event in {duration_text(timeout.days, timeout.hours, timeout.minutes)}"]
    return [""]


def flow(journey: Journey) -> Flow:
    entry_label = f"entry: {event_text(journey)}"
    if journey.audience:
        entry_label += f" · audience: {condition_text(journey.audience)}"
    nodes = [Node(ENTRY, entry_label, "start")]
    arrows = [Arrow(ENTRY, journey.steps[0].id)]
    ends: dict[str, Node] = {}
    steps = journey.steps
    for index, step in enumerate(steps):
        shape: Shape = "decision" if step.branch or step.split else ("end" if step.exit is not None else "step")
        nodes.append(Node(step.id, step_label(step), shape))
        following = steps[index + 1].id if index + 1 < len(steps) else None
        for edge, label in zip(edges(step, index, following), arrow_labels(step), strict=True):
            if edge.target == END:
                ends.setdefault(END, Node("completed", "journey completed", "end"))
            arrows.append(Arrow(step.id, "completed" if edge.target == END else edge.target, label))
        for group in step.split or []:
            if group.holdout:
                ends.setdefault("holdout", Node("holdout", "holdout: recorded, sent nothing", "end"))
                arrows.append(Arrow(step.id, "holdout", f"{group.percent}% holdout"))
    nodes.extend(ends.values())
    if journey.goal:
        goal = journey.goal
        text = event_text(EventMatch(event=goal.event, where=goal.where)) if goal.event else ""
        if goal.includes:
            text += f" with the {goal.includes.replace('_', ' ')}'s items"
        if goal.when:
            text += (" or " if text else "") + condition_text(goal.when)
        nodes.append(Node(GOAL_NODE, f"goal (ends the journey anywhere): {text}", "goal"))
    for n, exit in enumerate(journey.exit_when):
        text = (
            f"exits on {event_text(exit)}"
            if isinstance(exit, EventMatch)
            else f"exits when {condition_text(exit.when)}"
        )
        nodes.append(Node(f"exit_when_{n}", text, "goal"))
    return Flow(nodes, arrows)


MERMAID_SHAPES = {
    "start": ('(["', '"])'),
    "step": ('["', '"]'),
    "decision": ('{"', '"}'),
    "end": ('(["', '"])'),
    "goal": ('>"', '"]'),
}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(journey: Journey) -> str:
    """A Mermaid flowchart (GitHub renders it in Markdown)."""
    picture = flow(journey)
    lines = ["flowchart TD"]
    for node in picture.nodes:
        opening, closing = MERMAID_SHAPES[node.shape]
        lines.append(f"    {node.id}{opening}{_mermaid_text(node.label)}{closing}")
    for arrow in picture.arrows:
        label = f' -- "{_mermaid_text(arrow.label)}" -->' if arrow.label else " -->"
        lines.append(f"    {arrow.source}{label} {arrow.target}")
    lines.append("    classDef outcome fill:#eef7ee,stroke:#3a7d44")
    outcomes = [node.id for node in picture.nodes if node.shape in ("end", "goal")]
    if outcomes:
        lines.append(f"    class {','.join(outcomes)} outcome")
    return "\n".join(lines) + "\n"


# SVG geometry, in pixels: a monospace-ish estimate is enough to size boxes for labels.
CHAR_WIDTH, LINE_HEIGHT, PADDING, MAX_CHARS = 7.2, 16, 10, 46
FILLS = {"start": "#e8f0fe", "step": "#ffffff", "decision": "#fff4e0", "end": "#eef7ee", "goal": "#eef7ee"}


def wrap(text: str, width: int = MAX_CHARS) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current]


class _Box:
    """The view grandalf lays out: a node's size, then its centre."""

    def __init__(self, lines: list[str]) -> None:
        self.w = max(len(line) for line in lines) * CHAR_WIDTH + 2 * PADDING
        self.h = len(lines) * LINE_HEIGHT + 2 * PADDING
        self.xy = (0.0, 0.0)


class _Route:
    """The view grandalf routes an arrow through (it bends around the layers it crosses)."""

    def __init__(self, source: _Box, target: _Box, label: str) -> None:
        self.source, self.target, self.label = source, target, label
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = points

    def clipped(self) -> list[tuple[float, float]]:
        """The path from border to border: grandalf draws it from centre to centre, under the boxes."""
        if len(self.points) < 2:
            return self.points
        start = _border(self.source, self.points[1])
        end = _border(self.target, self.points[-2])
        return [start, *self.points[1:-1], end]


def _border(box: _Box, toward: tuple[float, float]) -> tuple[float, float]:
    (cx, cy), (dx, dy) = box.xy, (toward[0] - box.xy[0], toward[1] - box.xy[1])
    scales = [half / abs(delta) for half, delta in ((box.w / 2, dx), (box.h / 2, dy)) if delta]
    scale = min([1.0, *scales])
    return cx + scale * dx, cy + scale * dy


def svg(journey: Journey) -> str:
    """The journey as a standalone SVG picture, laid out top-down with grandalf (pure Python)."""
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    picture = flow(journey)
    texts = {node.id: wrap(node.label) for node in picture.nodes}
    boxes = {node.id: _Box(texts[node.id]) for node in picture.nodes}
    vertices = {node_id: Vertex(node_id) for node_id in boxes}
    for node_id, vertex in vertices.items():
        vertex.view = boxes[node_id]
    routes: list[_Route] = []
    links = []
    for arrow in picture.arrows:
        link = Edge(vertices[arrow.source], vertices[arrow.target])
        link.view = _Route(boxes[arrow.source], boxes[arrow.target], arrow.label)
        routes.append(link.view)
        links.append(link)
    # Unconnected parts (the goal, exit events) are laid out side by side, left to right.
    offset = 0.0
    for component in Graph(list(vertices.values()), links).C:
        layout = SugiyamaLayout(component)
        layout.init_all()
        layout.draw()
        placed = [vertex.view for vertex in component.sV]
        shift = offset - min(box.xy[0] - box.w / 2 for box in placed)
        for box in placed:
            box.xy = (box.xy[0] + shift, box.xy[1])
        for link in component.sE:
            link.view.points = [(x + shift, y) for x, y in link.view.points]
        offset = max(box.xy[0] + box.w / 2 for box in placed) + 40
    shapes = {node.id: node.shape for node in picture.nodes}
    return _render(boxes, shapes, routes, texts)


def _render(boxes: dict[str, _Box], shapes: dict[str, Shape], routes: list[_Route], texts: dict[str, list[str]]) -> str:
    margin = 20.0
    top = min(box.xy[1] - box.h / 2 for box in boxes.values())
    width = max(box.xy[0] + box.w / 2 for box in boxes.values()) + 2 * margin
    height = max(box.xy[1] + box.h / 2 for box in boxes.values()) - top + 2 * margin

    def at(x: float, y: float) -> tuple[float, float]:
        return x + margin, y - top + margin

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for route in routes:
        points = [at(x, y) for x, y in route.clipped()]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#555" marker-end="url(#arrow)"/>')
        if route.label and len(points) >= 2:
            (x1, y1), (x2, y2) = points[0], points[1]
            parts.append(
                f'<text x="{(x1 + x2) / 2 + 4:.1f}" y="{(y1 + y2) / 2:.1f}" fill="#333">{escape(route.label)}</text>'
            )
    for node_id, box in boxes.items():
        x, y = at(box.xy[0] - box.w / 2, box.xy[1] - box.h / 2)
        radius = box.h / 2 if shapes[node_id] in ("start", "end") else 4
        dash = ' stroke-dasharray="4 3"' if shapes[node_id] == "goal" else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="{radius:.1f}" '
            f'fill="{FILLS[shapes[node_id]]}" stroke="#333"{dash}/>'
        )
        for n, line in enumerate(texts[node_id]):
            baseline = y + PADDING + (n + 0.8) * LINE_HEIGHT
            parts.append(f'<text x="{x + PADDING:.1f}" y="{baseline:.1f}">{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
