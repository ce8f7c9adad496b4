"""Sending: the SES configuration set whose events (bounces, complaints, opens, clicks) come back as events, and
whose Send records confirm the ledger's pending entries (docs/operations.md, "Sends")."""

from __future__ import annotations

from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.settings import DeploySettings

FEEDBACK = [
    ses.EmailSendingEvent.SEND,
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.OPEN,
    ses.EmailSendingEvent.CLICK,
    ses.EmailSendingEvent.SUBSCRIPTION,
]


class Messaging(Construct):
    def __init__(self, scope: Construct, name: str, *, settings: DeploySettings, feedback: sns.ITopic) -> None:
        super().__init__(scope, name)
        self.configuration_set = ses.ConfigurationSet(
            self, "ConfigurationSet", configuration_set_name=f"{settings.prefix}-messages"
        )
        self.configuration_set.add_event_destination(
            "Feedback", destination=ses.EventDestination.sns_topic(feedback), events=FEEDBACK
        )
        self.identity = ses.EmailIdentity(
            self,
            "Sender",
            identity=ses.Identity.domain(settings.email_domain)
            if settings.email_domain
            else ses.Identity.email(settings.email_from_address),
            configuration_set=self.configuration_set,
        )

    def environment(self, settings: DeploySettings) -> dict[str, str]:
        values = {
            "OMNIJOURNEY_EMAIL_FROM_ADDRESS": settings.email_from_address,
            "OMNIJOURNEY_EMAIL_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
            "OMNIJOURNEY_STORE_NAME": settings.store_name,
            "OMNIJOURNEY_UNSUBSCRIBE_BASE_URL": settings.unsubscribe_base_url,
        }
        if settings.sms_sender_id:
            values["OMNIJOURNEY_SMS_SENDER_ID"] = settings.sms_sender_id
        return values
