"""SES's event publishing on moto: the `Send` record SES publishes for each email it takes through a configuration set
whose event destination is an SNS topic, as the deployed configuration set does (infra/messaging.py).

moto's SES v2 takes an email and keeps neither its tags nor its configuration set, and publishes no event. Here, after
it took one sent through such a configuration set, its `Send` record goes to the destination's topic, in SES's own
format with the message's tags (its ledger key among them), and from there the way every SES record goes: SNS → the
events queue → the profile function, which confirms the ledger entry the tags name (docs/operations.md, "Sends").
SES publishes as a service, not with the sender's credentials: through moto's SNS backend, not a client, so neither
the functions' recorded calls nor their injected faults see it. The record is stamped with the clock's time (the
virtual clock in a simulation). Only `Send`: moto delivers nothing, so there is no Delivery, Bounce or Open to tell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parseaddr
from typing import Any
from unittest import mock

from omnijourney.platform import clock

# The record kind SES publishes for every message it accepts; an event destination lists the kinds it takes.
SEND = "send"


class SendRecords:
    """While `installed`, each email moto's SES v2 takes through a configuration set with an SNS destination that
    takes Send records has its record published there; `published` counts them."""

    def __init__(self) -> None:
        self.published = 0
        self._held: list[tuple[Any, str, str]] | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """SES late: the records of the emails taken in the block are published when it ends, as SES publishes them
        within seconds rather than at once (what staff see in between can then be read)."""
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            for topics, topic_arn, record in held:
                self._deliver(topics, topic_arn, record)

    @contextmanager
    def installed(self) -> Iterator[None]:
        from moto.sesv2.responses import SESV2Response

        send_email = SESV2Response.send_email

        def publishing(response: SESV2Response) -> str:
            answer: str = send_email(response)
            self._publish(response, json.loads(response.body), json.loads(answer)["MessageId"])
            return answer

        with mock.patch.object(SESV2Response, "send_email", publishing):
            yield

    def _publish(self, response: Any, request: dict[str, Any], message_id: str) -> None:
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        account, region = response.current_account, response.region
        # Without a configuration set SES publishes nothing (an identity's own notifications carry no tags).
        destinations = ses_backends[account][region].config_set_event_destination
        destination = destinations.get(request.get("ConfigurationSetName", ""))
        if not destination or not destination.get("Enabled") or SEND not in destination["MatchingEventTypes"]:
            return
        record = json.dumps(send_record(request, message_id, account, region))
        publication = (sns_backends[account][region], destination["SNSDestination"]["TopicARN"], record)
        if self._held is None:
            self._deliver(*publication)
        else:
            self._held.append(publication)

    def _deliver(self, topics: Any, topic_arn: str, record: str) -> None:
        topics.publish(record, arn=topic_arn)
        self.published += 1


def send_record(request: dict[str, Any], message_id: str, account: str, region: str) -> dict[str, Any]:
    """The `Send` record of the SendEmail `request` SES took as `message_id`, as event publishing writes it: the mail
    object (sender, recipients, the headers SES builds for simple content, and the tags: SES's own and the message's,
    each a list of values) and an empty `send`."""
    source = request["FromEmailAddress"]
    sender = parseaddr(source)[1]
    destination = request.get("Destination", {})
    to = destination.get("ToAddresses", [])
    recipients = [*to, *destination.get("CcAddresses", []), *destination.get("BccAddresses", [])]
    subject = request["Content"]["Simple"]["Subject"]["Data"]
    headers = {"From": source, "To": ", ".join(to), "Subject": subject, "MIME-Version": "1.0"}
    headers |= {header["Name"]: header["Value"] for header in request["Content"]["Simple"].get("Headers", [])}
    tags = {
        "ses:operation": ["SendEmail"],
        "ses:configuration-set": [request["ConfigurationSetName"]],
        "ses:from-domain": [sender.rpartition("@")[2]],
    }
    tags |= {tag["Name"]: [tag["Value"]] for tag in request.get("EmailTags", [])}
    return {
        "eventType": "Send",
        "mail": {
            "timestamp": clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "source": source,
            "sourceArn": f"arn:aws:ses:{region}:{account}:identity/{sender}",
            "sendingAccountId": account,
            "messageId": message_id,
            "destination": recipients,
            "headersTruncated": False,
            "headers": [{"name": name, "value": value} for name, value in headers.items()],
            "commonHeaders": {"from": [source], "to": to, "messageId": message_id, "subject": subject},
            "tags": tags,
        },
        "send": {},
    }
