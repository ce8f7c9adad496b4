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
from decimal import Decimal
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, JsonValue, ValidationError
from pydantic.config import JsonDict

if TYPE_CHECKING:
    import yaml

Model = TypeVar("Model", bound=BaseModel)


class ConfigModel(BaseModel):
    """A model of a file people edit: a key it does not know is an error, and what it loads is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # How a message names a value of this model ("a wait"); its correct examples are `with_examples`'.
    noun: ClassVar[str] = ""


def with_examples(*examples: JsonDict) -> ConfigDict:
    """A model's correct examples: a message shows them when a value has the wrong shape (`wait: 4 hours`), and
    editors show them from the JSON Schema. On the model, so renaming it keeps them."""
    return ConfigDict(json_schema_extra={"examples": list[JsonValue](examples)})


def _model_examples(model: type[BaseModel]) -> list[Any]:
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return examples if isinstance(examples, list) else []


def _known_timezone(name: str) -> str:
    if name not in available_timezones():
        raise ValueError(f"{name!r} is not an IANA timezone such as Europe/Berlin")
    return name


TimezoneName = Annotated[str, AfterValidator(_known_timezone)]


Location = tuple[int | str, ...]


class Severity(StrEnum):
    """An error stops the file from loading; a warning names something that deploys but can never happen."""

    error = "error"
    warning = "warning"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    column: int
    where: str
    message: str
    severity: Severity = Severity.error

    def __str__(self) -> str:
        prefix = f"{self.path}:{self.line}:{self.column}"
        if self.severity is Severity.warning:
            prefix += ": warning"
        return f"{prefix}: {self.where}: {self.message}" if self.where else f"{prefix}: {self.message}"


class ConfigError(Exception):
    """One or more problems in configuration files; str() lists them one a line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the problems (a simulation worker sends it to its parent); notes travel in __dict__.
        return type(self), (self.problems,), self.__dict__


def _positions(
    node: yaml.Node, location: Location, into: dict[Location, tuple[int, int]], typed: dict[Location, str]
) -> None:
    import yaml  # lazy: PyYAML is a twentieth of the ingest function's cold start, and ingest reads no file then

    into.setdefault(location, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*location, key_node.value)
            # A key's own position is where an "unknown key" error belongs.
            into[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _positions(value_node, child, into, typed)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, (*location, index), into, typed)
    elif isinstance(node, yaml.ScalarNode) and node.style is None:
        # What was typed, unquoted: YAML reads `21:00` as 1260 and `yes` as true; messages show the text.
        typed[location] = node.value


