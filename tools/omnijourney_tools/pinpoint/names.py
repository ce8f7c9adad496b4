"""Names that carry over: Pinpoint's free-text names as omnijourney's lower_snake_case ones, and the segments an
import wrote, found again by their Pinpoint id (a journey's start condition and splits name segments by id)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from omnijourney.journeys.segments import Segment

SEGMENT_ORIGIN = "Pinpoint segment "
"""How an imported segment's description starts: `Pinpoint segment <Id>: <what it holds>`."""


def snake_name(text: str, *, fallback: str, max_length: int = 60) -> str:
    """`Welcome Series (EU)` → `welcome_series_eu`; a name with no letter or digit left → `fallback`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    # A name without spaces is an identifier: its capitals start words (AbandonedCart); in words, iPhone is one.
    if not re.search(r"\s", ascii_text):
        ascii_text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_text)
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    name = "_".join(words)[:max_length].strip("_")
    if not name:
        return fallback
    return name if name[0].isalpha() else f"{fallback}_{name}"[:max_length]


def segment_description(segment_id: str, holds: str) -> str:
    return f"{SEGMENT_ORIGIN}{segment_id}: {holds}"


def imported_segments(segments: Mapping[str, Segment]) -> dict[str, str]:
    """Pinpoint segment id → the name of the segment an import made of it."""
    found = {}
    for name, segment in segments.items():
        if segment.description.startswith(SEGMENT_ORIGIN):
            segment_id = segment.description[len(SEGMENT_ORIGIN) :].split(":", 1)[0]
            found[segment_id] = name
    return found
