"""What a channel delivered, and the small parsing vocabulary every source shares."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from omnijourney.errors import BadSignature, MalformedPayload
from omnijourney.events import CanonicalEvent


@dataclass(frozen=True)
class Delivery:
    """One webhook call: raw body bytes (signatures are over these), headers, and the URL called."""

    source: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def hmac_digest(algorithm: str, secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, algorithm).digest()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def require_signature(given: str | None, expected: str, header: str) -> None:
    """Constant-time comparison; a missing header and a wrong one are both 401."""
    if not given:
        raise BadSignature(f"the {header} header is missing", field=header)
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise BadSignature(f"the {header} header does not match the body", field=header)


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except UnicodeDecodeError as error:
        raise MalformedPayload(f"the body is not UTF-8: {error.reason}", field="body") from error
    except json.JSONDecodeError as error:
        raise MalformedPayload(
            f"the body is not JSON: {error.msg} at line {error.lineno} column {error.colno}", field="body"
        ) from error


def as_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} must be a JSON object", field=where)
    return value


def require(payload: Mapping[str, Any], key: str, where: str = "") -> Any:
    value = payload.get(key)
    if value is None or value == "":
        raise MalformedPayload(f"{where + key} is required", field=where + key)
    return value


def as_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def as_decimal(value: Any, where: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise MalformedPayload(f"{where} must be a number, not {value!r}", field=where) from error
    # Decimal reads "NaN" and "Infinity", which no price or total can be (and the canonical model refuses).
    if not number.is_finite():
        raise MalformedPayload(f"{where} must be a number, not {value!r}", field=where)
    return number


def as_quantity(value: Any, where: str) -> int:
    """A line item's quantity: a whole number ≥ 0, as JSON sends it (not 1.0, "2" or true)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedPayload(f"{where} must be a whole number ≥ 0, not {value!r}", field=where)
    return value


def as_list(value: Any, where: str) -> list[Any]:
    """A JSON array; an absent or null one is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{where} must be a JSON array", field=where)
    return value


def as_timestamp(value: Any, where: str, default: datetime) -> datetime:
    """An ISO-8601 instant; a naive one is read as UTC."""
    if value is None or value == "":
        return default
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise MalformedPayload(f"{where} is not an ISO-8601 timestamp: {value!r}", field=where) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def canonical_event(**fields: Any) -> CanonicalEvent:
    """Build the canonical event; a vendor value it refuses becomes a 400 naming the field."""
    from pydantic import ValidationError

    try:
        return CanonicalEvent(**fields)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedPayload(f"{where}: {first['msg']}", field=where) from error
