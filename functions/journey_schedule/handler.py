"""EventBridge Scheduler → a scheduled journey's turn: its audience enters (input: {"journey": name})."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.platform.tracing import function_tracer
from omnijourney.runtime.triggers import run_schedule

logger = Logger()
tracer = function_tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = run_schedule(event["journey"]).started
    logger.info("scheduled journey ran", journey=event["journey"], started=len(started))
    return {"started": started}
