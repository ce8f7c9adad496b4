"""The profile API for store POS and call-center tools (behind an IAM authorizer in the stack)."""

import json
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.app.erasure import erase_customer
from omnijourney.edge.bodies import Erased, ProfileView
from omnijourney.edge.http import answer_doc, problem_docs, problem_responses
from omnijourney.platform.tracing import function_tracer
from omnijourney.profiles import service

logger = Logger()
tracer = function_tracer()
app = APIGatewayHttpResolver()
problem_responses(app)


def _json(body: object, status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


PROFILE = answer_doc("The customer's profile as of now", ProfileView)


@app.get(
    "/profiles",
    summary="Find a customer by phone, email or loyalty id (exactly one)",
    tags=["profiles"],
    responses={
        200: PROFILE,
        **problem_docs(
            {400: "Not exactly one of phone, email, loyalty_id (or one given twice)", 404: "No customer has it"}
        ),
    },
    # Validation parses the query into the parameters below (and documents them).
    enable_validation=True,
)
def look_up(
    phone: Annotated[str | None, Query(description="Any spelling; read as E.164")] = None,
    email: Annotated[str | None, Query()] = None,
    loyalty_id: Annotated[str | None, Query()] = None,
) -> Response[str]:
    given = {"phone": phone, "email": email, "loyalty_id": loyalty_id}
    return _json(service.look_up({key: value for key, value in given.items() if value}))


@app.get(
    "/profiles/<customer_id>",
    summary="A customer's profile",
    tags=["profiles"],
    responses={200: PROFILE, **problem_docs({404: "No such customer"})},
)
def get_profile(customer_id: str) -> Response[str]:
    return _json(service.view_of(service.get(customer_id)))


@app.delete(
    "/profiles/<customer_id>",
    summary="Erase a customer: profile, identities, history, journeys; the ledger forgets the address",
    tags=["profiles"],
    responses={200: answer_doc("Erased", Erased), **problem_docs({404: "No such customer"})},
)
def erase(customer_id: str) -> Response[str]:
    erased = erase_customer(customer_id)
    logger.info("customer erased", customer_ids=erased)
    return _json({"erased": erased})


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return app.resolve(event, context)
