"""The journey-step function: every Task of every compiled journey, and executions' status changes."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.runtime.steps import execution_finished, perform

logger = Logger()
metrics = Metrics()
SEND_OUTCOMES = {"sent": "MessagesSent", "suppressed": "MessagesSuppressed", "deferred": "MessagesDeferred"}


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == "Step Functions Execution Status Change":
        return execution_finished(event["detail"])
    result = perform(event)
    if event["action"] == "send" and result["outcome"] in SEND_OUTCOMES:
        metrics.add_metric(name=SEND_OUTCOMES[result["outcome"]], unit=MetricUnit.Count, value=1)
    return result
