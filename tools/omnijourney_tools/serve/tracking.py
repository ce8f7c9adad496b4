"""Segment's Tracking API (what the analytics libraries call at api.segment.io/v1/...), as `omnijourney serve` plays it.

In production Segment's own servers take these calls and forward each message to the Webhooks (Actions)
destination, signed with the destination's shared secret. Locally this resolver stands in for both: it checks the
write key as Segment does (HTTP Basic, the write key as user name, no password), completes the message as Segment's
API does (the type from the path, a messageId where there is none), signs the result with the Segment secret the
backend is configured with, and hands it to `accept_delivery`, the path every webhook takes. So nothing reaches the
parser without a valid signature, and the signature check has no bypass that could ever be wired into a function.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import uuid
import zlib
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.models import HTTPBase

from omnijourney.edge.bodies import TrackingAccepted
from omnijourney.edge.http import answer_doc, problem_docs, problem_responses, raw_body
from omnijourney.edge.ingest import accept_delivery, webhook_secret
from omnijourney.edge.sources import webhook_source
from omnijourney.edge.sources.delivery import Delivery, as_object, as_timestamp, load_json
from omnijourney.platform import clock
from omnijourney.platform.errors import MalformedPayload, OmnijourneyError, PayloadTooLarge
from omnijourney.platform.settings import get_settings

# The write key the local Tracking API accepts (Segment gives each source its own).
LOCAL_WRITE_KEY = "local-segment-write-key"
CALLS = ("identify", "track", "page", "screen", "group", "alias", "batch")

# Segment's spec, as far as the parser reads it (docs/sources/segment.md); other properties pass through.
_COMMON: dict[str, Any] = {
    "userId": {"type": "string"},
    "anonymousId": {"type": "string"},
    "messageId": {"type": "string", "description": "Segment's dedupe key; one is made up when missing"},
    "timestamp": {"type": "string", "format": "date-time"},
    "context": {"type": "object", "description": "traits, timezone, library.name and device.type are read"},
    "traits": {"type": "object", "description": "email, phone and loyalty_id become identifiers"},
    "properties": {"type": "object"},
}
_SOMEONE = [{"required": ["userId"]}, {"required": ["anonymousId"]}]
_MESSAGES: dict[str, dict[str, Any]] = {
    "identify": {},
    "track": {"properties": {"event": {"type": "string"}}, "required": ["event"]},
    "page": {"properties": {"name": {"type": "string"}}},
    "screen": {"properties": {"name": {"type": "string"}}},
    "group": {"properties": {"groupId": {"type": "string"}}},
    "alias": {"properties": {"previousId": {"type": "string"}}, "required": ["previousId"]},
}


def message_schema(kind: str, *, in_batch: bool = False) -> dict[str, Any]:
    extra = _MESSAGES[kind]
    properties = _COMMON | extra.get("properties", {})
    required = extra.get("required", [])
    if in_batch:  # the path no longer says what the message is
        properties |= {"type": {"const": kind}}
        required = [*required, "type"]
    return {"type": "object", "properties": properties, "required": required, "anyOf": _SOMEONE}


def request_body_schema(call: str) -> dict[str, Any]:
    if call != "batch":
        return message_schema(call)
    # A batch carries every kind of message but alias (Segment's spec).
    kinds = [kind for kind in _MESSAGES if kind != "alias"]
    messages = {"oneOf": [message_schema(kind, in_batch=True) for kind in kinds]}
    return {
        "type": "object",
        "properties": {"batch": {"type": "array", "minItems": 1, "items": messages}, "context": {"type": "object"}},
        "required": ["batch"],
    }


app = APIGatewayHttpResolver()
app.configure_openapi(
    security_schemes={
        "segmentWriteKey": HTTPBase(scheme="basic", description="The write key as user name, no password")
    }
)
# Errors in the body Segment's libraries read (`code`, `message`), so they report the reason rather than "unknown".
problem_responses(app, segment_fields=True)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The resolver as a function handler, so `serve` calls it as it calls the functions."""
    return app.resolve(event, context)


class BadWriteKey(OmnijourneyError):
    status = 401
    title = "Bad or missing write key"
    code = "bad_write_key"


