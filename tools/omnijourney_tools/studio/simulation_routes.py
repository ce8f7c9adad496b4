"""The Simulate page's routes: the page (the scenarios, a run's progress, the last result), a customer's timeline in
that result, starting a run, and its progress as JSON for the page's progress bar. A run refused is a problem
(RFC 9457) whose `detail` the page shows."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from omnijourney.platform.configfile import ConfigError
from omnijourney_tools.simulation.scenario import ScenarioError, ScenarioLine
from omnijourney_tools.studio.bodies import TooLarge, body_within
from omnijourney_tools.studio.problems import problem
from omnijourney_tools.studio.protection import CSRF_HEADER
from omnijourney_tools.studio.simulation_result import STANDARD_USD_PER_TRANSITION
from omnijourney_tools.studio.simulation_runs import Busy, Simulations

# A 200-customer scenario is about a megabyte; anything this big is not one a page should upload.
MAX_SCENARIO_BYTES = 20_000_000


def simulation_routes(pages: Jinja2Templates, simulations: Simulations, *, folder: str, token: str) -> list[Route]:
    """The routes, for the studio over the journeys folder named `folder`, its pages carrying `token`."""

    def page(request: Request) -> Response:
        context = {
            "folder": folder,
            "token": token,
            "csrf_header": CSRF_HEADER,
            "scenarios": simulations.names(),
            "scenarios_folder": simulations.folder.name,
            "progress": simulations.progress(),
            "finished": simulations.finished(),
            "usd_per_1000_transitions": STANDARD_USD_PER_TRANSITION * 1000,
        }
        return pages.TemplateResponse(request, "simulate.html", context)

    def timeline(request: Request) -> Response:
        finished = simulations.finished()
        if finished is None or finished.run != request.path_params["run"]:
            return problem(404, "this result is gone: a newer run has replaced it; reload the page")
        customer = finished.customer(request.path_params["customer_id"])
        if customer is None:
            return problem(404, "no such customer in this result")
        return pages.TemplateResponse(request, "simulate_timeline.html", {"customer": customer})

    async def start(request: Request) -> Response:
        try:
            body = await body_within(request, MAX_SCENARIO_BYTES, "a scenario to upload")
        except TooLarge as error:
            return problem(413, str(error))
        # Parsing up to 20 MB and reading journeys/ block: in the threadpool, as Starlette runs a sync route.
        return await run_in_threadpool(started, body)

    def started(body: bytes) -> Response:
        try:
            scenario, lines = _lines_asked_for(simulations, body)
            simulations.start(scenario, lines)
        except ScenarioError as error:
            return problem(400, str(error))
        except ConfigError as error:
            return problem(400, f"nothing ran: {error}")
        except Busy as error:
            return problem(409, str(error))
        return JSONResponse(asdict(simulations.progress()), status_code=202)

    def progress(request: Request) -> Response:
        return JSONResponse(asdict(simulations.progress()))

    return [
        Route("/simulate", page),
        Route("/simulate/runs/{run:int}/customers/{customer_id}", timeline),
        Route("/api/simulation", start, methods=["POST"]),
        Route("/api/simulation", progress, methods=["GET"]),
    ]


def _lines_asked_for(simulations: Simulations, body: bytes) -> tuple[str, list[ScenarioLine]]:
    """`{"scenario": "<file in scenarios/>"}` or `{"upload": "<file name>", "text": "<its JSON lines>"}`."""
    try:
        sent: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ScenarioError(f"expected JSON naming a scenario or carrying one: {error}") from error
    if isinstance(sent, dict) and isinstance(sent.get("scenario"), str):
        return sent["scenario"], simulations.shipped(sent["scenario"])
    if isinstance(sent, dict) and isinstance(sent.get("upload"), str) and isinstance(sent.get("text"), str):
        return sent["upload"], simulations.uploaded(sent["upload"], sent["text"])
    raise ScenarioError('expected {"scenario": "<name>.jsonl"} or {"upload": "<name>.jsonl", "text": "<its lines>"}')
