"""The validator of `omnijourney journeys validate`, run on one journey file or on the text being typed for it.

Each journey is checked alone, as `omnijourney journeys validate journeys/<name>.yaml` checks it (with the templates it
uses and the config/ files every journey reads), so the problems of one never hide the status of another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml

from omnijourney.journeys.catalog import TEMPLATES_FOLDER, load_journeys
from omnijourney.journeys.language import Journey
from omnijourney.platform.configfile import ConfigError, Problem, Severity


@dataclass(frozen=True)
class Checked:
    """A journey file as the validator sees it: `journey` is None while it has errors."""

    file: str  # as problems name it: journeys/<name>.yaml
    journey: Journey | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(1 for problem in self.problems if problem.severity is Severity.error)

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    @property
    def status(self) -> str:
        """valid, 2 warnings, 1 error, or 3 errors and 1 warning."""
        counted = [
            f"{count} {word}{'' if count == 1 else 's'}"
            for count, word in ((self.errors, "error"), (self.warnings, "warning"))
            if count
        ]
        return " and ".join(counted) or "valid"


def journey_names(folder: Path) -> list[str]:
    """The journeys of a folder, by file name."""
    return sorted(path.stem for path in folder.glob("*.yaml"))


def check_file(folder: Path, name: str) -> Checked:
    """journeys/<name>.yaml as saved."""
    return _checked(folder / f"{name}.yaml", shown=folder.name)


def check_text(folder: Path, name: str, text: str) -> Checked:
    """`text` as if it were journeys/<name>.yaml, written nowhere in the working tree: checked as a copy beside the
    folder's templates, and its problems named as the file's."""
    with TemporaryDirectory(prefix="omnijourney-studio-") as scratch:
        copy = Path(scratch)
        (copy / TEMPLATES_FOLDER).symlink_to((folder / TEMPLATES_FOLDER).resolve(), target_is_directory=True)
        file = copy / f"{name}.yaml"
        file.write_text(text, encoding="utf-8")
        return _checked(file, shown=folder.name)


def _checked(file: Path, *, shown: str) -> Checked:
    try:
        loaded = load_journeys([file])
    except ConfigError as error:
        return Checked(f"{shown}/{file.name}", None, _named(error.problems, file.parent, shown))
    journey = next(iter(loaded.journeys.values()))
    return Checked(f"{shown}/{file.name}", journey, _named(list(loaded.warnings), file.parent, shown))


def _named(problems: list[Problem], folder: Path, shown: str) -> tuple[Problem, ...]:
    """Problems of files in `folder` (the journey and its templates) named from `shown`, as the CLI names them."""
    prefix = str(folder)
    return tuple(
        replace(problem, path=shown + problem.path[len(prefix) :]) if problem.path.startswith(prefix) else problem
        for problem in problems
    )


def step_lines(text: str) -> dict[str, tuple[int, int]]:
    """The first and last line of each step, by id, in a journey's text (comments and blank lines after a step are
    not its own); none while the text is not YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    steps = _value_of(root, "steps")
    if not isinstance(steps, yaml.SequenceNode):
        return {}
    lines = text.splitlines()
    found: dict[str, tuple[int, int]] = {}
    for item in steps.value:
        step_id = _value_of(item, "id")
        if not isinstance(step_id, yaml.ScalarNode):
            continue
        first, end = item.start_mark.line + 1, item.end_mark
        # A block item ends where the next token begins (the next item's dash, or the end of the text); a flow item
        # ends on its own line, after its closing brace.
        ends_before = end.line >= len(lines) or not lines[end.line][: end.column].strip()
        last = end.line if ends_before else end.line + 1
        while last > first and (not lines[last - 1].strip() or lines[last - 1].lstrip().startswith("#")):
            last -= 1
        found[str(step_id.value)] = (first, last)
    return found


def _value_of(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for found, value in node.value if found.value == key), None)
