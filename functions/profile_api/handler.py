"""The profile API for store POS and call-center tools (behind an IAM authorizer in the stack)."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.erasure import erase_customer
from omnijourney.http import problem_responses
from omnijourney.profiles import service

logger = Logger()
app = APIGatewayHttpResolver()
problem_responses(app)


def _json(body: object, status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


@app.get("/profiles")
def look_up() -> Response[str]:
    return _json(service.look_up(app.current_event.query_string_parameters or {}))


@app.get("/profiles/<customer_id>")
def get_profile(customer_id: str) -> Response[str]:
    return _json(service.view_of(service.get(customer_id)))


@app.delete("/profiles/<customer_id>")
def erase(customer_id: str) -> Response[str]:
    erased = erase_customer(customer_id)
    logger.info("customer erased", customer_ids=erased)
    return _json({"erased": erased})


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return app.resolve(event, context)
