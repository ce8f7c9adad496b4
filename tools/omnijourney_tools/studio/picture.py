"""A journey's diagram for its page: the SVG of `omnijourney journeys diagram`, each step a link to its lines; and
the same drawing, smaller, inline in the journeys page.

The SVG draws one `<rect>` per node of `diagram.flow`, in the flow's order, each followed by its text lines; each step's
rect and text are wrapped in a link here. Should the drawing change shape, the picture is shown without links rather
than with wrong ones.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from omnijourney.journeys.language import Journey
from omnijourney_tools.journeys import diagram

NODE_START = "<rect "
SVG_END = "</svg>"
SVG_START = "<svg "
DRAWN_SIZE = re.compile(r'width="(\d+)" height="(\d+)"')
ARROWHEAD = "arrow"  # the drawing's one id: its arrowhead marker
THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT = 320, 180


def thumbnail_svg(journey: Journey, name: str) -> str:
    """The diagram shrunk to fit 320 by 180 (never enlarged), as an image named "diagram of <name>" with an arrowhead id
    of its own: the journeys page shows every journey's at once."""
    drawn = diagram.svg(journey)
    size = DRAWN_SIZE.search(drawn)
    if size is not None:
        width, height = int(size[1]), int(size[2])
        scale = min(1.0, THUMBNAIL_WIDTH / width, THUMBNAIL_HEIGHT / height)
        shrunk = f'width="{width * scale:.0f}" height="{height * scale:.0f}"'
        drawn = drawn[: size.start()] + shrunk + drawn[size.end() :]
    own_id = f"{ARROWHEAD}-{name}"
    drawn = drawn.replace(f'id="{ARROWHEAD}"', f"id={quoteattr(own_id)}").replace(
        f"url(#{ARROWHEAD})", f"url(#{own_id})"
    )
    named = f'{SVG_START}role="img" aria-label={quoteattr(f"diagram of {name}")} '
    return drawn.replace(SVG_START, named, 1)


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
