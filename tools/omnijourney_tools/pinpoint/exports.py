"""Reading Pinpoint exports: the JSON the AWS CLI prints (`get-journey`, `list-journeys`, `get-segment`, …), checked
against botocore's own Pinpoint service model, so a malformed export is refused with the file, the record and the
JSON path at fault before anything is converted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape
from botocore.session import get_session
from botocore.validate import ParamValidator


class ImportRefused(Exception):
    """Bad input, in plain words: which file, which record in it and which field, and what is wrong there."""

    def __init__(self, file: Path | str, detail: str, *, record: str | None = None, field: str | None = None) -> None:
        self.file = str(file)
        self.detail = detail
        self.record = record
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file, *(part for part in (self.record, self.field) if part)]
        return f"{': '.join(where)}: {self.detail}"


@dataclass(frozen=True)
class ExportKind:
    """How the AWS CLI prints one kind of Pinpoint object: the envelope keys of a single object and of a list, each
    with the service model's shape of the object inside."""

    noun: str
    singles: Mapping[str, str]
    lists: Mapping[str, str] = field(default_factory=dict)
    bare: str | None = None
    """the shape of an object saved without its envelope (e.g. what `--write-journey-request` takes)"""


@dataclass(frozen=True)
class Export:
    """One Pinpoint object read from a file: `record` names it for messages ("journey 'Welcome series'")."""

    file: Path
    record: str
    shape: str
    body: dict[str, Any]

    def refuse(self, detail: str, *, field: str | None = None) -> ImportRefused:
        return ImportRefused(self.file, detail, record=self.record, field=field)

    def enum_value(self, value: Any, shape: str, field: str) -> str:
        """`value` if it is one of the service model's values for `shape` (botocore does not check them), else
        refused naming the field."""
        allowed: list[str] = pinpoint_model().shape_for(shape).enum
        if value not in allowed:
            raise self.refuse(f"{value!r} is not one of Pinpoint's {shape} values: {', '.join(allowed)}", field=field)
        return str(value)


JOURNEY = ExportKind(
    noun="journey",
    singles={"JourneyResponse": "JourneyResponse", "WriteJourneyRequest": "WriteJourneyRequest"},
    lists={"JourneysResponse": "JourneyResponse"},
    bare="WriteJourneyRequest",
)
TEMPLATE = ExportKind(
    noun="template",
    singles={
        "EmailTemplateResponse": "EmailTemplateResponse",
        "SMSTemplateResponse": "SMSTemplateResponse",
        "PushNotificationTemplateResponse": "PushNotificationTemplateResponse",
    },
)
SEGMENT = ExportKind(
    noun="segment",
    singles={"SegmentResponse": "SegmentResponse", "WriteSegmentRequest": "WriteSegmentRequest"},
    lists={"SegmentsResponse": "SegmentResponse"},
    bare="WriteSegmentRequest",
)
SETTINGS = ExportKind(
    noun="application settings",
    singles={
        "ApplicationSettingsResource": "ApplicationSettingsResource",
        "WriteApplicationSettingsRequest": "WriteApplicationSettingsRequest",
    },
    bare="WriteApplicationSettingsRequest",
)


@cache
def pinpoint_model() -> ServiceModel:
    """botocore's Pinpoint service model, the shapes AWS itself validates requests against."""
    return get_session().get_service_model("pinpoint")


@cache
def _shape(name: str) -> Shape:
    # botocore resolves a shape anew on every call: half an endpoint import's time before this cache
    return pinpoint_model().shape_for(name)


def read_exports(files: Iterable[Path], kind: ExportKind) -> list[Export]:
    """Every object of `kind` in the files, each checked against its shape; refused at the first fault."""
    return [export for file in files for export in _exports_in(file, kind)]


