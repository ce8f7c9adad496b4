"""EventBridge, daily → the consistency audit of the day before (UTC) on Athena, published as CloudWatch metrics:
`ConsistencyScore` (an alarm fires below 1.0) and `ConsistencyViolations`."""

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.analytics.athena import consistency_audit
from omnijourney.platform.tracing import function_tracer

logger = Logger()
metrics = Metrics()
tracer = function_tracer()


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The day before the one the rule fired on: a retried event audits the same day.
    day = datetime.fromisoformat(event["time"]).date() - timedelta(days=1)
    audit = consistency_audit(day)
    metrics.add_metric(name="ConsistencyScore", unit=MetricUnit.NoUnit, value=audit.score)
    metrics.add_metric(name="ConsistencyViolations", unit=MetricUnit.Count, value=audit.violations)
    # Counts by rule only: which customers is for whoever follows up, in Athena.
    logger.info("consistency audited", day=day.isoformat(), score=audit.score, violations=audit.violations_by_rule)
    return {"day": day.isoformat(), "consistency_score": audit.score, "violations": audit.violations_by_rule}
