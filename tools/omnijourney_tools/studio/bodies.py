"""A request's body read against a limit: refused by its Content-Length before any of it is read, and by what arrives
when it sends none (chunked), so no request makes the studio hold more than the limit."""

from __future__ import annotations

from starlette.requests import Request

from omnijourney_tools.studio.problems import Refused


class TooLarge(Refused):
    """The body is over the limit: answered 413 with this sentence."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


async def body_within(request: Request, limit: int, what: str) -> bytes:
    """The body, at most `limit` bytes; TooLarge, saying `what` is at most that, otherwise."""
    refusal = f"{what} is at most {limit:,} bytes"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(refusal)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(refusal)
    return bytes(body)
