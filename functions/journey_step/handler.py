"""The journey-step function: every Task of every compiled journey, and executions' status changes."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import JsonValue

from omnijourney.runtime.steps import execution_finished, perform

logger = Logger()
metrics = Metrics()
SEND_OUTCOMES = {"sent": "MessagesSent", "suppressed": "MessagesSuppressed", "deferred": "MessagesDeferred"}


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, JsonValue]:
    if event.get("detail-type") == "Step Functions Execution Status Change":
        return execution_finished(event["detail"])
    result = perform(event)
    outcome = result.get("outcome")
    if event["action"] == "send" and isinstance(outcome, str) and outcome in SEND_OUTCOMES:
        metrics.add_metric(name=SEND_OUTCOMES[outcome], unit=MetricUnit.Count, value=1)
    return result
