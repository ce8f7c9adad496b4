"""The event pipeline: the events queue and its DLQ, and SES feedback arriving SES → SNS → the same queue."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import DeploySettings
from omnijourney.platform.settings import MAX_RECEIVE_COUNT

# SQS's visibility must outlast a whole batch of the profile function (AWS recommends 6 times its timeout).
PROFILE_TIMEOUT_SECONDS = 60


def encrypted_queue(scope: Construct, construct_id: str, queue_name: str, key: kms.IKey, **options: Any) -> sqs.Queue:
    """A queue encrypted with the stack's key that refuses plain HTTP; dead-letter queues keep 14 days."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        **({"retention_period": Duration.days(14)} | options),
    )


class EventPipeline(Construct):
    def __init__(self, scope: Construct, name: str, *, settings: DeploySettings, key: kms.IKey) -> None:
        super().__init__(scope, name)
        self.dead_letters = encrypted_queue(self, "DeadLetters", f"{settings.prefix}-events-dlq", key)
        self.events = encrypted_queue(
            self,
            "Events",
            f"{settings.prefix}-events",
            key,
            visibility_timeout=Duration.seconds(6 * PROFILE_TIMEOUT_SECONDS),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
        )
        self.ses_events = sns.Topic(
            self, "SesEvents", topic_name=f"{settings.prefix}-ses-events", master_key=key, enforce_ssl=True
        )
        # SNS encrypts into the queues with the stack's key.
        key.grant_encrypt_decrypt(iam.ServicePrincipal("sns.amazonaws.com"))
        # What SNS cannot deliver to the events queue after its retries (the queue gone, its key refused) waits here,
        # alarmed: SES notices as SNS delivers them, for the events queue once it takes them again.
        self.feedback_dead_letters = encrypted_queue(
            self, "FeedbackDeadLetters", f"{settings.prefix}-ses-events-dlq", key
        )
        self.ses_events.add_subscription(
            subscriptions.SqsSubscription(self.events, dead_letter_queue=self.feedback_dead_letters)
        )
