"""The studio's Starlette application: the journeys page, a journey's page with its editor, and the editor's JSON
routes (check as you type, save, what a pull request would propose, the journey schema its completion reads).

Every route names a journey by its file in the journeys folder: a name that is not one of them is 404, so no request
reaches a path of its choosing. Every error is answered as a problem (studio.problems). The editor's script is the
bundle `make web` builds into web/dist/, served at /assets: without it the studio does not start.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from omnijourney.journeys.language import json_schema
from omnijourney.platform.configfile import Problem
from omnijourney_tools.journeys.diagram import event_text
from omnijourney_tools.studio.bodies import body_within
from omnijourney_tools.studio.checking import (
    Checked,
    Saved,
    SavedJourneys,
    check_text,
    journey_names,
    previews_of,
    step_lines,
)
from omnijourney_tools.studio.customer import Counter, customer_routes, demo_lines
from omnijourney_tools.studio.front_end import WEB_DIST, built
from omnijourney_tools.studio.picture import linked_svg
from omnijourney_tools.studio.previews import StepPreview
from omnijourney_tools.studio.problems import Refused, problem, refused
from omnijourney_tools.studio.protection import CSRF_HEADER, CsrfProtected, LoopbackOnly, PageHeaders
from omnijourney_tools.studio.simulation_routes import simulation_routes
from omnijourney_tools.studio.simulation_runs import SHIPPED_SCENARIOS, Simulations
from omnijourney_tools.studio.working_tree import proposed_change, save

HERE = Path(__file__).parent
EDITOR_BUNDLE = "editor.js"
# A journey is a page of YAML; anything this big is not one.
MAX_TEXT_BYTES = 1_000_000


@dataclass(frozen=True)
class Listed:
    """A journey's row on the journeys page."""

    saved: Saved

    @property
    def name(self) -> str:
        return self.saved.name

    @property
    def checked(self) -> Checked:
        return self.saved.checked

    @property
    def entry(self) -> str:
        return event_text(self.checked.journey) if self.checked.journey else "—"

    @property
    def priority(self) -> str:
        return str(self.checked.journey.priority) if self.checked.journey else "—"

    @property
    def picture(self) -> Markup | None:
        return Markup(self.saved.thumbnail) if self.saved.thumbnail else None  # noqa: S704 - escaped SVG


