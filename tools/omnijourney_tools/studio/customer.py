"""The customer screen for store staff and agents, served by the studio: the static page `make web` builds into
web/dist/customer/ (the same files the stack deploys behind CloudFront), its config.json, and the staff API it calls,
answered at /customers/staff/ by the staff API's own handler on a local backend.

The backend (moto, in this process) is started on the first search and seeded with the demo: the shoes story
(scenarios/shoes.jsonl) and two namesakes. Its clock stays at the end of the story, so the offers and stages shown are
those of that day, whatever today is. It runs on the studio's own journeys and config/ (the working tree's, chosen
once at start): while they have errors the screen says so instead of answering, as the deployed counter would not
deploy. It never switches folders for a request: the settings are the process's, read at the same moment by the
editor and by a simulation starting.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from omnijourney.app import config
from omnijourney.edge.http import PROBLEM_JSON
from omnijourney.platform.configfile import ConfigError
from omnijourney_tools.local import LocalBackend, http_event
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import ScenarioLine, parse_lines, read
from omnijourney_tools.studio.bodies import body_within
from omnijourney_tools.studio.front_end import WEB_DIST, built
from omnijourney_tools.studio.problems import Refused, problem
from omnijourney_tools.studio.protection import CSRF_HEADER

ROOT = Path(__file__).resolve().parents[3]
# Where web/build.mjs writes the customer screen (infra/staff.py names the folder it deploys SCREEN_FOLDER too).
SCREEN_FOLDER = WEB_DIST / "customer"
SCREEN_FILE_NAMES = ("index.html", "app.js", "customer.css")
STORY = ROOT / "scenarios" / "shoes.jsonl"
SHOPIFY_CUSTOMER = ROOT / "events" / "shopify" / "customers_create.json"
PRODUCT_ADDED = ROOT / "events" / "segment" / "product_added.json"
AFTER_THE_STORY = "2026-03-21T09:30:00Z"
CARE_KIT = {"sku": "CARE-KIT", "product_id": "prod-care-kit", "name": "Shoe Care Kit", "price": 19.95}
NAMESAKES = (("7390000000001", "maria.schmidt@example.com"), ("7390000000002", "m.schmidt@example.org"))
# A search is one identifier or a name: anything this big is not one.
MAX_SEARCH_BYTES = 16_384
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
    """The staff API's status and JSON body."""

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

    def ask(self, method: str, path: str, *, body: bytes = b"", content_type: str | None = None) -> Answer:
        """The staff API's answer to `method` `path` (under /staff/) with `body`; the queue drained and the journeys
        settled before it returns. Refused 503, asking for the errors to be fixed, while the journeys or config/ have
        errors."""
        with self._lock:
            try:
                for definition in DEFINITIONS:
                    definition()
            except ConfigError as error:
                first = error.problems[0] if error.problems else error
                detail = f"the journeys in {self._folder}/ have errors: fix them to use the customer screen ({first})"
                raise Refused(503, detail) from error
            backend = self._started()
            headers = {"content-type": content_type} if content_type else {}
            status, answered = backend.call_http("staff_api", http_event(method, path, headers=headers, body=body))
            backend.drain()
            backend.clock.settle()
            backend.status_changes()
            return Answer(status, answered)

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


def customer_routes(counter: Counter, *, folder: str, token: str, screen: Path = SCREEN_FOLDER) -> list[BaseRoute]:
    """The customer screen at /customers/: the built page in `screen` (FrontEndMissing if it is not there), its
    config.json (the shop's locale and currency, no sign-in, the CSRF `token` its changes carry, and the way back to
    the studio over the journeys `folder`) and the staff API at /customers/staff/."""
    built(screen, SCREEN_FILE_NAMES)

    def settings(request: Request) -> Response:
        try:
            shop = config.shop()
        except ConfigError as error:
            return problem(503, f"config/shop.yaml has errors: {error}")
        return JSONResponse(
            {
                "api": "/customers/staff",
                "locale": shop.locale,
                "currency": shop.currency,
                "sign_in": None,
                "csrf": {"header": CSRF_HEADER, "token": token},
                "studio": {"href": "/", "folder": folder},
            },
            headers={"Cache-Control": "no-store"},  # the token is new at every start
        )

    async def staff(request: Request) -> Response:
        # The path as sent (still percent-encoded), as API Gateway hands it to the function.
        path = request.scope["raw_path"].decode("ascii").removeprefix("/customers")
        body = await body_within(request, MAX_SEARCH_BYTES, "a search")
        content_type = request.headers.get("content-type")
        answer = await run_in_threadpool(counter.ask, request.method, path, body=body, content_type=content_type)
        media_type = PROBLEM_JSON if answer.status >= 400 else "application/json"
        # As the deployed staff API answers: about a customer, so kept by no cache.
        return JSONResponse(
            answer.body, status_code=answer.status, media_type=media_type, headers={"Cache-Control": "no-store"}
        )

    def to_screen(request: Request) -> Response:
        return RedirectResponse("/customers/")  # the studio's nav links here; the page's relative links need the slash

    return [
        Route("/customers", to_screen),
        Route("/customers/config.json", settings),
        Route("/customers/staff/{rest:path}", staff, methods=["GET", "POST"]),
        Mount("/customers", StaticFiles(directory=screen, html=True)),
    ]
