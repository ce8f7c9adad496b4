"""SMS through Amazon SNS `Publish` to a phone number.

SNS hands SMS to AWS End User Messaging, so this reaches the same carriers, sender ids, spend limits and
opt-out lists as the `pinpoint-sms-voice-v2` API, and it runs on moto, which has no pinpoint-sms-voice-v2.
SNS takes no idempotency key for SMS, so the message key goes nowhere here; the ledger dedupes.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omnijourney.channels import OutgoingMessage, classify
from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings
from omnijourney.vocabulary import Category


class SmsAdapter:
    def send(self, message: OutgoingMessage) -> str:
        # Promotional is cheaper and may wait for quiet hours; receipts and service replies must not.
        sms_type = "Promotional" if message.category == Category.marketing else "Transactional"
        attributes: dict[str, Any] = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": sms_type}}
        sender_id = get_settings().sms_sender_id
        if sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}
        try:
            response = aws.client("sns").publish(
                PhoneNumber=message.to, Message=message.body, MessageAttributes=attributes
            )
        except (ClientError, BotoCoreError) as error:
            raise classify(error) from error
        return str(response["MessageId"])


ADAPTER = SmsAdapter()
