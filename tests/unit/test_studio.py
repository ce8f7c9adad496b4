"""The studio's pieces that need no server: where steps are in a journey's text, the diagram's step links, the journeys
page's thumbnails, status in words, and an access log without query strings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omnijourney.journeys.catalog import journeys
from omnijourney.platform.configfile import Problem, Severity
from omnijourney_tools.studio.checking import Checked, step_lines
from omnijourney_tools.studio.picture import THUMBNAIL_HEIGHT, THUMBNAIL_WIDTH, linked_svg, thumbnail_svg

ROOT = Path(__file__).resolve().parents[2]


def test_each_step_spans_its_own_lines_and_not_the_comment_before_the_next() -> None:
    text = (ROOT / "journeys" / "abandoned_cart.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()

    spans = step_lines(text)

    assert [lines[first - 1].strip() for first, _ in spans.values()] == [f"- id: {step}" for step in spans]
    assert lines[spans["cart_email"][1] - 1] == "      without_offer: abandoned_cart_email"
    assert spans["done"] == (len(lines) - 1, len(lines))


def test_steps_written_in_flow_style_and_text_that_is_not_yaml() -> None:
    assert step_lines("steps:\n  - {id: hello, wait: {hours: 1}}\n  - {id: bye,\n     exit: done}\n") == {
        "hello": (2, 2),
        "bye": (3, 4),
    }
    assert step_lines("steps: [") == {}


def test_every_step_of_every_shipped_journey_is_a_link_in_its_picture() -> None:
    for journey in journeys().journeys.values():
        picture = linked_svg(journey)
        linked = re.findall(r'<a href="#step-(\w+)" data-step="(\w+)"', picture)
        assert [step for step, _ in linked] == [step.id for step in journey.steps], journey.journey
        assert picture.count("<a ") == picture.count("</a>") == len(journey.steps)


def test_every_shipped_journeys_thumbnail_fits_its_place_names_itself_and_has_its_own_arrowhead() -> None:
    for name, journey in journeys().journeys.items():
        picture = thumbnail_svg(journey, name)
        size = re.search(r'width="(\d+)" height="(\d+)" viewBox="0 0 (\d+) (\d+)"', picture)
        assert size, picture[:300]
        width, height, drawn_width, drawn_height = map(int, size.groups())
        assert width <= THUMBNAIL_WIDTH
        assert height <= THUMBNAIL_HEIGHT
        assert abs(width / height - drawn_width / drawn_height) < 0.05, "shrunk, not stretched"
        assert picture.startswith(f'<svg role="img" aria-label="diagram of {name}" ')
        assert re.findall(r'id="([^"]+)"', picture) == [f"arrow-{name}"]
        assert "url(#arrow)" not in picture


@pytest.mark.parametrize(
    ("severities", "status"),
    [
        ([], "valid"),
        ([Severity.warning], "1 warning"),
        ([Severity.warning, Severity.warning], "2 warnings"),
        ([Severity.error, Severity.error, Severity.warning], "2 errors and 1 warning"),
    ],
)
def test_status_in_words(severities: list[Severity], status: str) -> None:
    problems = tuple(Problem("journeys/x.yaml", 1, 1, "", "…", severity) for severity in severities)
    assert Checked("journeys/x.yaml", None, problems).status == status
