"""YAML files validated by pydantic models, with every problem reported at its file:line:column.

Marketers and engineers edit these files; an error must point at the line to fix, and all of a
file's problems are reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
Location = tuple[int | str, ...]


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


def _positions(node: yaml.Node, location: Location, into: dict[Location, tuple[int, int]]) -> None:
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
        self.path = str(path)
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise ConfigError([Problem(self.path, line, column, "", f"not valid YAML: {error.problem}")]) from error
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
            problems = [self.problem(_location(detail["loc"]), detail["msg"]) for detail in error.errors()]
            raise ConfigError(sorted(problems, key=lambda p: (p.line, p.column))) from error


def _location(loc: tuple[int | str, ...]) -> Location:
    # Pydantic names union and function-validator branches in loc; they are not keys in the file.
    return tuple(
        part for part in loc if isinstance(part, int) or not str(part).startswith(("function-", "tagged-union"))
    )


def load(path: Path, model: type[Model]) -> Model:
    return YamlDocument.read(path).validate(model)
