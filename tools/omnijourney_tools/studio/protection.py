"""The studio writes files, so a page it did not serve must not drive it.

`LoopbackOnly` answers 400 to any Host but the studio's own address: a web page the marketer visits cannot reach it
through a DNS name of its own that resolves to 127.0.0.1 (DNS rebinding). `CsrfProtected` answers 403, before anything
runs, to any request but a read that lacks the per-process token the studio's pages carry. `PageHeaders` keeps the
pages to the studio's own scripts and styles, and out of other sites' frames: the one exception is the style sheet the
editor (CodeMirror) writes into the page, allowed by a nonce new with every answer (`request.state.csp_nonce`).
"""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnijourney_tools.studio import LOOPBACK
from omnijourney_tools.studio.problems import problem

CSRF_HEADER = "X-CSRF-Token"
READS = frozenset({"GET", "HEAD"})
CSP_NONCE = "csp_nonce"
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(nonce: str) -> str:
    return (
        f"default-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class LoopbackOnly:
    """The Host must name the loopback address or localhost, at the port the request came in on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            port = (scope.get("server") or ("", 0))[1]
            hosts = {f"{LOOPBACK}:{port}", f"localhost:{port}"}
            if Headers(scope=scope).get("host") not in hosts:
                refusal = problem(400, f"the studio answers only at {' or '.join(sorted(hosts))}")
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class CsrfProtected:
    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READS:
            given = Headers(scope=scope).get(CSRF_HEADER, "")
            if not secrets.compare_digest(given.encode(), self.token.encode()):
                refusal = problem(403, f"a change needs the studio page's {CSRF_HEADER}: reload the page")
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class PageHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[CSP_NONCE] = nonce

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(
                    {**PAGE_HEADERS, "Content-Security-Policy": content_security_policy(nonce)}
                )
            await send(message)

        await self.app(scope, receive, with_headers)
