"""What an import sent to a stage's events queue on moto."""

from __future__ import annotations

from omnijourney.events import CanonicalEvent
from omnijourney.platform import aws


def queued_events(queue_url: str) -> list[CanonicalEvent]:
    """Every event on the queue, each received once (and kept from being received again while the test runs)."""
    found: list[CanonicalEvent] = []
    while True:
        answer = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600)
        if not answer.get("Messages"):
            return found
        found += [CanonicalEvent.from_message(message["Body"]) for message in answer["Messages"]]
