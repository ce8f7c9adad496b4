"""The one shape of every error the studio answers: an RFC 9457 problem (`application/problem+json`), as the API
answers, so each page's script shows the same `detail`.

A route raises `Refused(status, detail)` (answered by the application's handler) or returns `problem(status, detail)`;
a middleware, which runs outside the routes' handlers, returns `problem(...)`.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from omnijourney.edge.http import PROBLEM_JSON


class Refused(Exception):
    """A request the studio will not do: answered with its status and this sentence, changing nothing."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def problem(status: int, detail: str) -> JSONResponse:
    """`{"type": "about:blank", "title": <the status's phrase>, "status", "detail"}`."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def refused(request: Request, error: Exception) -> Response:
    """The application's handler for `Refused`."""
    assert isinstance(error, Refused)  # registered for Refused only
    return problem(error.status, error.detail)
