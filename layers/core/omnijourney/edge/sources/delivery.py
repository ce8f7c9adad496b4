"""What a channel delivered, and the small parsing vocabulary every source shares."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic_core import PydanticCustomError

from omnijourney.events import AT_INGEST, MAX_AHEAD, MAX_JSON_DEPTH, OUT_OF_RANGE, CanonicalEvent, in_utc
from omnijourney.platform.errors import BadSignature, MalformedPayload


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


class UnsignedSource:
    """A source whose records nothing signs, as they never arrive over HTTP: signing adds no header and verifying
    checks nothing. Each subclass says why its records can be trusted."""

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        return {}

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        """Nothing to check."""


def load_json(body: bytes) -> Any:
    """The JSON value of a body. Nesting deeper than MAX_JSON_DEPTH is refused before the parser recurses into it,
    and so are the constants NaN and Infinity (not JSON) and lone surrogates (no text can hold one)."""
    _require_shallow(body)
    try:
        value = json.loads(body, parse_constant=_not_json)
    except UnicodeDecodeError as error:
        raise MalformedPayload(f"the body is not UTF-8: {error.reason}", field="body") from error
    except json.JSONDecodeError as error:
        raise MalformedPayload(
            f"the body is not JSON: {error.msg} at line {error.lineno} column {error.colno}", field="body"
        ) from error
    except (ValueError, RecursionError) as error:  # an integer of more than 4,300 digits; nesting is checked above
        raise MalformedPayload(f"the body is not JSON this service reads: {error}", field="body") from error
    if b"\\u" in body:  # a lone surrogate can only come from an escape
        _require_valid_unicode(value, "")
    return value


# A JSON string, escapes included: what brackets inside it are not nesting.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def _require_shallow(body: bytes) -> None:
    """Brackets counted on the raw bytes first (fast; brackets inside strings can only make the count deeper or
    shallower than the truth), then, only where that count is too deep, with the strings taken out. A body that
    hides its depth behind "]" in strings still cannot crash: RecursionError is a 400, and traits and properties
    are measured again by the event."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH or _deepest(body) <= MAX_JSON_DEPTH:
        return
    if _deepest(_JSON_STRING.sub(b"", body)) > MAX_JSON_DEPTH:
        raise MalformedPayload(f"the body nests deeper than {MAX_JSON_DEPTH} levels", field="body")


def _deepest(text: bytes) -> int:
    depth = deepest = 0
    for bracket in text.translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in _OPENING else -1
        deepest = max(deepest, depth)
    return deepest


_OPENING = b"[{"
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


def _not_json(constant: str) -> Any:
    raise MalformedPayload(f"the body is not JSON: {constant} is not a JSON value", field="body")


def _require_valid_unicode(value: Any, where: str) -> None:
    """Every key and string encodable as UTF-8: `"\\ud800"` decodes to a str no queue, table or log can hold."""
    if isinstance(value, str):
        if not value.isascii() and not _encodable(value):
            raise MalformedPayload(f"{where or 'body'} holds invalid Unicode (a lone surrogate)", field=where or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if not _encodable(key):
                raise MalformedPayload(
                    f"a key in {where or 'body'} holds invalid Unicode (a lone surrogate)", field=where or "body"
                )
            _require_valid_unicode(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _require_valid_unicode(item, f"{where}[{index}]")


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


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


def as_timestamp(value: Any, where: str, received_at: datetime) -> datetime:
    """An ISO-8601 instant (a naive one is read as UTC), from 2000-01-01 to MAX_AHEAD after `received_at`, which is
    also what an absent one defaults to."""
    if value is None or value == "":
        return received_at
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise MalformedPayload(f"{where} is not an ISO-8601 timestamp: {value!r}", field=where) from error
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        in_utc(parsed)
    except PydanticCustomError as error:
        raise MalformedPayload(f"{where} {value} {OUT_OF_RANGE}", field=where) from error
    if parsed > received_at + MAX_AHEAD:
        raise MalformedPayload(
            f"{where} {value} is more than {MAX_AHEAD.days} days after the delivery was received", field=where
        )
    return parsed


def canonical_event(*, within: str = "", **fields: Any) -> CanonicalEvent:
    """Build the canonical event; a vendor value it refuses becomes a 400 naming the field, `within` the place
    of the vendor's message in its delivery (`batch[3].`)."""
    from pydantic import ValidationError

    try:
        return CanonicalEvent.model_validate(fields, context=AT_INGEST)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        where = f"{within}{where}" if where else ""
        # An error of the whole event (its occurred_at against its received_at) names the field in its message.
        detail = f"{where}: {first['msg']}" if where else first["msg"]
        raise MalformedPayload(detail, field=where or None) from error


# Vendors' numeric keys (Shopify's order, customer and refund ids; Zendesk's user and ticket ids) fit in 64 bits.
_NUMERIC_ID = re.compile(r"[1-9][0-9]{0,18}")


def numeric_id(value: Any, where: str) -> str:
    """A vendor's own numeric key (Shopify's order, customer and refund ids, Zendesk's user ids): a positive
    integer, as a JSON number or a string of digits. Anything else is refused, never linked."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not _NUMERIC_ID.fullmatch(text):
        raise MalformedPayload(f"{where} must be a positive whole number, not {value!r}", field=where)
    return text
