"""YAML files validated by pydantic models, with every problem reported at its file:line:column.

Marketers and engineers edit these files; an error must point at the line to fix, and all of a
file's problems are reported at once.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from omnijourney.platform.settings import get_settings

if TYPE_CHECKING:
    import yaml

Model = TypeVar("Model", bound=BaseModel)


class ConfigModel(BaseModel):
    """A model of a file people edit: a key it does not know is an error, and what it loads is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_timezone(name: str) -> str:
    if name not in available_timezones():
        raise ValueError(f"{name!r} is not an IANA timezone such as Europe/Berlin")
    return name


TimezoneName = Annotated[str, AfterValidator(_known_timezone)]


Location = tuple[int | str, ...]
# PyYAML's words for the usual slips, and what a person editing the file should check.
YAML_HINTS = {
    "mapping values are not allowed here": " (check this line's indentation, or quote a value that has ': ' in it)",
    "found character '\\t' that cannot start any token": " (indent with spaces, not tabs)",
}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    column: int
    where: str
    message: str

    def __str__(self) -> str:
        prefix = f"{self.path}:{self.line}:{self.column}"
        return f"{prefix}: {self.where}: {self.message}" if self.where else f"{prefix}: {self.message}"


class ConfigError(Exception):
    """One or more problems in configuration files; str() lists them one a line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the problems (a simulation worker sends it to its parent); notes travel in __dict__.
        return type(self), (self.problems,), self.__dict__


def _positions(node: yaml.Node, location: Location, into: dict[Location, tuple[int, int]]) -> None:
    import yaml  # lazy: PyYAML is a twentieth of the ingest function's cold start, and ingest reads no file then

    into.setdefault(location, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*location, key_node.value)
            # A key's own position is where an "unknown key" error belongs.
            into[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _positions(value_node, child, into)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, (*location, index), into)


def describe(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class YamlDocument:
    """A parsed YAML file that remembers where each key and item stands."""

    def __init__(self, path: Path, text: str) -> None:
        import yaml  # lazy: see _positions

        self.path = str(path)
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            message = f"not valid YAML: {error.problem}{YAML_HINTS.get(str(error.problem), '')}"
            raise ConfigError([Problem(self.path, line, column, "", message)]) from error
        self.positions: dict[Location, tuple[int, int]] = {}
        if node is not None:
            _positions(node, (), self.positions)

    @classmethod
    def read(cls, path: Path) -> YamlDocument:
        try:
            return cls(path, path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError([Problem(str(path), 1, 1, "", f"cannot be read: {error.strerror}")]) from error

    def problem(self, location: Location, message: str) -> Problem:
        """A problem at `location`, pinned to the nearest enclosing key that exists in the file."""
        for end in range(len(location), -1, -1):
            if location[:end] in self.positions:
                line, column = self.positions[location[:end]]
                return Problem(self.path, line, column, describe(location), message)
        return Problem(self.path, 1, 1, describe(location), message)

    def validate(self, model: type[Model]) -> Model:
        try:
            return model.model_validate(self.data if self.data is not None else {})
        except ValidationError as error:
            details = [(detail, _location(detail["loc"])) for detail in error.errors()]
            problems = [
                self.problem(location, explain(detail, model, location))
                for detail, location in details
                if not _misspelled(detail, location, details)
            ]
            raise ConfigError(sorted(set(problems), key=lambda p: (p.line, p.column, p.where))) from error


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "literal", "none", "is-instance"}


def _location(loc: tuple[int | str, ...]) -> Location:
    """The path in the file: pydantic also names union members and validator branches, which are not keys."""
    kept: list[int | str] = []
    for part in loc:
        text = str(part)
        tag = text.startswith(("function-", "tagged-union")) or "[" in text or text in _TYPE_TAGS
        if isinstance(part, int) or not tag:
            kept.append(part)
    return tuple(kept)


def _misspelled(detail: Any, location: Location, details: list[tuple[Any, Location]]) -> bool:
    """A missing key that an unknown key beside it misspells: the unknown key's "did you mean" says it all."""
    if detail["type"] != "missing" or not location:
        return False
    unknown = [
        str(other[-1]) for found, other in details if found["type"] == "extra_forbidden" and other[:-1] == location[:-1]
    ]
    return bool(difflib.get_close_matches(str(location[-1]), unknown, n=1, cutoff=0.6))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def explain(detail: Any, model: type[BaseModel], location: Location) -> str:
    """Pydantic's message, made specific: which keys are allowed, which values, what was probably meant."""
    kind = detail["type"]
    if kind == "extra_forbidden" and location:
        allowed = allowed_keys(model, location[:-1])
        key = str(location[-1])
        listing = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {key!r}{did_you_mean(key, allowed)}{listing}"
    if kind == "missing":
        return f"{location[-1]!r} is required" if location else "required"
    if kind == "string_pattern_mismatch":
        return f"{detail.get('input')!r} is not valid here; expected {_expected(model, location)}"
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", detail.get("ctx", {}).get("expected", ""))
        given = detail.get("input")
        hint = did_you_mean(str(given), choices) if isinstance(given, str) else ""
        return f"{given!r} is not allowed{hint}; choose one of {', '.join(choices)}"
    return str(detail["msg"]).removeprefix("Value error, ")


