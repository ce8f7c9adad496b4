"""SQS batches of canonical events → profiles; failed records are retried, then go to the DLQ; records that can
never be recorded are quarantined and acknowledged."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.app.profile_updates import handle_queue_message, register_context
from omnijourney.platform.tracing import CORRELATION_ANNOTATION, function_tracer

logger = Logger()
metrics = Metrics()
tracer = function_tracer()
processor = BatchProcessor(event_type=EventType.SQS)


def follow(correlation_id: str) -> None:
    """The event's delivery, on this record's log lines and its trace subsegment."""
    logger.set_correlation_id(correlation_id)
    tracer.put_annotation(key=CORRELATION_ANNOTATION, value=correlation_id)


@tracer.capture_method(capture_response=False, capture_error=False)
def record_handler(record: SQSRecord) -> None:
    logger.set_correlation_id(None)  # the previous record's
    for outcome in handle_queue_message(record.body, follow=follow):
        if "quarantine_id" in outcome:
            # The key and the reason only: the message itself may hold personal data.
            logger.warning("event quarantined", quarantine_id=outcome["quarantine_id"], reason=outcome["reason"])
        elif "dropped" in outcome:
            # Why only: the event names a record erased for a GDPR request, so not even its ids are logged.
            logger.info("event dropped", reason=outcome["dropped"])
            metrics.add_metric(name="EventsDroppedAsErased", unit=MetricUnit.Count, value=1)
        else:
            # Ids and counts only: the event and the profile hold personal data.
            logger.info(
                "event recorded",
                customer_id=outcome["customer_id"],
                started=len(outcome["started"]),
                resumed=len(outcome["resumed"]),
                stopped=len(outcome["stopped"]),
            )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, object], context: LambdaContext) -> PartialItemFailureResponse:
    register_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
