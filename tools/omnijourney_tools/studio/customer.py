"""The customer screen for store staff and agents: find a customer by phone, email, loyalty id or name, see what the
counter needs, and mark a next best action done.

Every answer comes from the profile API's own handler on a local backend (moto, in this process), started on the
first visit and seeded with the demo: the shoes story (scenarios/shoes.jsonl) and two namesakes. Its clock stays at
the end of the story, so the offers and stages shown are those of that day, whatever today is. It runs on the studio's
own journeys and config/ (the working tree's, chosen once at start): while they have errors the screen says so instead
of answering, as the deployed counter would not deploy. It never switches folders for a request: the settings are the
process's, read at the same moment by the editor and by a simulation starting.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from omnijourney.app import config
from omnijourney.platform.configfile import ConfigError
from omnijourney_tools.local import LocalBackend, http_event
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import ScenarioLine, parse_lines, read

ROOT = Path(__file__).resolve().parents[3]
STORY = ROOT / "scenarios" / "shoes.jsonl"
SHOPIFY_CUSTOMER = ROOT / "events" / "shopify" / "customers_create.json"
PRODUCT_ADDED = ROOT / "events" / "segment" / "product_added.json"
AFTER_THE_STORY = "2026-03-21T09:30:00Z"
# How staff find someone: the profile API's lookup keys, then a name.
FOUND_BY = {"phone": "Phone", "email": "Email", "loyalty_id": "Loyalty id", "name": "First and last name"}
CARE_KIT = {"sku": "CARE-KIT", "product_id": "prod-care-kit", "name": "Shoe Care Kit", "price": 19.95}
NAMESAKES = (("7390000000001", "maria.schmidt@example.com"), ("7390000000002", "m.schmidt@example.org"))
# Every definition the backend reads: each raises ConfigError while its files have errors.
DEFINITIONS = (
    config.identifiers,
    config.lifecycle,
    config.consistency,
    config.products,
    config.offers,
    config.shop,
    config.segments,
    config.journeys,
)


@dataclass(frozen=True)
class Answer:
    """The profile API's status and JSON body."""

    status: int
    body: dict[str, Any]


