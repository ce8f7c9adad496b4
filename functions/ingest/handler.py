"""POST /webhooks/{source}: verify, parse, enqueue, answer 202 fast."""

from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.edge.bodies import Accepted
from omnijourney.edge.http import answer_doc, json_answer, problem_docs, problem_responses, raw_body, request_url
from omnijourney.edge.ingest import accept_delivery
from omnijourney.edge.sources import WEBHOOK_SOURCE_NAMES
from omnijourney.platform.errors import OmnijourneyError
from omnijourney.platform.settings import get_settings
from omnijourney.platform.tracing import CORRELATION_ANNOTATION, function_tracer

# The values of {source}, for the OpenAPI document. A Literal built from the tuple at run time, as mypy cannot read one.
if TYPE_CHECKING:
    WebhookSource = str
else:
    WebhookSource = Literal[WEBHOOK_SOURCE_NAMES]

logger = Logger()
metrics = Metrics()
tracer = function_tracer()
app = APIGatewayHttpResolver()


def rejected(error: OmnijourneyError) -> None:
    # The kind of refusal and the field at fault, never the detail: it may quote what was sent (an email given as a
    # timestamp, say). The channel reads the detail in its answer; a quarantined delivery keeps it with the body.
    logger.warning(
        "delivery rejected",
        status=error.status,
        code=error.code,
        field=error.field,
        quarantine_id=error.quarantine_id,
    )
    metrics.add_metric(name=f"DeliveriesRejected{error.status}", unit=MetricUnit.Count, value=1)


problem_responses(app, observe=rejected)


@app.post(
    "/webhooks/<source>",
    summary="A channel's webhook delivery",
    description="The body is the vendor's own payload, verified by the vendor's signature over the raw bytes, then "
    "parsed and queued: docs/sources/<source>.md says which headers each source signs with and what becomes what.",
    tags=["webhooks"],
    responses={
        202: answer_doc("Verified, parsed and queued", Accepted),
        **problem_docs(
            {
                400: "Signed, but cannot be parsed (kept for replay under `quarantine_id`); `field` names the culprit",
                401: "The signature header is missing or wrong, or (Zendesk) its timestamp is stale",
                404: "No webhook source by that name",
                413: "The body, one Segment message in it, or one event as a queue message, is too large",
                503: "The source's secret is not configured, or the queue refused the events: send again",
            }
        ),
    },
    openapi_extensions={
        # The body is read as raw bytes (signatures cover them), so no parameter of the function declares it.
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            },
        }
    },
)
def webhook(source: WebhookSource) -> Response[str]:
    event = app.current_event
    receipt = accept_delivery(
        source, event.headers, raw_body(event), request_url(event, get_settings().public_base_url)
    )
    # The delivery's correlation id (no personal data): the profile function and the journeys log it too.
    logger.set_correlation_id(receipt.correlation_id)
    tracer.put_annotation(key=CORRELATION_ANNOTATION, value=receipt.correlation_id)
    logger.info("delivery accepted", source=source, events=len(receipt.event_ids))
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(receipt.event_ids))
    return json_answer(receipt.as_body(), 202)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return app.resolve(event, context)
