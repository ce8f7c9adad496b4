"""The OpenAPI document at /openapi.json against `omnijourney serve`, checked by schemathesis.

Every operation gets generated requests (bounded: this runs in `make test`). Webhooks are signed with the local
secret of the source in the path, and Tracking API calls carry the local write key, so the generated bodies reach
the parsers instead of stopping at 401. No answer may be a 5xx, and each must be documented: its status, its
content type and its body's schema.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from omnijourney.edge.sources import WEBHOOK_SOURCE_NAMES, get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.platform.errors import MalformedPayload
from omnijourney_tools.local import LOCAL_SECRETS, load_handler
from omnijourney_tools.serve.openapi import document
from omnijourney_tools.serve.tracking import LOCAL_WRITE_KEY
from tests.e2e.conftest import Served, Servers

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# 20 until issue 14; 60 reach more of what the parsers refuse, for about 5 s more in all (14 s → 19 s).
EXAMPLES_PER_OPERATION = 60
SHOPIFY_TOPICS = ("orders/create", "checkouts/create", "checkouts/update", "customers/create", "customers/update")


@pytest.fixture(scope="module")
def server(servers: Servers) -> Served:
    return servers.at(1)


# Built from the handlers here, as serve builds it (the first test checks they agree), so that schemathesis can
# parametrize the tests by operation when they are collected, before any server runs.
DOCUMENT = json.loads(document(load_handler))
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_serve_answers_the_openapi_3_1_document_of_the_public_routes(server: Served) -> None:
    served_document = requests.get(f"{server.url}/openapi.json", timeout=30).json()
    assert served_document == DOCUMENT
    assert DOCUMENT["openapi"].startswith("3.1")
    assert set(DOCUMENT["paths"]) == {
        "/webhooks/{source}",
        "/profiles",
        "/profiles/{customer_id}",
        "/profiles/by-name",
        "/profiles/{customer_id}/actions/{action_id}/done",
        "/staff/search",
        "/staff/customers/{customer_id}",
        "/staff/customers/{customer_id}/actions/{action_id}/done",
        *(f"/v1/{call}" for call in ("identify", "track", "page", "screen", "group", "alias", "batch")),
    }
    source = DOCUMENT["paths"]["/webhooks/{source}"]["post"]["parameters"][0]
    assert source["schema"]["enum"] == list(WEBHOOK_SOURCE_NAMES)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(case: Case, server: Served) -> None:
    request = requests.Request(**_request_arguments(case, server.url)).prepare()
    if case.path.startswith("/v1/"):
        request.prepare_auth((LOCAL_WRITE_KEY, ""))
    elif case.path == "/webhooks/{source}" and case.path_parameters.get("source") in LOCAL_SECRETS:
        _sign(request, case.path_parameters["source"])
    with requests.Session() as session:
        response = session.send(request, timeout=60)
    case.validate_response(response, checks=CHECKS)


def _request_arguments(case: Case, base_url: str) -> dict[str, object]:
    arguments = case.as_transport_kwargs(base_url=base_url)
    accepted = ("method", "url", "headers", "params", "cookies", "data", "json", "files")
    return {name: arguments[name] for name in accepted if name in arguments}


def _sign(request: requests.PreparedRequest, source: str) -> None:
    """Headers as the vendor would add them, computed with the local secret over the bytes about to be sent.

    Twilio signs form parameters: a body that is not a form cannot be signed, and goes unsigned (the server answers
    400 to it all the same)."""
    body = request.body or b""
    raw = body.encode() if isinstance(body, str) else body
    if source == "shopify":
        request.headers["X-Shopify-Topic"] = SHOPIFY_TOPICS[len(raw) % len(SHOPIFY_TOPICS)]
    delivery = Delivery(source, raw, dict(request.headers), request.url or "")
    with contextlib.suppress(MalformedPayload):
        request.headers.update(get_source(source).sign(delivery, LOCAL_SECRETS[source], datetime.now(UTC)))