def accept_call(call: str) -> Response[str]:
    """One Tracking API call: authenticate, complete the message(s) as Segment does, sign, and deliver."""
    event = app.current_event
    authenticate(event.headers.get("authorization"))
    payload = as_object(load_json(decoded_body(raw_body(event), event.headers.get("content-encoding"))), "body")
    body = json.dumps(completed(call, payload)).encode()
    segment = webhook_source("segment")
    signature = segment.sign(Delivery("segment", body), webhook_secret("segment"), clock.now())
    receipt = accept_delivery("segment", {"Content-Type": "application/json", **signature}, body)
    answer = TrackingAccepted(accepted=len(receipt.event_ids), event_ids=receipt.event_ids)
    return Response(status_code=200, content_type="application/json", body=answer.model_dump_json())


def authenticate(authorization: str | None) -> None:
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        raise BadWriteKey("send the write key as HTTP Basic user name, with no password", field="Authorization")
    try:
        write_key = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError) as error:
        raise BadWriteKey("the Authorization header is not valid Basic credentials", field="Authorization") from error
    if write_key != LOCAL_WRITE_KEY:
        # Neither the key sent nor the right one is said: an error body may end up in a client's logs.
        raise BadWriteKey("unknown write key", field="Authorization")


def decoded_body(body: bytes, content_encoding: str | None) -> bytes:
    """The JSON bytes; the libraries may gzip them (analytics-python with gzip=True)."""
    if (content_encoding or "").strip().lower() != "gzip":
        return body
    limit = get_settings().max_body_bytes
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
            data = unzipped.read(limit + 1)  # bounded: a small gzip can unpack to gigabytes
    except (OSError, EOFError, zlib.error) as error:
        raise MalformedPayload(f"Content-Encoding is gzip but the body is not: {error}", field="body") from error
    if len(data) > limit:
        raise PayloadTooLarge(f"the body unpacks to more than {limit} bytes", field="body")
    return data


def completed(call: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What Segment forwards: the call's type set from the path, a messageId on every message, the device's clock
    skew taken out of its timestamp, no write key."""
    payload = {key: value for key, value in payload.items() if key != "writeKey"}
    now = clock.now()
    if call != "batch":
        return _message(payload | {"type": call}, payload.get("sentAt"), now)
    batch = payload.get("batch")
    if not isinstance(batch, list):
        raise MalformedPayload("batch must be a list of messages", field="batch")
    sent_at = payload.get("sentAt")
    payload["batch"] = [_message(message, sent_at, now) if isinstance(message, dict) else message for message in batch]
    return payload


def _message(message: dict[str, Any], sent_at: Any, now: datetime) -> dict[str, Any]:
    """As Segment's API completes a message: a messageId where there is none and, for a message that says when the
    device recorded it (`originalTimestamp`) and sent it (`sentAt`), timestamp = received - (sentAt -
    originalTimestamp), so a device clock set wrong does not move the event. A value that is not a timestamp is
    left for the parser to name."""
    completed = {**message, "messageId": message.get("messageId") or str(uuid.uuid4())}
    recorded, sent = message.get("originalTimestamp"), message.get("sentAt") or sent_at
    if message.get("timestamp") or not recorded or not sent:
        return completed
    try:
        skew = as_timestamp(sent, "sentAt", now) - as_timestamp(recorded, "originalTimestamp", now)
    except MalformedPayload:
        return completed
    return completed | {"timestamp": (now - skew).isoformat()}


def _route(call: str) -> None:
    def tracking_call() -> Response[str]:
        return accept_call(call)

    app.post(
        f"/v1/{call}",
        summary=f"Segment Tracking API: {call}",
        description="Local stand-in for api.segment.io: authenticated by the write key, then signed and delivered "
        "as the Webhooks (Actions) destination delivers to POST /webhooks/segment. Content-Encoding gzip is accepted.",
        tags=["segment tracking api"],
        operation_id=f"segment_{call}",
        security=[{"segmentWriteKey": []}],
        responses={
            200: answer_doc("Queued (Segment answers 200)", TrackingAccepted),
            **problem_docs(
                {
                    400: "Not a Segment message (or batch) the parser accepts; `field` names the culprit",
                    401: "The write key is missing or unknown",
                    413: "The body, or one message in it, is too large",
                    503: "The queue refused the events: send again",
                }
            ),
        },
        openapi_extensions={
            "requestBody": {"required": True, "content": {"application/json": {"schema": request_body_schema(call)}}}
        },
    )(tracking_call)


for _call in CALLS:
    _route(_call)