def allowed_keys(model: type[BaseModel], location: Location) -> list[str]:
    """The keys a mapping at `location` may have, found by following the model's field types."""
    current: Any = model
    for part in location:
        current = _element(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _expected(model: type[BaseModel], location: Location) -> str:
    """What a constrained string should look like: its type's description, else the field's, else the pattern."""
    current: Any = model
    field_description = None
    for part in location:
        owner = _unwrap(current)
        current = _element(current, part)
        if (
            isinstance(part, str)
            and isinstance(owner, type)
            and issubclass(owner, BaseModel)
            and part in owner.model_fields
        ):
            field_description = owner.model_fields[part].description
    for argument in (
        typing.get_args(current) if typing.get_origin(current) in (typing.Union, types.UnionType) else [current]
    ):
        if typing.get_origin(argument) is typing.Annotated:
            for metadata in typing.get_args(argument)[1:]:
                if getattr(metadata, "description", None):
                    return str(metadata.description)
    return field_description or "a different format"


def _unwrap(annotation: Any) -> Any:
    """The model or container inside Optional[...], X | None and Annotated[...]."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        arguments = typing.get_args(annotation)
        models = [arg for arg in arguments if isinstance(arg, type) and issubclass(arg, BaseModel)]
        containers = [arg for arg in arguments if typing.get_origin(arg) in (list, tuple, dict)]
        return models[0] if models else (containers[0] if containers else annotation)
    return annotation


def _element(current: Any, part: int | str) -> Any:
    current = _unwrap(current)
    origin = typing.get_origin(current)
    if isinstance(part, int) and origin in (list, tuple):
        return typing.get_args(current)[0]
    if isinstance(part, str) and origin is dict:
        return typing.get_args(current)[1]
    if isinstance(part, str) and isinstance(current, type) and issubclass(current, BaseModel):
        field = current.model_fields.get(part)
        return field.annotation if field else None
    return None


def load(path: Path, model: type[Model]) -> Model:
    return YamlDocument.read(path).validate(model)


# In the repository, config/ and journeys/ sit at the root; the Lambda layer sets OMNIJOURNEY_CONFIG_DIR
# and OMNIJOURNEY_JOURNEYS_DIR.
_REPOSITORY_CONFIG = Path(__file__).resolve().parents[4] / "config"
_REPOSITORY_JOURNEYS = Path(__file__).resolve().parents[4] / "journeys"


def config_dir() -> Path:
    """Where config/*.yaml live: each part of the domain loads its own file from here."""
    configured = get_settings().config_dir
    return Path(configured) if configured else _REPOSITORY_CONFIG


def journeys_dir() -> Path:
    configured = get_settings().journeys_dir
    return Path(configured) if configured else _REPOSITORY_JOURNEYS
