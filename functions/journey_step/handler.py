"""The journey-step function: every Task of every compiled journey, and executions' status changes."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.runtime.steps import execution_finished, perform

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == "Step Functions Execution Status Change":
        return execution_finished(event["detail"])
    return perform(event)
