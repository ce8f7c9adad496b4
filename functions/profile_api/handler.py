"""The profile API for store POS and call-center tools (behind an IAM authorizer in the stack)."""

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.app import profile_views
from omnijourney.app.next_best_actions import mark_done
from omnijourney.edge.bodies import ActionDone, Erased, NamedCustomers, ProfileView
from omnijourney.edge.http import answer_doc, json_answer, problem_docs, problem_responses
from omnijourney.platform.tracing import function_tracer

logger = Logger()
tracer = function_tracer()
app = APIGatewayHttpResolver()
problem_responses(app)


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
    return json_answer(profile_views.look_up({key: value for key, value in given.items() if value}))


@app.get(
    "/profiles/by-name",
    summary="Every customer with this first and last name (a name links nobody: namesakes are listed apart)",
    tags=["profiles"],
    responses={
        200: answer_doc("The customers with the name, oldest first", NamedCustomers),
        **problem_docs({400: "first_name or last_name missing"}),
    },
    enable_validation=True,
)
def look_up_by_name(
    first_name: Annotated[str, Query(description="Case and accents do not matter")],
    last_name: Annotated[str, Query(description="Case and accents do not matter")],
) -> Response[str]:
    return json_answer(profile_views.named(first_name, last_name))


@app.post(
    "/profiles/<customer_id>/actions/<action_id>/done",
    summary="Record that staff did one of the customer's next best actions (queued as an event)",
    tags=["profiles"],
    responses={
        202: answer_doc("Queued: the profile lists the action no more once it is applied", ActionDone),
        **problem_docs(
            {
                404: "No such customer, or no such action (one already done answers 202 again)",
                503: "The event queue did not take it",
            }
        ),
    },
)
def action_done(customer_id: str, action_id: str) -> Response[str]:
    return json_answer({"event_id": mark_done(customer_id, action_id)}, 202)


@app.get(
    "/profiles/<customer_id>",
    summary="A customer's profile",
    tags=["profiles"],
    responses={200: PROFILE, **problem_docs({404: "No such customer"})},
)
def get_profile(customer_id: str) -> Response[str]:
    return json_answer(profile_views.customer(customer_id))


@app.delete(
    "/profiles/<customer_id>",
    summary="Erase a customer: profile, identities, history, journeys; the ledger forgets the address",
    tags=["profiles"],
    responses={200: answer_doc("Erased", Erased), **problem_docs({404: "No such customer"})},
)
def erase(customer_id: str) -> Response[str]:
    from omnijourney.app.erasure import erase_customer  # lazy: what an erasure reaches loads on the first one

    erased = erase_customer(customer_id)
    logger.info("customer erased", customer_ids=erased)
    return json_answer({"erased": erased})


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return app.resolve(event, context)