class Revalidated(StaticFiles):
    """The studio's scripts and styles, which `make web` (or an update) rewrites under the same names: the browser asks
    again at every page (a 304 while unchanged), so a page never runs an old editor.js with the chunks of a new one."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def studio_app(folder: Path, *, token: str, scenarios: Path = SHIPPED_SCENARIOS, assets: Path = WEB_DIST) -> Starlette:
    """The studio over the journeys in `folder` (and the scenarios in `scenarios`), answering at 127.0.0.1:`port` or
    localhost:`port` only, every change carrying `token`; `assets` is the built front end (FrontEndMissing if it is
    not there)."""
    built(assets, [EDITOR_BUNDLE])
    pages = Jinja2Templates(directory=HERE / "templates")
    schema = json_schema()
    saved_journeys = SavedJourneys(folder)
    # The customer screen's local backend: started on its first visit, stopped with the studio.
    counter = Counter(demo_lines, folder=folder.name)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        counter.stop()

    def named(request: Request) -> str:
        name = str(request.path_params["name"])
        if name not in journey_names(folder):
            raise Refused(404, f"no journey named {name!r} in {folder.name}/")
        return name

    def index(request: Request) -> Response:
        listed = [Listed(saved_journeys[name]) for name in journey_names(folder)]
        return pages.TemplateResponse(
            request, "index.html", {"journeys": listed, "folder": folder.name, "token": token}
        )

    # The page carries what the first paint shows; what git would propose is fetched after it (/proposal).
    def journey_page(request: Request) -> Response:
        journey = saved_journeys[named(request)]
        context = {
            "name": journey.name,
            "folder": folder.name,
            "editor": {
                "text": journey.text,
                "checked": _as_json(journey.checked, journey.picture, journey.previews, journey.steps),
            },
            "picture": Markup(journey.picture) if journey.picture else None,  # noqa: S704 - escaped SVG
            "token": token,
            "csrf_header": CSRF_HEADER,
        }
        return pages.TemplateResponse(request, "journey.html", context)

    def proposal(request: Request) -> Response:
        proposed = proposed_change(folder / f"{named(request)}.yaml")
        return JSONResponse({"diff": proposed.diff, "note": proposed.note})

    # The editor's routes read the body here and do the rest (the validator, git) in the threadpool, as Starlette
    # runs a sync route: the event loop keeps answering other requests meanwhile.
    async def check(request: Request) -> Response:
        name = named(request)
        text, _ = await _editor_text(request)
        return await run_in_threadpool(checked_json, name, text)

    def checked_json(name: str, text: str) -> Response:
        return JSONResponse(_typed_json(check_text(folder, name, text), text))

    async def save_journey(request: Request) -> Response:
        name = named(request)
        text, confirmed = await _editor_text(request)
        return await run_in_threadpool(saved, name, text, confirmed=confirmed)

    def saved(name: str, text: str, *, confirmed: bool) -> Response:
        checked = check_text(folder, name, text)
        answer = _typed_json(checked, text)
        if checked.errors and not confirmed and not saved_journeys[name].checked.errors:
            answer["saved"] = False
            answer["confirm"] = (
                f"This text has {checked.status} and would replace a valid {checked.file}. Save it anyway?"
            )
            return JSONResponse(answer, status_code=409)
        save(folder / f"{name}.yaml", text)
        proposal = proposed_change(folder / f"{name}.yaml")
        answer.update(saved=True, proposal={"diff": proposal.diff, "note": proposal.note})
        return JSONResponse(answer)

    def journey_schema(request: Request) -> Response:
        return JSONResponse(schema)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/journeys/{name}", journey_page),
            Route("/api/journeys/{name}/proposal", proposal),
            Route("/journey.schema.json", journey_schema),
            Route("/api/journeys/{name}/check", check, methods=["POST"]),
            Route("/api/journeys/{name}/save", save_journey, methods=["POST"]),
            *simulation_routes(pages, Simulations(scenarios), folder=folder.name, token=token),
            *customer_routes(counter, folder=folder.name, token=token, screen=assets / "customer"),
            Mount("/static", Revalidated(directory=HERE / "static"), name="static"),
            Mount("/assets", Revalidated(directory=assets), name="assets"),
        ],
        middleware=[
            Middleware(LoopbackOnly),
            Middleware(CsrfProtected, token=token),
            Middleware(PageHeaders),
        ],
        exception_handlers={Refused: refused, HTTPException: unanswerable},
        lifespan=lifespan,
    )


async def _editor_text(request: Request) -> tuple[str, bool]:
    """The editor's `{"text": …, "confirmed": …}`."""
    body = await body_within(request, MAX_TEXT_BYTES, "a journey file")
    try:
        sent = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Refused(400, f"expected JSON with the journey's text: {error}") from error
    if not isinstance(sent, dict) or not isinstance(sent.get("text"), str):
        raise Refused(400, 'expected {"text": "<the journey\'s YAML>"}')
    return sent["text"], sent.get("confirmed") is True


async def unanswerable(request: Request, error: Exception) -> Response:
    """Starlette's own refusals (a path with no route, a method a route does not take), as problems too."""
    assert isinstance(error, HTTPException)  # registered for HTTPException only
    return problem(error.status_code, error.detail)


def _typed_json(checked: Checked, text: str) -> dict[str, Any]:
    """What the editor shows of a check of the text as typed."""
    picture = linked_svg(checked.journey) if checked.journey else None
    return _as_json(checked, picture, previews_of(checked), step_lines(text))


def _as_json(
    checked: Checked, picture: str | None, previews: list[StepPreview] | None, steps: dict[str, tuple[int, int]]
) -> dict[str, Any]:
    """What the editor shows of a check: the status, each problem as the CLI prints it and at its line, and while the
    text is valid its diagram and each send step's previews; and where each step's lines are."""
    return {
        "status": checked.status,
        "errors": checked.errors,
        "warnings": checked.warnings,
        "problems": [_problem_json(problem, checked.file) for problem in checked.problems],
        "svg": picture,
        "previews": None if previews is None else [asdict(shown) for shown in previews],
        "steps": steps,
    }


def _problem_json(problem: Problem, file: str) -> dict[str, Any]:
    return {
        "file": problem.path,
        "own": problem.path == file,  # marked at its line in the editor; else in a template or config/
        "line": problem.line,
        "column": problem.column,
        "severity": problem.severity.value,
        "where": problem.where,
        "message": problem.message,
        "text": str(problem),
    }
