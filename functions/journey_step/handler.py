"""The journey-step function: every Task of every compiled journey, and executions' status changes."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import JsonValue

from omnijourney.platform.tracing import CORRELATION_ANNOTATION, function_tracer

logger = Logger()
metrics = Metrics()
tracer = function_tracer()
SEND_OUTCOMES = {"sent": "MessagesSent", "suppressed": "MessagesSuppressed", "deferred": "MessagesDeferred"}


def follow(correlation_id: str) -> None:
    """The delivery that started the run, on this Task's log lines and trace."""
    logger.set_correlation_id(correlation_id)
    tracer.put_annotation(key=CORRELATION_ANNOTATION, value=correlation_id)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, JsonValue]:
    # lazy: the journey runtime (its stores, the journeys, the channels) loads on the first Task, not at cold start
    from omnijourney.runtime.steps import execution_finished, perform

    if event.get("detail-type") == "Step Functions Execution Status Change":
        return execution_finished(event["detail"], follow=follow)
    result = perform(event, follow=follow)
    outcome = result.get("outcome")
    if event["action"] == "send" and isinstance(outcome, str) and outcome in SEND_OUTCOMES:
        metrics.add_metric(name=SEND_OUTCOMES[outcome], unit=MetricUnit.Count, value=1)
    return result
