"""The validator of `omnijourney journeys validate`, run on one journey file or on the text being typed for it.

Each journey is checked alone, as `omnijourney journeys validate journeys/<name>.yaml` checks it (with the templates it
uses and the config/ files every journey reads), so the problems of one never hide the status of another. The check of
a file as saved is kept (`SavedJourneys`) until a file it reads changes, with the pictures and previews made from it;
the text being typed is checked afresh every time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml

from omnijourney.journeys.catalog import TEMPLATES_FOLDER, load_journeys
from omnijourney.journeys.language import Journey
from omnijourney.journeys.templates import TemplateCatalog
from omnijourney.platform.configfile import ConfigError, Problem, Severity, config_dir
from omnijourney_tools.studio.picture import linked_svg, thumbnail_svg
from omnijourney_tools.studio.previews import StepPreview, step_previews

# Each file a check reads, by path, with its modification time (ns) and size: any save, anywhere, changes it.
FilesRead = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Checked:
    """A journey file as the validator sees it: `journey` is None while it has errors; `templates` are the ones it was
    checked with (None then too), from which its previews are rendered."""

    file: str  # as problems name it: journeys/<name>.yaml
    journey: Journey | None
    problems: tuple[Problem, ...]
    templates: TemplateCatalog | None = None

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


class Saved:
    """A journey file as saved and its check; its pictures, previews and step lines are made on first use, once."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.text = (folder / f"{name}.yaml").read_text(encoding="utf-8")
        self.checked = check_file(folder, name)

    @cached_property
    def thumbnail(self) -> str | None:
        """The picture on the journeys page."""
        return thumbnail_svg(self.checked.journey, self.name) if self.checked.journey else None

    @cached_property
    def picture(self) -> str | None:
        """The picture on the journey's page, each step a link to its lines."""
        return linked_svg(self.checked.journey) if self.checked.journey else None

    @cached_property
    def previews(self) -> list[StepPreview] | None:
        return previews_of(self.checked)

    @cached_property
    def steps(self) -> dict[str, tuple[int, int]]:
        return step_lines(self.text)


class SavedJourneys:
    """The journeys of a folder as saved, each checked once and kept while every file its check reads (the journey,
    the templates beside it, config/) is unchanged. Two requests at once may both check a journey: the same answer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._kept: dict[str, tuple[FilesRead, Saved]] = {}

    def __getitem__(self, name: str) -> Saved:
        # Read before the check: a save during it leaves the kept check stale, and the next request checks again.
        read = files_read(self.folder, name)
        kept = self._kept.get(name)
        if kept is not None and kept[0] == read:
            return kept[1]
        saved = Saved(self.folder, name)
        self._kept[name] = (read, saved)
        return saved


def files_read(folder: Path, name: str) -> FilesRead:
    """What a check of journeys/<name>.yaml reads, as it is now: a file changed, added or removed changes this."""
    files = [folder / f"{name}.yaml", *sorted((folder / TEMPLATES_FOLDER).glob("*")), *sorted(config_dir().glob("*"))]
    found = []
    for file in files:
        try:
            status = file.stat()
        except FileNotFoundError:
            continue  # removed since it was listed: the check will not read it either
        found.append((str(file), status.st_mtime_ns, status.st_size))
    return tuple(found)


def previews_of(checked: Checked) -> list[StepPreview] | None:
    """Each send step's previews, from the templates the journey was checked with; None while it has errors."""
    if checked.journey is None or checked.templates is None:
        return None
    return step_previews(checked.journey, checked.templates)


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
    return Checked(f"{shown}/{file.name}", journey, _named(list(loaded.warnings), file.parent, shown), loaded.templates)


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
