"""EventBridge Scheduler → a scheduled journey's turn: its audience enters (input: {"journey": name}); or, hourly,
time's turn for segments: every customer whose segments are due on their local day (input: {"segments": "daily"}),
and the sends of an hour that no provider confirmed, `MessagesUnreconciled` (alarmed; docs/operations.md, "Sends")."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.platform import clock
from omnijourney.platform.tracing import function_tracer

logger = Logger()
metrics = Metrics()
tracer = function_tracer()


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # lazy: the journey runtime (its stores, the journeys, the facts) loads on the first turn, not at cold start
    from omnijourney.analytics.stream import flush
    from omnijourney.runtime.ledger import newly_unconfirmed
    from omnijourney.runtime.segments import evaluate_due_segments
    from omnijourney.runtime.triggers import run_schedule

    answer: dict[str, Any]
    if "segments" in event:
        reaction = evaluate_due_segments()
        logger.info("segments evaluated", started=len(reaction.started), stopped=len(reaction.stopped))
        unconfirmed = newly_unconfirmed(clock.now())
        metrics.add_metric(name="MessagesUnreconciled", unit=MetricUnit.Count, value=unconfirmed)
        logger.info("sends left unconfirmed", count=unconfirmed)
        answer = {"started": reaction.started, "stopped": reaction.stopped, "unreconciled": unconfirmed}
    else:
        answer = {"started": run_schedule(event["journey"]).started}
        logger.info("scheduled journey ran", journey=event["journey"], started=len(answer["started"]))
    # The runs started (analytics facts), one put per invocation; see docs/analytics.md for a put that fails here.
    flush()
    return answer