def describe(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class YamlDocument:
    """A parsed YAML file that remembers where each key and item stands, and what was typed for each value."""

    def __init__(self, path: Path, text: str) -> None:
        import yaml  # lazy: see _positions

        self.path = str(path)
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.MarkedYAMLError as error:
            line, column, message = _yaml_mistake(error, text.splitlines())
            raise ConfigError([Problem(self.path, line, column, "", f"not valid YAML: {message}")]) from error
        self.positions: dict[Location, tuple[int, int]] = {}
        self.typed: dict[Location, str] = {}
        if node is not None:
            _positions(node, (), self.positions, self.typed)

    @classmethod
    def read(cls, path: Path) -> YamlDocument:
        try:
            return cls(path, path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError([Problem(str(path), 1, 1, "", f"cannot be read: {error.strerror}")]) from error

    def problem(self, location: Location, message: str, severity: Severity = Severity.error) -> Problem:
        """A problem at `location`, pinned to the nearest enclosing key that exists in the file."""
        for end in range(len(location), -1, -1):
            if location[:end] in self.positions:
                line, column = self.positions[location[:end]]
                return Problem(self.path, line, column, describe(location), message, severity)
        return Problem(self.path, 1, 1, describe(location), message, severity)

    def validate(self, model: type[Model]) -> Model:
        try:
            return model.model_validate(self.data if self.data is not None else {})
        except ValidationError as error:
            details = _chosen([(detail, _place(model, detail["loc"])) for detail in error.errors()])
            problems = [
                self.problem(location, explain(detail, model, location, self._typed(detail, location), alternatives))
                for detail, location, alternatives in details
                if not _misspelled(detail, location, [(found, at) for found, at, _ in details]) and not _emptied(detail)
            ]
            raise ConfigError(sorted(set(problems), key=lambda p: (p.line, p.column, p.where))) from error

    def _typed(self, detail: Any, location: Location) -> str | None:
        """The text typed for the value in error (not for a mapping's key: pydantic gives that as the input)."""
        return None if detail["loc"][-1:] == ("[key]",) else self.typed.get(location)


# PyYAML's words for the usual slips, in plain words: what is wrong on which line, and how to write it.
_FOUND = re.compile(r"but found '(.*)'$")
_CANNOT_START = re.compile(r"found (?:character|undefined alias) '(.*)'")
_NO_COMMA = re.compile(r"expected ',' or '[]}]', but got")
# What PyYAML's token names stand for, as a person sees them on the line.
_TOKENS = {
    "<scalar>": "text",
    "<tag>": "`!`",
    "<anchor>": "`&`",
    "<alias>": "`*`",
    "<block sequence start>": "a `- ` list item",
    "<block mapping start>": "a key",
    "<document start>": "`---`",
    "<document end>": "`...`",
    "<directive>": "a `%` directive",
    "<stream end>": "the end of the file",
}


@dataclass(frozen=True)
class _Line:
    """A line of YAML as its indentation reads: where it starts (a `- ` item's dash included) and its key."""

    text: str

    @property
    def indent(self) -> int:
        return len(self.text) - len(self.text.lstrip(" "))

    @property
    def key(self) -> str:
        return self.text.strip(" -").partition(":")[0]

    @property
    def key_column(self) -> int:
        return len(self.text) - len(self.text.lstrip(" -"))

    @property
    def value(self) -> str:
        return self.text.strip(" -").partition(":")[2].strip()

    @property
    def is_key(self) -> bool:
        return ":" in self.text

    @property
    def is_item(self) -> bool:
        return self.text.lstrip().startswith("- ")


def _lines_above(lines: list[str], number: int) -> list[_Line]:
    """The lines above line `number` that hold something (no blank lines, no comments), nearest first."""
    return [_Line(text) for text in reversed(lines[:number]) if text.strip() and not text.lstrip().startswith("#")]


def _spaces(count: int) -> str:
    return "no spaces" if count == 0 else f"{count} space{'s' if count != 1 else ''}"


def _line_up(lines: list[str], number: int) -> str:
    """Which key the line `number` belongs beside: the nearest key above it that starts no deeper."""
    line = _Line(lines[number])
    sibling = next(
        (above for above in _lines_above(lines, number) if above.is_key and above.indent <= line.indent), None
    )
    if sibling is None:
        return f"indent `{line.key}:` with {_spaces(0)}"
    return f"indent `{line.key}:` like `{sibling.key}:` above ({_spaces(sibling.key_column)})"


def _among_items(lines: list[str], number: int, column: int) -> str:
    """A key in line with the `- ` items of a list (at `column`): another item, or a key the list cannot have."""
    line = _Line(lines[number])
    above = _lines_above(lines, number)
    last_item = next((n for n, item in enumerate(above) if item.is_item and item.indent == column), len(above))
    if line.key in {item.key for item in above[: last_item + 1] if item.is_key}:
        return f"this line does not line up with the ones above it; start another item with `- {line.key}:`"
    parent = next((item.key for item in above[last_item:] if item.is_key and item.indent < column), None)
    under = f" under `{parent}:`" if parent else ""
    return (
        f"`{line.key}:` lines up with the `- ` items{under}, and a value cannot be both a list and keys; "
        f"put the `- ` items under a key of their own beside `{line.key}:`"
    )


def _after_quote(text: str, column: int) -> str | None:
    """The line's value fixed when text follows its closing quote (`exit: "ok"!`), else None."""
    line = _Line(text)
    quoted = text[:column].rstrip()
    value = line.value
    if not value or value[0] not in "\"'" or not quoted.endswith(value[0]):
        return None
    quote = value[0]
    inside = quoted[quoted.index(quote, line.key_column + len(line.key)) + 1 : -1]
    gap = text[len(quoted) : column]
    return f"{line.key}: {quote}{inside}{gap}{text[column:].rstrip()}{quote}"


def _yaml_mistake(error: yaml.MarkedYAMLError, lines: list[str]) -> tuple[int, int, str]:
    """(line, column, message) of a YAML syntax error, at the line to fix."""
    problem, context = str(error.problem or ""), str(error.context or "")
    mark, opened = error.problem_mark, error.context_mark
    number = mark.line if mark else 0
    text = lines[number] if number < len(lines) else ""
    line = _Line(text)
    key, value = line.key, line.value
    above = next(iter(_lines_above(lines, number)), _Line(""))
    at_line = (number + 1, line.indent + 1)
    found = _FOUND.search(problem)
    unexpected = found.group(1) if found else None
    if re.match(r"\s*-[^\s-]", text) and unexpected in ("?", "<block mapping start>", "-"):
        return (*at_line, f"put a space after the dash: `- {text.strip()[1:]}`")
    if problem == "mapping values are not allowed here" and mark and ": " in text[: mark.column].strip(" -"):
        return number + 1, mark.column + 1, f'a value with ": " in it needs quotes: {key}: "{value}"'
    if problem == "mapping values are not allowed here":
        return (*at_line, f"this line is indented more than the one above it; {_line_up(lines, number)}")
    if unexpected == "<block sequence start>" and mark:
        item = next((item for item in _lines_above(lines, number) if item.is_item and item.indent < line.indent), None)
        fix = f"line it up with `{item.text.strip()}`" if item else "line it up with the `- ` items above it"
        return number + 1, mark.column + 1, f"this list item is indented more than the one above it; {fix}"
    if unexpected == "?" and opened and context == "while parsing a block collection" and line.indent == opened.column:
        return (*at_line, _among_items(lines, number, opened.column))
    if unexpected == "?" and key == above.key:
        return (*at_line, f"this line does not line up with the ones above it; start another item with `- {key}:`")
    if unexpected in ("<block mapping start>", "?"):
        return (*at_line, f"this line does not line up with the ones above it; {_line_up(lines, number)}")
    if unexpected == "-" and mark:
        return (
            number + 1,
            mark.column + 1,
            "a `- ` list item cannot stand among keys; put the list under a key of its own, e.g. tags: [vip]",
        )
    if unexpected in ("<scalar>", "<tag>") and mark and (fixed := _after_quote(text, mark.column)):
        return number + 1, mark.column + 1, f"text after the closing quote; put the whole value in the quotes: {fixed}"
    if opened and mark and _NO_COMMA.match(problem) and mark.line == opened.line:
        # Still on the bracket's line: two entries with no comma between them, not a bracket left open.
        before = re.search(r"(\S+)\s+(\S+)\s*$", text[: mark.column])
        if before:
            start = before.start(2)
            fixed = f"{text[:start].rstrip()}, {text[start:]}".strip(" -")
            missing = f"between `{before.group(1)}` and `{before.group(2)}{text[mark.column : mark.column + 1]}`"
            return number + 1, start + 1, f"a comma is missing {missing}: {fixed}"
    if opened and context in ("while parsing a flow mapping", "while parsing a flow sequence"):
        bracket, closing = ("{", "}") if "mapping" in context else ("[", "]")
        start_text = lines[opened.line].strip() if opened.line < len(lines) else bracket
        return (
            opened.line + 1,
            opened.column + 1,
            f"this `{bracket}` is never closed; end it with `{closing}`: {start_text}{closing}",
        )
    if opened and context == "while scanning a quoted scalar":
        return (
            opened.line + 1,
            opened.column + 1,
            "this quoted text is never closed; end it with the quote mark it starts with",
        )
    if problem.startswith("found character '\\t'"):
        return (*at_line, "indent with spaces, not tabs")
    cannot_start = _CANNOT_START.search(problem)
    if cannot_start and mark:
        first = text[mark.column] if mark.column < len(text) else cannot_start.group(1)
        return (
            number + 1,
            mark.column + 1,
            f'a value cannot start with {first}; put it in quotes: {key}: "{value}"',
        )
    if unexpected is not None and mark:
        what = _TOKENS.get(unexpected, f"`{unexpected}`")
        return number + 1, mark.column + 1, f"{what} is not expected here; check the brackets and quotes on this line"
    where = f" ({context} from line {opened.line + 1})" if opened and context else ""
    return number + 1, (mark.column + 1 if mark else 1), f"{problem}{where}"


@dataclass(frozen=True)
class _Place:
    """Where a pydantic error belongs in the file: its keys and items, without the union members and validators
    pydantic names in `loc`; `choice` is where pydantic tried the alternatives of a union, if it did."""

    location: Location
    choice: Location | None
    member: str | None


def _place(model: type[BaseModel], loc: tuple[int | str, ...]) -> _Place:
    kept: list[int | str] = []
    choice: Location | None = None
    chosen: str | None = None
    current: Any = model
    for part in loc:
        members = _members(current) if current is not None else []
        member = _member_named(members, part) if isinstance(part, str) and len(members) > 1 else None
        if member is not None:
            if choice is None:
                choice, chosen = tuple(kept), str(part)
            current = member
            continue
        if isinstance(part, str) and (part.startswith(("function-", "tagged-union")) or part == "[key]"):
            continue  # a validator's name, or "the key itself" of a mapping: the key's position is the value's
        kept.append(part)
        current = _element(current, part) if current is not None else None
    return _Place(tuple(kept), choice, chosen)


def _members(annotation: Any) -> list[Any]:
    """The alternatives a value may take (Optional's None left out), each without its Annotated metadata."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [member for argument in typing.get_args(annotation) for member in _members(argument)]
    return [] if annotation is type(None) else [annotation]


def _member_named(members: list[Any], tag: str) -> Any:
    """The union member pydantic names `tag` in an error's loc: a model's class name, `literal[…]`, `list[…]`, `str`."""
    for member in members:
        origin = typing.get_origin(member)
        if isinstance(member, type) and member.__name__ == tag:
            return member
        if origin is typing.Literal and tag.startswith("literal["):
            return member
        if origin in (list, tuple, dict) and tag.startswith(f"{origin.__name__}["):
            return member
    return None


# Errors that say the value has the wrong shape for its place (a word where a mapping belongs, …).
_SHAPE_ERRORS = {
    "model_type",
    "model_attributes_type",
    "dict_type",
    "list_type",
    "tuple_type",
    "string_type",
    "int_type",
    "int_parsing",
    "int_from_float",
    "float_type",
    "float_parsing",
    "decimal_type",
    "decimal_parsing",
    "bool_type",
    "bool_parsing",
    "literal_error",
    "enum",
    "is_instance_of",
}
_RANGE_ERRORS = {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}
_DATE_ERRORS = {"date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"}


def _chosen(details: list[tuple[Any, _Place]]) -> list[tuple[Any, Location, bool]]:
    """(detail, location, alternatives) to report. Of a union's alternatives, the errors of the one the value was
    written as (a mapping with a bad key is a QuietHours, not a wrong `false`); when it fits none, one error
    for the place that says what it may be (alternatives=True)."""
    tried: dict[Location, list[tuple[Any, _Place]]] = {}
    for detail, place in details:
        if place.choice is not None:
            tried.setdefault(place.choice, []).append((detail, place))
    kept: list[tuple[Any, Location, bool]] = []
    for choice, attempts in tried.items():
        fitted: dict[str | None, list[tuple[Any, Location]]] = {}
        for detail, place in attempts:
            if len(place.location) > len(choice) or detail["type"] not in _SHAPE_ERRORS:
                fitted.setdefault(place.member, []).append((detail, place.location))
        if fitted:
            # Written as the alternative with the fewest errors: {event: ticket_open} is a misspelt event match.
            closest = min(fitted.values(), key=len)
            kept.extend((detail, location, False) for detail, location in closest)
        else:
            kept.append((attempts[0][0], choice, True))
    kept.extend((detail, place.location, False) for detail, place in details if place.choice is None)
    return kept


def _misspelled(detail: Any, location: Location, details: list[tuple[Any, Location]]) -> bool:
    """A missing key that an unknown key beside it misspells: the unknown key's "did you mean" says it all."""
    if detail["type"] != "missing" or not location:
        return False
    unknown = [
        str(other[-1]) for found, other in details if found["type"] == "extra_forbidden" and other[:-1] == location[:-1]
    ]
    return bool(difflib.get_close_matches(str(location[-1]), unknown, n=1, cutoff=0.6))


def _emptied(detail: Any) -> bool:
    """A list "too short" only because its items have errors (pydantic counts the valid ones): those say it all."""
    given = detail.get("input")
    return detail["type"] == "too_short" and isinstance(given, list) and len(given) >= detail["ctx"]["min_length"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# The constrained strings people write in config and journey files: models use these patterns, and messages
# recognise them to say the rule with a corrected example.
TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d$"
SNAKE_CASE = r"^[a-z][a-z0-9_]*$"
CURRENCY_CODE = r"^[A-Z]{3}$"
_FORMATS = {
    TIME_OF_DAY: ("a time of day", "a time is HH:MM between 00:00 and 23:59"),
    SNAKE_CASE: ("a valid name", "names are lower_snake_case (small letters, digits and _)"),
    CURRENCY_CODE: ("a currency", "a currency is its three-letter code"),
}
# How YAML 1.1 reads an unquoted time: `21:00` is the base-60 number 1260.
_SEXAGESIMAL_TIME = re.compile(r"\d{1,2}:[0-5]\d")
# A time as people type it: 10, 9.30, 7:5, 24:00, 9am, 6.30 pm.
_TYPED_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{1,2}))?\s*(?:([ap])\.?m\.?)?", re.IGNORECASE)


def _format_example(pattern: str, given: str, key: str) -> str:
    """The value `given` corrected to fit `pattern` where it can be, else a typical one."""
    if pattern == TIME_OF_DAY:
        typed = _TYPED_TIME.fullmatch(given)
        hours, minutes = (int(typed.group(1)), int(typed.group(2) or 0)) if typed else (10, 0)
        half = typed.group(3).lower() if typed and typed.group(3) else None
        if half is not None and 1 <= hours <= 12:
            # 12am is midnight, 12pm noon.
            hours = hours % 12 + (12 if half == "p" else 0)
        # 24:00 is midnight; past that there is no obvious fix.
        hours = 0 if (hours, minutes) == (24, 0) else hours
        return f'"{hours:02d}:{minutes:02d}"' if hours <= 23 and minutes <= 59 else '"10:00"'
    if pattern == SNAKE_CASE:
        name = re.sub(r"[^a-z0-9]+", "_", given.lower()).strip("_")
        return name if re.fullmatch(SNAKE_CASE, name) else f"{key}_{name}" if name else "cart_reminder"
    return given.upper() if re.fullmatch(CURRENCY_CODE, given.upper()) else "EUR"


def _format_mistake(pattern: str, shown: str, given: str, key: str) -> str:
    what, rule = _FORMATS[pattern]
    return f"{shown} is not {what}; {rule}, e.g. {_format_example(pattern, given, key)}"


def explain(
    detail: Any, model: type[BaseModel], location: Location, typed: str | None = None, alternatives: bool = False
) -> str:
    """Pydantic's error in plain words: what is wrong, and how to write it (allowed keys, values, an example).
    `typed` is the text in the file; `alternatives` says the value fits none of its place's alternatives."""
    kind = detail["type"]
    given = detail.get("input")
    shown = _shown(given, typed)
    key = _key(location)
    if alternatives or (kind in _SHAPE_ERRORS and kind not in ("enum", "literal_error", "string_type")):
        return _what_fits(model, location, given, shown)
    if kind == "extra_forbidden" and location:
        allowed = allowed_keys(model, location[:-1])
        hint = did_you_mean(key, allowed)
        owners = [owner for owner in allowed if key in allowed_keys(model, (*location[:-1], owner))]
        if owners and not hint:
            # `channel:` beside `send:` rather than under it: the indentation, not the key, is wrong.
            under = " or ".join(f"`{owner}:`" for owner in owners)
            return f"{key!r} belongs under {under} (indent it two more spaces)"
        listing = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {key!r}{hint}{listing}"
    if kind == "missing":
        return f"{key!r} is required" if location else "required"
    if kind == "string_type":
        return _not_text(model, location, given, typed, shown)
    if kind == "string_pattern_mismatch":
        pattern = detail.get("ctx", {}).get("pattern")
        if pattern in _FORMATS:
            return _format_mistake(pattern, shown, str(given), key)
        return f"{shown} is not valid here; expected {_expected(model, location)}"
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", detail.get("ctx", {}).get("expected", ""))
        hint = did_you_mean(str(given), choices) if isinstance(given, str) else ""
        return f"{shown} is not allowed{hint}; choose one of {', '.join(choices)}"
    if kind in _RANGE_ERRORS:
        return _out_of_range(model, location, kind, detail.get("ctx", {}), shown)
    if kind in ("too_short", "too_long"):
        ctx = detail.get("ctx", {})
        if kind == "too_long":
            return f"{key} has at most {ctx.get('max_length')} items"
        least = ctx.get("min_length", 1)
        item = _members(_element(_annotation_at(model, location), 0))
        sample = _field_example(model, location, list) or _list_sample(item[0] if item else None)
        example = f", e.g. {key}: {sample}" if sample else ""
        return f"{key} needs at least {least} item{'s' if least != 1 else ''}{example}"
    if kind == "string_too_long":
        return f"{shown} is too long; {key} has at most {detail.get('ctx', {}).get('max_length')} characters"
    if kind in _DATE_ERRORS:
        return f'{shown} is not a date; write a date as "2026-03-01"'
    return str(detail["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _key(location: Location) -> str:
    """The key a value belongs to, as the file names it (an item of a list: the list's key)."""
    named = [part for part in location if isinstance(part, str)]
    return named[-1] if named else "the file"


def _shown(given: Any, typed: str | None) -> str:
    """A value as the person wrote it: `yes` rather than True, `21:00` rather than 1260."""
    if isinstance(given, dict):
        return "a mapping"
    if isinstance(given, list):
        return "a list"
    if typed is not None and isinstance(given, int | float) and not isinstance(given, bool):
        return typed
    return repr(typed if typed is not None else given)


def _not_text(model: type[BaseModel], location: Location, given: Any, typed: str | None, shown: str) -> str:
    if typed is None or isinstance(given, dict | list):
        return _what_fits(model, location, given, shown)
    pattern = _pattern_at(model, location)
    if pattern == TIME_OF_DAY and isinstance(given, int) and _SEXAGESIMAL_TIME.fullmatch(typed) and given < 1440:
        hours, minutes = divmod(given, 60)
        return f'{typed} without quotes is read as a number; put times in quotes: "{hours:02d}:{minutes:02d}"'
    if pattern in _FORMATS and not re.fullmatch(pattern, typed):
        # Quotes alone would not make it valid: say the rule, with the value corrected.
        return _format_mistake(pattern, typed, typed, _key(location))
    return f'{_key(location)} is text, and without quotes {typed} is not; put it in quotes: "{typed}"'


def _field_at(model: type[BaseModel], location: Location) -> Any:
    """The pydantic field of the key at `location` (an item of a list: the list's field), or None."""
    keys = [n for n, part in enumerate(location) if isinstance(part, str)]
    if not keys:
        return None
    parent, key = _annotation_at(model, location[: keys[-1]]), str(location[keys[-1]])
    owner = next((member for member in _members(parent) if _is_model(member) and key in member.model_fields), None)
    return owner.model_fields[key] if owner is not None else None


def _pattern_at(model: type[BaseModel], location: Location) -> str | None:
    """The pattern a constrained string at `location` must match, from its field or its Annotated type."""
    field = _field_at(model, location)
    if field is None:
        return None
    pending: list[Any] = [*field.metadata, field.annotation]
    while pending:
        current = pending.pop()
        if isinstance(getattr(current, "pattern", None), str):
            return str(current.pattern)
        pending.extend(getattr(current, "metadata", None) or [])
        pending.extend(typing.get_args(current))
    return None


def _what_fits(model: type[BaseModel], location: Location, given: Any, shown: str) -> str:
    """The value fits none of what its place may hold: say what it may hold, with examples."""
    members = _members(_annotation_at(model, location))
    key = _key(location)
    models = [member for member in members if _is_model(member)]
    if len(members) == 1 and models:
        noun, examples = _examples(models[0], key)
        return f"{shown} is not {noun}; write {noun} as {' or '.join(examples)}"
    if len(members) == 1 and typing.get_origin(members[0]) is list:
        item = typing.get_args(members[0])[0]
        scalar = not any(_is_model(member) for member in _members(item)) and not isinstance(given, dict | list)
        sample = f"[{shown.strip(chr(39))}]" if scalar else _field_example(model, location, list) or _list_sample(item)
        return f"{shown} is not a list; write {key} as a list" + (f": {sample}" if sample else "")
    if len(members) == 1 and members[0] in _WORDS:
        word = _WORDS[members[0]]
        sample = _field_example(model, location, members[0]) or _sample(members[0])
        return f"{shown} is not {word}; write {key} as {word}" + (f", e.g. {key}: {sample}" if sample else "")
    values = [value for member in members for value in _literal_values(member)]
    quoted = next((value for value in values if not isinstance(value, str) and _yaml_value(value) == given), None)
    if quoted is not None:
        return f"{shown} in quotes is text; write {key}: {_yaml_value(quoted)} without quotes"
    choices = [_yaml_value(value) for value in values]
    hint = did_you_mean(given, choices) if isinstance(given, str) else ""
    written = [text for member in members for text in _alternatives(member, key, _field_at(model, location))]
    return f"{shown} is not allowed here{hint}; write {key} as {_either(written)}"


def _either(texts: list[str]) -> str:
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _examples(model: type[BaseModel], key: str) -> tuple[str, tuple[str, ...]]:
    examples = _model_examples(model)
    noun = getattr(model, "noun", "") or f"`{key}`"
    if examples:
        return noun, tuple(_yaml_flow(example) for example in examples)
    required = [name for name, field in model.model_fields.items() if field.is_required()] or list(model.model_fields)
    return f"`{key}`", ("{" + ", ".join(f"{name}: …" for name in required[:3]) + "}",)


def _literal_values(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [member.value for member in annotation]
    return []


_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false", Decimal: "a number"}


def _alternatives(annotation: Any, key: str, field: Any = None) -> list[str]:
    """How a value of this type is written, one text per alternative (a list or mapping as the field's example)."""
    if _is_model(annotation):
        return list(_examples(annotation, key)[1])
    values = _literal_values(annotation)
    if values:
        return [_yaml_value(value) for value in values]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        sample = _example_of(field, list) or _list_sample(typing.get_args(annotation)[0])
        return [f"a list such as {sample}" if sample else "a list"]
    if origin is dict:
        keys, values_type = typing.get_args(annotation)
        sample = _example_of(field, dict)
        return [sample or f"{{{_sample(keys) or 'name'}: {_sample(values_type)}}}"]
    return [_WORDS.get(annotation, "a different value")]


def _field_example(model: type[BaseModel], location: Location, shape: Any) -> str | None:
    return _example_of(_field_at(model, location), shape)


def _example_of(field: Any, shape: Any) -> str | None:
    """The first of a field's `examples` of this shape (list, dict, str, …), as YAML, or None."""
    examples = getattr(field, "examples", None) or []
    return next((_yaml_flow(example) for example in examples if isinstance(example, shape)), None)


def _yaml_flow(value: Any) -> str:
    """A value as it is written on one line of YAML."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_yaml_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_flow(item) for item in value) + "]"
    if isinstance(value, str) and not _reads_back_as_text(value):
        return f'"{value}"'
    return _yaml_value(value)


# Text that needs no quotes to read well: words, names, SKUs (not `21:00`, a base-60 number, nor `cron(…)`).
_PLAIN_TEXT = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]*")


def _reads_back_as_text(text: str) -> bool:
    """Whether `text` unquoted in a YAML flow collection reads back as this text (`on` is true, `21:00` 1260)."""
    import yaml  # lazy: see _positions; only a message about a mistake comes here

    return bool(_PLAIN_TEXT.fullmatch(text)) and yaml.safe_load(f"[{text}]") == [text]


def _list_sample(item: Any) -> str | None:
    sample = _sample(item) if item is not None else None
    return f"[{sample}]" if sample else None


def _sample(annotation: Any) -> str | None:
    """One value of this type, as YAML (None for text: only its field's examples know a sensible one)."""
    members = _members(annotation)
    annotation = members[0] if members else annotation
    if _is_model(annotation):
        return _examples(annotation, "")[1][0]
    values = _literal_values(annotation)
    if values:
        return _yaml_value(values[0])
    return {int: "1", float: "50", bool: "true", Decimal: "5"}.get(annotation)


def _yaml_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _out_of_range(model: type[BaseModel], location: Location, kind: str, ctx: dict[str, Any], shown: str) -> str:
    """The value is out of its field's range: say the whole range, not only the bound it crossed."""
    bounds = dict(ctx)
    owner: Any = _unwrap(_annotation_at(model, location[:-1])) if location else None
    field = owner.model_fields.get(str(location[-1])) if _is_model(owner) else None
    for metadata in field.metadata if field else []:
        for bound in ("ge", "gt", "le", "lt"):
            if getattr(metadata, bound, None) is not None:
                bounds[bound] = getattr(metadata, bound)
    low = f"at least {bounds['ge']}" if "ge" in bounds else (f"above {bounds['gt']}" if "gt" in bounds else "")
    high = f"at most {bounds['le']}" if "le" in bounds else (f"below {bounds['lt']}" if "lt" in bounds else "")
    if "ge" in bounds and "le" in bounds:
        allowed = f"between {bounds['ge']} and {bounds['le']}"
    else:
        allowed = " and ".join(part for part in (low, high) if part)
    direction = "low" if kind.startswith("greater") else "high"
    return f"{shown} is too {direction}; {_key(location)} is {allowed}"


def allowed_keys(model: type[BaseModel], location: Location) -> list[str]:
    """The keys a mapping at `location` may have, found by following the model's field types."""
    current = _unwrap(_annotation_at(model, location))
    return list(current.model_fields) if _is_model(current) else []


def _annotation_at(model: type[BaseModel], location: Location) -> Any:
    """The declared type of the value at `location` (None where the model does not say)."""
    current: Any = model
    for part in location:
        current = _element(current, part)
        if current is None:
            return None
    return current


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
    # In a union of models, the key names the member: `when` is an ExitCondition's, `event` an EventMatch's.
    owner = next((member for member in _members(current) if _is_model(member) and part in member.model_fields), None)
    if owner is not None:
        return owner.model_fields[str(part)].annotation
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
    # lazy: pydantic-settings is a tenth of a handler's cold start; settings load when a file is first read
    from omnijourney.platform.settings import get_settings

    configured = get_settings().config_dir
    return Path(configured) if configured else _REPOSITORY_CONFIG


def config_file(name: str) -> str:
    """How messages name a file of config/: `config/segments.yaml` in the project, else the path actually read (a
    marketer's copy given with --config), so that a message never points at a file the run did not read."""
    folder = config_dir()
    return f"config/{name}" if folder.resolve() == _REPOSITORY_CONFIG.resolve() else str(folder / name)


def journeys_dir() -> Path:
    from omnijourney.platform.settings import get_settings  # lazy: as in config_dir

    configured = get_settings().journeys_dir
    return Path(configured) if configured else _REPOSITORY_JOURNEYS
