"""Push notifications through Amazon SNS `Publish` to a platform endpoint (FCM or APNs).

One message carries a payload per platform (MessageStructure=json), so the adapter need not know which
platform the customer's endpoint belongs to. The notification's title is the store's name; the message
key, journey and step travel as data so the app can report an open against the message.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omnijourney.channels import OutgoingMessage, classify
from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings


class PushAdapter:
    def send(self, message: OutgoingMessage) -> str:
        try:
            response = aws.client("sns").publish(
                TargetArn=message.to, Message=json.dumps(_payloads(message)), MessageStructure="json"
            )
        except (ClientError, BotoCoreError) as error:
            raise classify(error) from error
        return str(response["MessageId"])


def _payloads(message: OutgoingMessage) -> dict[str, str]:
    title = get_settings().store_name
    # FCM v1 requires every data value to be a string.
    data = {"message_key": message.message_key, "journey": message.journey, "step": message.step}
    fcm: dict[str, Any] = {
        "fcmV1Message": {"message": {"notification": {"title": title, "body": message.body}, "data": data}}
    }
    apns: dict[str, Any] = {"aps": {"alert": {"title": title, "body": message.body}}, **data}
    # SNS wants each platform's payload as a JSON string, and a "default" for any platform not listed.
    return {
        "default": message.body,
        "GCM": json.dumps(fcm),
        "APNS": json.dumps(apns),
        "APNS_SANDBOX": json.dumps(apns),
    }


ADAPTER = PushAdapter()