def _exports_in(file: Path, kind: ExportKind) -> list[Export]:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportRefused(file, "no such file") from None
    except UnicodeDecodeError:
        raise ImportRefused(file, "is not text: save the AWS CLI's JSON output (`--output json`)") from None
    except json.JSONDecodeError as error:
        raise ImportRefused(
            file, f"is not JSON at line {error.lineno}, column {error.colno}: {error.msg}", record=None
        ) from None
    found = _unwrap(file, document, kind)
    exports = []
    for index, (shape, body) in enumerate(found, start=1):
        record = _record_name(kind.noun, body, index if len(found) > 1 else None)
        problem = shape_problem(body, shape)
        if problem is not None:
            path, detail = problem
            raise ImportRefused(file, detail, record=record, field=path)
        exports.append(Export(file, record, shape, body))
    return exports


def _unwrap(file: Path, document: Any, kind: ExportKind) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(document, dict):
        for envelope, shape in kind.singles.items():
            if isinstance(document.get(envelope), dict) and len(document) == 1:
                return [(shape, document[envelope])]
        for envelope, shape in kind.lists.items():
            listed = document.get(envelope)
            if isinstance(listed, dict) and isinstance(listed.get("Item"), list):
                return [
                    (shape, _object(file, item, kind, f"{envelope}.Item[{i}]")) for i, item in enumerate(listed["Item"])
                ]
        # Saved without its envelope: taken as such when it names fields of the shape (its faults are then named).
        if kind.bare is not None and document.keys() & pinpoint_model().shape_for(kind.bare).members.keys():
            return [(kind.bare, document)]
    envelopes = ", ".join(f'{{"{name}": …}}' for name in [*kind.singles, *kind.lists])
    raise ImportRefused(file, f"holds no Pinpoint {kind.noun}: expected the AWS CLI's output, one of {envelopes}")


def _object(file: Path, item: Any, kind: ExportKind, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ImportRefused(file, f"should be a {kind.noun} (a JSON object)", field=path)
    return item


def _record_name(noun: str, body: Mapping[str, Any], index: int | None) -> str:
    name = body.get("Name") or body.get("TemplateName") or body.get("Id")
    named = f"{noun} {name!r}" if isinstance(name, str) and name else noun
    return f"{named} (item {index})" if index is not None else named


def shape_problem(body: Mapping[str, Any], shape_name: str) -> tuple[str, str] | None:
    """The first fault of `body` against the service model's shape, as (JSON path, plain words), or None. Values are
    never quoted: an endpoint's fields hold addresses."""
    root = _shape(shape_name)
    report = ParamValidator().validate(body, root)
    # botocore keeps the structured errors on the report (pinned version); its own text quotes the values.
    for reason, name, details in report._errors:
        path = name.lstrip(".")
        return path or "(the object)", _in_words(reason, details, _shape_at(root, path))
    return None


def _in_words(reason: str, details: Mapping[str, Any], shape: Shape | None) -> str:
    what = f"Pinpoint's {shape.name}" if shape is not None else "this object"
    if reason == "unknown field":
        return f"{details['unknown_param']!r} is not a field of {what}; it has {', '.join(details['valid_names'])}"
    if reason == "missing required field":
        return f"{what} needs {details['required_name']!r}"
    if reason == "invalid type":
        kinds = sorted({_json_kind(name) for name in details["valid_types"]})
        return f"should be {' or '.join(kinds)}"
    if reason == "invalid range":
        return f"should be at least {details['min_allowed']}"
    if reason == "invalid length":
        return f"should have a length of at least {details['min_allowed']}"
    return reason


def _json_kind(python_type: str) -> str:
    for name, words in (
        ("dict", "an object"),
        ("list", "a list"),
        ("tuple", "a list"),
        ("str", "text"),
        ("bool", "true or false"),
        ("int", "a whole number"),
        ("float", "a number"),
        ("Decimal", "a number"),
        ("datetime", "a date and time"),
        ("bytes", "text"),
    ):
        if f"'{name}'" in python_type or python_type == name:
            return words
    return python_type


def _shape_at(root: Shape, path: str) -> Shape | None:
    """The shape holding the field at `path` (dots and [i] as botocore names them)."""
    shape: Shape | None = root
    for part in path.replace("[", ".[").split(".") if path else []:
        if shape is None or not part:
            continue
        if isinstance(shape, StructureShape):
            shape = shape.members.get(part)
        elif isinstance(shape, MapShape):
            shape = shape.value
        elif isinstance(shape, ListShape):
            shape = shape.member
    return shape
