"""HTTP at the edge: one mapping of domain errors to problem+json answers, and the raw request body."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from omnijourney.edge.bodies import Problem
from omnijourney.platform.errors import MalformedPayload, NotFound, OmnijourneyError

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
    from pydantic import BaseModel

PROBLEM_JSON = "application/problem+json"


def json_answer(body: object, status: int = 200) -> Response[str]:
    """A route's JSON answer."""
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def problem(status: int, title: str, detail: str, **extra: Any) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response

    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({key: value for key, value in extra.items() if value is not None})
    return Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(body))


def problem_responses(
    app: APIGatewayHttpResolver,
    observe: Callable[[OmnijourneyError], None] | None = None,
    *,
    segment_fields: bool = False,
) -> None:
    """Register the one mapping of domain errors (and unknown routes) to RFC 9457 problem responses.

    `observe` sees every domain error first (a handler counts rejections by status, say). `segment_fields` adds what
    Segment's Tracking API answers and its libraries report (analytics-python raises `APIError(status, code,
    message)` from the body; without both it reports "unknown"): `code`, `message` and `success: false`.
    """

    def answer(status: int, title: str, detail: str, code: str, **extra: Any) -> Response[str]:
        if segment_fields:
            extra |= {"code": code, "message": detail, "success": False}
        return problem(status, title, detail, **extra)

    @app.exception_handler(OmnijourneyError)  # type: ignore[untyped-decorator]
    def domain_error(error: OmnijourneyError) -> Response[str]:
        if observe is not None:
            observe(error)
        return answer(
            error.status, error.title, error.detail, error.code, field=error.field, quarantine_id=error.quarantine_id
        )

    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(error: RequestValidationError) -> Response[str]:
        """A route with `enable_validation` refused a parameter (a query parameter given twice, say)."""
        first: dict[str, Any] = next(iter(error.errors()), {})
        where = ".".join(str(part) for part in first.get("loc", ()))
        detail = f"{where}: {first.get('msg') or first.get('type', 'invalid')}"
        return answer(400, "Malformed request", detail, MalformedPayload.code, field=where or None)

    @app.not_found
    def no_route(_: Exception) -> Response[str]:
        event = app.current_event
        return answer(404, "Not found", f"no route for {event.http_method} {event.path}", NotFound.code)


def answer_doc(description: str, body: type[BaseModel]) -> OpenAPIResponse:
    """A route's `responses=` entry for a JSON answer (the OpenAPI document is generated from these)."""
    return {"description": description, "content": {"application/json": {"model": body}}}


def problem_docs(causes: Mapping[int, str]) -> dict[int, OpenAPIResponse]:
    """`responses=` entries for the problem+json answers a route gives: status → when."""
    return {
        status: {"description": cause, "content": {PROBLEM_JSON: {"model": Problem}}}
        for status, cause in causes.items()
    }


def unreadable_json(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The problem answer (415, 400) for a body that is not JSON by its Content-Type or its bytes, given before a
    resolver's validation parses it (Powertools' parser answers 500 to a multipart body without a boundary or to bytes
    that are not UTF-8); None for a JSON body or none."""
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    content_type = str(headers.get("content-type", "application/json")).split(";")[0].strip().lower()
    if not event.get("body"):
        return None
    if content_type != "application/json":
        return _problem_event(415, "Unsupported media type", "send the body as application/json")
    body = str(event["body"])
    try:
        json.loads(base64.b64decode(body) if event.get("isBase64Encoded") else body)
    except (ValueError, UnicodeDecodeError):
        return _problem_event(400, "Malformed request", "the body is not JSON")
    return None


def uncached(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` (a resolver's, or a problem event) with `Cache-Control: no-store`: for answers about a person, which
    neither a browser on a shared computer nor a CDN (which keeps even error answers a while unless told) may keep."""
    return answer | {"headers": {**(answer.get("headers") or {}), "Cache-Control": "no-store"}}


def _problem_event(status: int, title: str, detail: str) -> dict[str, Any]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON}, "body": json.dumps(body)}


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body exactly as the channel sent it: signatures are computed over these bytes."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


def request_url(event: APIGatewayProxyEventV2, public_base_url: str | None) -> str:
    """The URL the channel called (Twilio signs it), as the public base URL or the request's own host and scheme
    (API Gateway sets X-Forwarded-Proto to https; `omnijourney serve` to the scheme it was called with)."""
    scheme = event.headers.get("x-forwarded-proto") or "https"
    base = public_base_url.rstrip("/") if public_base_url else f"{scheme}://{event.request_context.domain_name}"
    query = event.raw_query_string
    return f"{base}{event.raw_path}" + (f"?{query}" if query else "")
