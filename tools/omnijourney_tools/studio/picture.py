"""A journey's diagram for its page: the SVG of `omnijourney journeys diagram`, each step a link to its lines.

The SVG draws one `<rect>` per node of `diagram.flow`, in the flow's order, each followed by its text lines; each step's
rect and text are wrapped in a link here. Should the drawing change shape, the picture is shown without links rather
than with wrong ones.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from omnijourney.journeys.language import Journey
from omnijourney_tools.journeys import diagram

NODE_START = "<rect "
SVG_END = "</svg>"


def linked_svg(journey: Journey) -> str:
    """The diagram, each step an `<a href="#step-<id>" data-step="<id>">` named by its label."""
    drawn = diagram.svg(journey).splitlines()
    nodes = diagram.flow(journey).nodes
    starts = [number for number, line in enumerate(drawn) if line.startswith(NODE_START)]
    if len(starts) != len(nodes) or SVG_END not in drawn:
        return "\n".join(drawn) + "\n"
    steps = {step.id for step in journey.steps}
    bounds = [*starts, drawn.index(SVG_END)]
    linked = drawn[: starts[0]]
    for node, start, end in zip(nodes, starts, bounds[1:], strict=True):
        shapes = drawn[start:end]
        if node.id in steps:
            linked += [
                f'<a href="#step-{node.id}" data-step={quoteattr(node.id)} aria-label={quoteattr(node.label)}>',
                *shapes,
                "</a>",
            ]
        else:
            linked += shapes
    return "\n".join([*linked, *drawn[bounds[-1] :]]) + "\n"
