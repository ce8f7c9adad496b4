"""The OpenAPI 3.1 document of what `omnijourney serve` answers, merged from the routes' own descriptions.

Each function's resolver describes its routes (summaries, parameters, `responses=` naming the bodies in
`omnijourney.bodies`); Powertools' OpenAPIMerge puts the webhook, profile and Segment Tracking API routes together.
The local-only /_local/ endpoints are not part of it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version
from types import ModuleType

from omnijourney_tools.serve import tracking

# The functions behind the HTTP API (functions/<name>/handler.py, each with its resolver as `app`).
HTTP_FUNCTIONS = ("ingest", "profile_api", "staff_api")
DESCRIPTION = (
    "Channel webhooks, the profile API, the staff API and, under `omnijourney serve` only, Segment's Tracking API. "
    "Errors are RFC 9457 problem details. On AWS the profile routes sit behind an IAM authorizer (SigV4) and the staff "
    "routes behind a JWT authorizer (staff signed in through Cognito); locally they are open."
)


def document(handler: Callable[[str], ModuleType]) -> str:
    """The merged document as JSON, from the handlers `handler(name)` loads; a route described twice is an error."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merged = OpenAPIMerge(
        title="omnijourney", version=version("omnijourney"), description=DESCRIPTION, on_conflict="error"
    )
    for resolver in [*(handler(name).app for name in HTTP_FUNCTIONS), tracking.app]:
        merged.add_schema(resolver.get_openapi_schema())
    text: str = merged.get_openapi_json_schema()
    return text