class Counter:
    """The local backend behind the customer screen: started once, on first use, and used one request at a time (it is
    one process-wide backend, as one Lambda container is). `folder` names the journeys folder in what it says."""

    def __init__(self, seed: Callable[[], list[ScenarioLine]], *, folder: str) -> None:
        self._seed = seed
        self._folder = folder
        self._lock = threading.Lock()
        self._backend: LocalBackend | None = None

    def ask(self, method: str, path: str, query: dict[str, str] | None = None) -> Answer:
        """The profile API's answer; the queue drained and the journeys settled before it returns. 503, asking for the
        errors to be fixed, while the journeys or config/ have errors."""
        with self._lock:
            try:
                for definition in DEFINITIONS:
                    definition()
            except ConfigError as error:
                first = error.problems[0] if error.problems else error
                detail = f"the journeys in {self._folder}/ have errors: fix them to use the customer screen ({first})"
                return Answer(503, {"detail": detail})
            backend = self._started()
            status, body = backend.call_http("profile_api", http_event(method, path, query=query))
            backend.drain()
            backend.clock.settle()
            backend.status_changes()
            return Answer(status, body)

    def _started(self) -> LocalBackend:
        if self._backend is None:
            lines = self._seed()
            backend = LocalBackend(stage="studio", start=lines[0].at)
            Simulation(backend).run(lines)
            self._backend = backend
        return self._backend

    def stop(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.stop()
                self._backend = None


def demo_lines() -> list[ScenarioLine]:
    """The shoes story; the day after, Lena puts the care kit her offer covers in her web cart, and two customers
    named Maria Schmidt sign up in the web shop."""
    story = read(STORY)
    added = json.loads(PRODUCT_ADDED.read_text(encoding="utf-8"))
    added |= {"messageId": "studio-demo-care-kit", "properties": added["properties"] | CARE_KIT}
    added |= dict.fromkeys(("originalTimestamp", "sentAt", "receivedAt", "timestamp"), AFTER_THE_STORY)
    later = [json.dumps({"at": AFTER_THE_STORY, "source": "segment", "body": added})]
    template = json.loads(SHOPIFY_CUSTOMER.read_text(encoding="utf-8"))
    for customer_id, email in NAMESAKES:
        body = copy.deepcopy(template) | {"id": int(customer_id), "email": email, "first_name": "Maria"}
        body |= {"last_name": "Schmidt", "default_address": None, "addresses": []}
        line = {"at": "2026-03-21T10:00:00Z", "source": "shopify", "headers": {"X-Shopify-Topic": "customers/create"}}
        later.append(json.dumps(line | {"body": body}))
    return story + parse_lines("\n".join(later), "the studio's demo")


def customer_routes(pages: Jinja2Templates, counter: Counter, *, folder: str, token: str) -> list[Route]:
    """The customer screen's routes, its pages carrying `token` (the "Done" buttons need it) and, as every studio
    page, the journeys' `folder`."""

    def context() -> dict[str, Any]:
        return {"folder": folder, "token": token}

    def find(request: Request) -> Response:
        by = request.query_params.get("by", "phone")
        by = by if by in FOUND_BY else "phone"
        given = {key: request.query_params.get(key, "").strip() for key in ("value", "first_name", "last_name")}
        shown: dict[str, Any] = {"by": by, "found_by": FOUND_BY, **given, "problem": None, "customers": None}
        # A name needs both parts: the index keys first and last together.
        wanted = given["first_name"] and given["last_name"] if by == "name" else given["value"]
        if not wanted:
            asked = "by" in request.query_params  # the form sent, not the page opened
            missing = "Enter a first and last name." if by == "name" else "Enter a phone, email or loyalty id."
            shown["problem"] = missing if asked else None
        elif by == "name":
            answer = counter.ask("GET", "/profiles/by-name", {k: given[k] for k in ("first_name", "last_name")})
            if answer.status == 200 and len(answer.body["customers"]) == 1:
                return _to_customer(answer.body["customers"][0]["customer_id"])
            shown["customers"] = answer.body.get("customers")
            shown["problem"] = _problem(answer) or (None if shown["customers"] else "No customer has this name.")
        else:
            answer = counter.ask("GET", "/profiles", {by: given["value"]})
            if answer.status == 200:
                return _to_customer(answer.body["customer_id"])
            shown["problem"] = _problem(answer)
        return pages.TemplateResponse(request, "customers.html", context() | shown)

    def customer(request: Request) -> Response:
        answer = counter.ask("GET", f"/profiles/{quote(request.path_params['customer_id'], safe='')}")
        if answer.status != 200:
            shown = {"by": "phone", "found_by": FOUND_BY, "value": "", "customers": None, "problem": _problem(answer)}
            return pages.TemplateResponse(request, "customers.html", context() | shown, status_code=answer.status)
        return pages.TemplateResponse(request, "customer.html", context() | {"profile": answer.body})

    def done(request: Request) -> Response:
        customer_id, action_id = (quote(request.path_params[name], safe="") for name in ("customer_id", "action_id"))
        answer = counter.ask("POST", f"/profiles/{customer_id}/actions/{action_id}/done")
        return JSONResponse(answer.body, status_code=answer.status)

    return [
        Route("/customers", find),
        Route("/customers/{customer_id}", customer),
        Route("/api/customers/{customer_id}/actions/{action_id}/done", done, methods=["POST"]),
    ]


def _to_customer(customer_id: str) -> Response:
    return Response(status_code=303, headers={"Location": f"/customers/{quote(customer_id, safe='')}"})


def _problem(answer: Answer) -> str | None:
    if answer.status == 200:
        return None
    if answer.status == 404:
        return "Not found: no customer has this."
    return str(answer.body.get("detail") or answer.body.get("message") or f"the profile API answered {answer.status}")
