"""Scenario files: one JSON object a line (the contract in shared/scenario-format.md)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omnijourney.journeys.segments import SEGMENTS_TURN
from omnijourney.platform.configfile import SNAKE_CASE

LookupKey = Literal["phone", "email", "loyalty_id", "customer_id"]
EraseKey = Literal["email", "phone", "customer_id"]
# Records of an export (an `EndpointResponse` a line), read through the import path: nothing signs them.
IMPORTED_SOURCE = "pinpoint"


class ScenarioError(Exception):
    """A scenario line that cannot be run; names the file and line."""


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(exclude=True)
    at: AwareDatetime


class DeliveryLine(Line):
    source: str
    body: Any = None
    form: dict[str, str] | None = None
    raw: str | None = None
    # Extension: the body (or, for form-encoded sources, the form) read from a file such as events/…,
    # relative to the scenario file, so scenarios replay the project's real sample payloads.
    file: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    signature: Literal["valid", "invalid", "missing"] = "valid"

    @property
    def summary(self) -> str:
        """What the delivery is, in the vendor's words: `segment Product Added`, `shopify orders/create`."""
        body = self.body if isinstance(self.body, dict) else {}
        # A Zendesk trigger body names its `event`; a native Zendesk event has an `event` object and a `type`; a
        # Pinpoint endpoint its `ChannelType`.
        named = [
            value for value in (body.get("event"), body.get("type"), body.get("ChannelType")) if isinstance(value, str)
        ]
        # A HubSpot batch is a list of events, each with its `subscriptionType`.
        batch = self.body if isinstance(self.body, list) else []
        subscriptions = [str(event.get("subscriptionType")) for event in batch if isinstance(event, dict)]
        what = (
            self.headers.get("X-Shopify-Topic")
            or (self.form or {}).get("Body")
            or next(iter(named), "")
            or ("batch" if "batch" in body else "")
            or ", ".join(dict.fromkeys(subscriptions))
        )
        return f"{self.source} {what}".strip() + ("" if self.signature == "valid" else f" ({self.signature} signature)")

    @model_validator(mode="after")
    def _one_body(self) -> DeliveryLine:
        given = [name for name in ("body", "form", "raw", "file") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a delivery needs exactly one of body, form, raw, file (got {', '.join(given) or 'none'})"
            )
        signed = {"form", "headers", "signature"} & self.model_fields_set
        if self.source == IMPORTED_SOURCE and signed:
            raise ValueError(
                f"a {IMPORTED_SOURCE} line is an export's record, unsigned and without headers: "
                f"drop {', '.join(sorted(signed))}"
            )
        return self


def _one_identifier(value: dict[str, str]) -> dict[str, str]:
    if len(value) != 1:
        raise ValueError("takes exactly one identifier")
    return value


class LookupLine(Line):
    lookup: dict[LookupKey, str]

    _single = field_validator("lookup")(_one_identifier)


class EraseLine(Line):
    erase: dict[EraseKey, str]

    _single = field_validator("erase")(_one_identifier)


class ScheduleLine(Line):
    """Extension: a scheduled journey's turn, as EventBridge Scheduler would fire it at `at`; or, named
    `segments`, the daily segment evaluation of every customer whose local day changed."""

    schedule: str = Field(pattern=SNAKE_CASE, description="the journey's name, or segments")

    @property
    def function_input(self) -> dict[str, str]:
        """What EventBridge Scheduler sends the journey-schedule function for this turn."""
        return {"segments": "daily"} if self.schedule == SEGMENTS_TURN else {"journey": self.schedule}


class AdvanceLine(Line):
    pass


ScenarioLine = DeliveryLine | LookupLine | EraseLine | ScheduleLine | AdvanceLine


def _kind(data: dict[str, Any]) -> type[Line]:
    if "source" in data:
        return DeliveryLine
    if "lookup" in data:
        return LookupLine
    if "erase" in data:
        return EraseLine
    if "schedule" in data:
        return ScheduleLine
    return AdvanceLine


def _inline_file(data: dict[str, Any], base: Path, where: str, within: tuple[Path, ...] | None) -> dict[str, Any]:
    """Read a delivery's `file` into `form` (when the file says so) or `body`; with `within`, only a file under one
    of those folders (links and `..` resolved first). Refusals name the file as the line wrote it, and no other
    path."""
    if not isinstance(data.get("file"), str):
        return data
    target = (base / data["file"]).resolve()
    if within is not None and not any(target.is_relative_to(folder.resolve()) for folder in within):
        folders = " or ".join(f"{folder.name}/" for folder in within)
        raise ScenarioError(f"{where}: file {data['file']}: only a file under {folders} can be read")
    try:
        content = json.loads(target.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"{where}: file {data['file']}: cannot be read: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{where}: file {data['file']}: {error}") from error
    key = "form" if data.get("source") == "twilio" else "body"
    return {**{k: v for k, v in data.items() if k != "file"}, key: content}


def parse_lines(
    text: str, path: str = "<scenario>", base: Path | None = None, *, within: tuple[Path, ...] | None = None
) -> list[ScenarioLine]:
    """The lines of a scenario named `path`, their `file`s read relative to `base` (and, given `within`, only from
    under those folders: an upload must not read what it likes)."""
    lines: list[ScenarioLine] = []
    previous: datetime | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ScenarioError(f"{path}:{number}: not JSON: {error.msg} (column {error.colno})") from error
        if not isinstance(data, dict):
            raise ScenarioError(f"{path}:{number}: a line must be a JSON object")
        data = _inline_file(data, base or Path.cwd(), f"{path}:{number}", within)
        try:
            line = _kind(data).model_validate({**data, "number": number})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            message = first["msg"].removeprefix("Value error, ")
            raise ScenarioError(f"{path}:{number}: {where}: {message}") from error
        if previous is not None and line.at < previous:
            raise ScenarioError(f"{path}:{number}: at {line.at.isoformat()} is earlier than the line before")
        previous = line.at
        lines.append(line)  # type: ignore[arg-type]
    return lines


def read(path: Path) -> list[ScenarioLine]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: cannot be read: {error.strerror}") from error
    return parse_lines(text, str(path), path.parent)
