"""The staff API behind the deployed customer screen: find a customer, read their page, mark a next best action done.

Store staff and call-center agents sign in through the stack's Cognito user pool; a JWT authorizer guards these
routes. They read and record, never erase: erasure stays on the IAM-authorized profile API.
"""

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext

from omnijourney.app import profile_views
from omnijourney.app.next_best_actions import mark_done
from omnijourney.edge.bodies import ActionDone, NamedCustomers, ProfileView, StaffSearch
from omnijourney.edge.http import answer_doc, json_answer, problem_docs, problem_responses, uncached, unreadable_json
from omnijourney.platform.tracing import function_tracer

logger = Logger()
tracer = function_tracer()
app = APIGatewayHttpResolver(enable_validation=True)
problem_responses(app)


@app.post(
    "/staff/search",
    summary="Find customers by phone, email, loyalty id, or first and last name (namesakes listed apart)",
    tags=["staff"],
    responses={
        200: answer_doc("The customers found: none, one, or several with the same name", NamedCustomers),
        **problem_docs(
            {
                400: "Not JSON, not exactly one way to search, or a phone or email nobody can have",
                415: "The body is not sent as application/json",
            }
        ),
    },
)
def search(wanted: Annotated[StaffSearch, Body()]) -> Response[str]:
    return json_answer(profile_views.search(wanted.model_dump()))


@app.get(
    "/staff/customers/<customer_id>",
    summary="What the counter needs: cart, orders, offers, tickets, consent, stage, segments, next best actions",
    tags=["staff"],
    responses={
        200: answer_doc("The customer's profile as of now", ProfileView),
        **problem_docs({404: "No such customer"}),
    },
)
def customer(customer_id: str) -> Response[str]:
    return json_answer(profile_views.customer(customer_id))


@app.post(
    "/staff/customers/<customer_id>/actions/<action_id>/done",
    summary="Record that staff did one of the customer's next best actions (queued as an event)",
    tags=["staff"],
    responses={
        202: answer_doc("Queued: the profile lists the action no more once it is applied", ActionDone),
        **problem_docs({404: "No such customer, or no such action", 503: "The event queue did not take it"}),
    },
)
def action_done(customer_id: str, action_id: str) -> Response[str]:
    # Who did it: the signed-in staff member's subject from the JWT authorizer (none locally, where nobody signs in).
    staff = app.current_event.request_context.authorizer.jwt_claim.get("sub")
    return json_answer({"event_id": mark_done(customer_id, action_id, staff=staff)}, 202)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    # Every answer, errors included, is about a customer or a search for one: kept by no cache.
    return uncached(unreadable_json(event) or app.resolve(event, context))
