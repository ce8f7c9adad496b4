"""The few named failures the domain raises; `omnijourney.http` maps them to HTTP answers."""

from __future__ import annotations


class OmnijourneyError(Exception):
    """Base of every domain error: a status, a short title and, where it helps, the field at fault."""

    status = 500
    title = "Internal error"
    # A short machine-readable name, for clients that branch on one (Segment's libraries read `code`).
    code = "internal_error"

    def __init__(self, detail: str, *, field: str | None = None, quarantine_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.quarantine_id = quarantine_id


class MalformedPayload(OmnijourneyError):
    status = 400
    title = "Malformed payload"
    code = "malformed_payload"


class BadSignature(OmnijourneyError):
    status = 401
    title = "Bad or missing signature"
    code = "bad_signature"


class NotFound(OmnijourneyError):
    status = 404
    title = "Not found"
    code = "not_found"


class UnknownSource(NotFound):
    title = "Unknown source"
    code = "unknown_source"


class PayloadTooLarge(OmnijourneyError):
    status = 413
    title = "Payload too large"
    code = "payload_too_large"


class Unavailable(OmnijourneyError):
    """A dependency failed in a way the caller should retry (the channel resends on 5xx)."""

    status = 503
    title = "Temporarily unavailable"
    code = "unavailable"
