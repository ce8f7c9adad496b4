"""The block of config/segments.yaml that `import pinpoint segments` writes: delimited by BLOCK_START and BLOCK_END
inside the `segments:` mapping, replaced by each import (the segments of earlier imports kept, those imported again
replaced with their parts), the user's own text around it left as it is, and the whole file checked as journeys will
load it before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from omnijourney.journeys.segments import SegmentsConfig, segment_problems
from omnijourney.platform.configfile import ConfigError, YamlDocument
from omnijourney_tools.pinpoint.exports import ImportRefused

BLOCK_START = "# >>> Imported from Amazon Pinpoint by `omnijourney import pinpoint segments`: replaced by each import"
BLOCK_END = "# <<< end of the segments imported from Amazon Pinpoint"
# How the parts of an imported segment are named: `<segment>_part_<n>`.
PART = "_part_"


@dataclass(frozen=True)
class Block:
    """The imported segments' block in config/segments.yaml: its lines (first, after last) and what it defines."""

    start: int
    end: int
    segments: dict[str, Any]


def imported_block(path: Path, text: str) -> Block | None:
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines) if line.strip() == BLOCK_START]
    ends = [n for n, line in enumerate(lines) if line.strip() == BLOCK_END]
    if not starts and not ends:
        return None
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ImportRefused(
            path,
            f"the block of imported segments is broken: it should start with the line {BLOCK_START!r} and end with "
            f"{BLOCK_END!r}, once each; mend it, or remove both lines and what is between them",
        )
    inner = "\n".join(lines[starts[0] + 1 : ends[0]])
    indent = min((len(line) - len(line.lstrip()) for line in inner.splitlines() if line.strip()), default=0)
    loaded = yaml.safe_load("\n".join(line[indent:] for line in inner.splitlines())) or {}
    return Block(starts[0], ends[0] + 1, loaded if isinstance(loaded, dict) else {})


def edited_block(path: Path, text: str, earlier: Block | None, definitions: dict[str, dict[str, Any]]) -> str:
    """segments.yaml with the block of imported segments holding the earlier imports' segments (but those
    imported again, with their parts) and these."""
    imported_now = {name for name in definitions if PART not in name}
    kept = {
        name: definition
        for name, definition in (earlier.segments if earlier else {}).items()
        if name.split(PART)[0] not in imported_now
    }
    segments = kept | definitions
    if not segments and earlier is None:
        return text
    lines = text.splitlines()
    if earlier is not None:
        before, after = lines[: earlier.start], lines[earlier.end :]
    else:
        before, after = _around_block(lines)
    own = "\n".join([*before, *after])
    _refuse_own_names(path, own, segments)
    indent = _indent(before, after)
    dumped = (
        yaml.safe_dump(segments, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)
        if segments
        else ""
    )
    block = [BLOCK_START, *dumped.splitlines(), BLOCK_END]
    edited = "\n".join([*before, *(f"{' ' * indent}{line}" if line else line for line in block), *after]) + "\n"
    _check(path, edited)
    return edited


SEGMENTS_KEY = re.compile(r"^segments:\s*(\{\s*\})?\s*(#.*)?$")


def _around_block(lines: list[str]) -> tuple[list[str], list[str]]:
    """The lines before and after where the block goes: at the end of the `segments:` mapping (added if missing)."""
    at = next((n for n, line in enumerate(lines) if SEGMENTS_KEY.match(line)), None)
    if at is None:
        return [*lines, *([""] if lines and lines[-1].strip() else []), "segments:"], []
    # `segments: {}` (nothing yet) becomes the mapping the block fills.
    head = [*lines[:at], "segments:" + (f"  #{lines[at].split('#', 1)[1]}" if "#" in lines[at] else "")]
    last = at
    for n in range(at + 1, len(lines)):
        line = lines[n]
        if line.strip() and not line.startswith((" ", "\t", "#")):
            break
        if line.strip() and not line.lstrip().startswith("#"):
            last = n
    body = lines[at + 1 : last + 1]
    separator = [""] if body else []
    return [*head, *body, *separator], lines[last + 1 :]


def _indent(before: list[str], after: list[str]) -> int:
    """The indentation of the segments the user wrote (2 when there are none)."""
    at = next((n for n, line in enumerate(before) if SEGMENTS_KEY.match(line)), None)
    for line in before[at + 1 :] if at is not None else []:
        if line.strip() and not line.lstrip().startswith("#"):
            return len(line) - len(line.lstrip())
    return 2


def _refuse_own_names(path: Path, own: str, segments: dict[str, Any]) -> None:
    try:
        document = yaml.safe_load(own) or {}
    except yaml.YAMLError:
        document = {}
    defined = document.get("segments") if isinstance(document, dict) else None
    clash = sorted(set(defined or {}) & set(segments))
    if clash:
        raise ImportRefused(
            path,
            f"already defines {', '.join(repr(name) for name in clash)} outside the imported block; rename yours or "
            "the Pinpoint segment (its Name)",
        )


def _check(path: Path, text: str) -> None:
    """The edited file loads as journeys will load it, or nothing is written."""
    try:
        document = YamlDocument(path, text)
        problems = segment_problems(document, document.validate(SegmentsConfig))
    except ConfigError as error:
        problems = error.problems
    if problems:
        listed = "\n".join(str(problem) for problem in problems)
        raise ImportRefused(path, f"would not load with the imported segments:\n{listed}")
