"""SQS batches of canonical events → profiles; failed records are retried, then go to the DLQ; records that can
never be recorded are quarantined and acknowledged."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.app.profile_updates import handle_queue_message, register_context

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    for outcome in handle_queue_message(record.body):
        if "quarantine_id" in outcome:
            # The key and the reason only: the message itself may hold personal data.
            logger.warning("event quarantined", quarantine_id=outcome["quarantine_id"], reason=outcome["reason"])


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> PartialItemFailureResponse:
    register_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
