"""Twilio inbound SMS: opt-out, opt-in and help keywords, and any other reply.

Signed with X-Twilio-Signature = base64 HMAC-SHA1(auth token, URL + each POST parameter's name and
value, sorted by name), as the `twilio` package's RequestValidator computes it. Twilio sends no
timestamp; duplicates are recognised by MessageSid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from omnijourney.edge.sources.delivery import Delivery, b64, canonical_event, hmac_digest, require, require_signature
from omnijourney.events import (
    CanonicalEvent,
    Channel,
    ConsentChange,
    ConsentChannel,
    ConsentStatus,
    EventType,
)
from omnijourney.identifiers import Identifier, IdentifierKind, as_region
from omnijourney.platform.errors import MalformedPayload

# Twilio's default Advanced Opt-Out keywords (case-insensitive, the whole body).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})


def form_params(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedPayload(f"the body is not form-encoded: {error}", field="body") from error


class TwilioSource:
    name = "twilio"
    header = "X-Twilio-Signature"

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        params = form_params(delivery.body) if delivery.body else {}
        signed = delivery.url + "".join(name + value for name in sorted(params) for value in sorted(params[name]))
        return {self.header: b64(hmac_digest("sha1", secret, signed.encode()))}

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        require_signature(delivery.header(self.header), self.sign(delivery, secret, now)[self.header], self.header)

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        params = {name: values[0] for name, values in form_params(delivery.body).items()}
        message_sid = require(params, "MessageSid")
        sender = require(params, "From")
        body = params.get("Body", "")
        # With Advanced Opt-Out on, Twilio names the keyword class itself.
        keyword = (params.get("OptOutType") or body).strip().upper()
        fields: dict[str, Any] = {
            "event_id": f"twilio:{message_sid}",
            "source": self.name,
            "channel": Channel.sms,
            "occurred_at": delivery.received_at,
            "received_at": delivery.received_at,
            # Twilio sends From in E.164; FromCountry is where a number without its country code would be read.
            "identifiers": [
                Identifier.required(IdentifierKind.phone, sender, "From", as_region(params.get("FromCountry")))
            ],
            "properties": {
                "body": body,
                "to": params.get("To"),
                "keyword": keyword if keyword in OPT_OUT | OPT_IN | HELP else None,
            },
        }
        if keyword in OPT_OUT or keyword in OPT_IN:
            status = ConsentStatus.unsubscribed if keyword in OPT_OUT else ConsentStatus.subscribed
            change = ConsentChange(channel=ConsentChannel.sms, status=status)
            return [canonical_event(**fields, type=EventType.consent_changed, name=f"SMS {keyword}", consent=(change,))]
        return [canonical_event(**fields, type=EventType.message_received, name="SMS received")]


SOURCE = TwilioSource()
