"""Email through Amazon SES v2 `SendEmail` with simple content, so SES builds and encodes the MIME message.

With a configuration set, SES event publishing sends bounces, complaints, deliveries, opens and clicks
to SNS → the events queue, and each event carries this message's tags: that is how feedback finds its
journey, step and message key again, and how SES's `Send` and `Delivery` records confirm a ledger entry left
`pending` (runtime.ledger.confirm_sent).
"""

from __future__ import annotations

import re
from email.utils import formataddr
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omnijourney.channels import OutgoingMessage, SendFailed, classify
from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings
from omnijourney.vocabulary import Category

# SES accepts only these characters in tag names and values, at most 256 of them.
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_TAG_MAX_LENGTH = 256


class EmailAdapter:
    def send(self, message: OutgoingMessage) -> str:
        if message.subject is None:
            raise SendFailed("missing_subject", retryable=False, detail=f"email step {message.step} has no subject")
        settings = get_settings()
        simple: dict[str, Any] = {
            "Subject": {"Data": message.subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}},
        }
        if message.category == Category.marketing:
            simple["Headers"] = _one_click_unsubscribe(message)
        request: dict[str, Any] = {
            # formataddr RFC 2047-encodes a non-ASCII store name, as SES requires.
            "FromEmailAddress": formataddr((settings.store_name, settings.email_from_address)),
            "Destination": {"ToAddresses": [message.to]},
            "Content": {"Simple": simple},
            "EmailTags": _tags(message),
        }
        if settings.email_configuration_set:
            request["ConfigurationSetName"] = settings.email_configuration_set
        try:
            response = aws.client("sesv2").send_email(**request)
        except (ClientError, BotoCoreError) as error:
            raise classify(error) from error
        return str(response["MessageId"])


def _one_click_unsubscribe(message: OutgoingMessage) -> list[dict[str, str]]:
    """RFC 8058 headers; Gmail and Yahoo require them on bulk marketing mail, so none goes out without."""
    if not message.unsubscribe_url:
        raise SendFailed(
            "missing_unsubscribe_url", retryable=False, detail=f"marketing email {message.message_key} has no URL"
        )
    return [
        {"Name": "List-Unsubscribe", "Value": f"<{message.unsubscribe_url}>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]


def tag_value(value: str) -> str:
    """`value` as an SES tag carries it: the ledger reads a message key back from SES's events in this form."""
    return _TAG_UNSAFE.sub("_", value)[:_TAG_MAX_LENGTH]


def _tags(message: OutgoingMessage) -> list[dict[str, str]]:
    values = {
        "journey": message.journey,
        "step": message.step,
        "customer_id": message.customer_id,
        "category": message.category,
        "message_key": message.message_key,
    }
    return [{"Name": name, "Value": tag_value(value)} for name, value in values.items()]


ADAPTER = EmailAdapter()
