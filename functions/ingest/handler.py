"""POST /webhooks/{source}: verify, parse, enqueue, answer 202 fast."""

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.errors import OmnijourneyError
from omnijourney.http import problem_responses, raw_body, request_url
from omnijourney.ingest import accept_delivery
from omnijourney.settings import get_settings

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()


def rejected(error: OmnijourneyError) -> None:
    logger.warning("delivery rejected", status=error.status, detail=error.detail, field=error.field)
    metrics.add_metric(name=f"DeliveriesRejected{error.status}", unit=MetricUnit.Count, value=1)


problem_responses(app, observe=rejected)


@app.post("/webhooks/<source>")
def webhook(source: str) -> Response[str]:
    event = app.current_event
    receipt = accept_delivery(
        source, event.headers, raw_body(event), request_url(event, get_settings().public_base_url)
    )
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(receipt.event_ids))
    return Response(status_code=202, content_type="application/json", body=json.dumps(receipt.as_body()))


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return app.resolve(event, context)
