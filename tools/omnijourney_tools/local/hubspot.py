"""A local HubSpot: the CRM v3 endpoints omnijourney calls, answered in this process (`answer`: the local backend's
sales tasks, in `serve` and `simulate`) or, inside `with`, on a loopback port for HubSpot's own Python client
(`hubspot-api-client`, its host pointed at `url`) in tests.

Contacts (get, search by one property, list paged), deals (list paged, with their contact and line item
associations), line items (get, list paged) and tasks (create, with associations: `tasks` keeps what was created; a
task associated with a contact merged away, `merge`, is refused with a 404, as the contact no longer exists).
Paging is HubSpot's: `limit` (at most 100) and the `after` cursor of `paging.next`. Every call needs the private app's
token as a bearer token, as HubSpot does.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOCAL_TOKEN = "pat-local-hubspot-token"  # noqa: S105 - the local fake's token
HUBSPOT_API = "https://api.hubapi.com"
PAGE_LIMIT = 100
DEFAULT_LIMIT = 10
# The object types this fake keeps, by the path segment HubSpot names them with.
OBJECT_TYPES = ("contacts", "deals", "line_items", "tasks")
# HubSpot's default association type from a task to a contact.
TASK_TO_CONTACT = 204


@dataclass
class CrmObject:
    id: str
    properties: dict[str, str | None]
    associations: dict[str, list[str]] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    def as_json(self, wanted: list[str] | None, associations: list[str] | None) -> dict[str, Any]:
        shown = self.properties if not wanted else {name: self.properties.get(name) for name in wanted}
        body: dict[str, Any] = {
            "id": self.id,
            "properties": {"hs_object_id": self.id, **shown},
            "createdAt": self.created_at.isoformat(),
            "updatedAt": self.created_at.isoformat(),
            "archived": False,
        }
        if associations:
            body["associations"] = {
                kind: {"results": [{"id": other, "type": f"{kind}_association"} for other in self.associations[kind]]}
                for kind in associations
                if self.associations.get(kind)
            }
        return body


class LocalHubSpot:
    """The fake: `tasks` are the tasks created, in order. Inside `with` it is served on a free loopback port, `url`;
    outside, `url` is HubSpot's own, which the calls answered in process are addressed to."""

    def __init__(self, token: str = LOCAL_TOKEN) -> None:
        self.token = token
        self.objects: dict[str, dict[str, CrmObject]] = {kind: {} for kind in OBJECT_TYPES}
        self.requests: list[str] = []
        # Contacts merged into another: gone as objects of their own.
        self.merged_away: set[str] = set()
        self._lock = threading.Lock()
        # Bound only when served: the local backend answers in process and opens no port.
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            return HUBSPOT_API
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def tasks(self) -> list[CrmObject]:
        return list(self.objects["tasks"].values())

    def __enter__(self) -> LocalHubSpot:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, name="local-hubspot", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def add(
        self, kind: str, object_id: str, associations: dict[str, list[str]] | None = None, **properties: Any
    ) -> None:
        """An object in the CRM, e.g. `add("deals", "9101", {"contacts": ["5101"]}, dealstage="closedwon")`."""
        with self._lock:
            self.objects[kind][object_id] = CrmObject(
                object_id,
                {name: None if value is None else str(value) for name, value in properties.items()},
                dict(associations or {}),
            )

    def merge(self, primary: str, merged: str) -> None:
        """HubSpot's merge of contact `merged` into `primary`: `merged` exists no more."""
        with self._lock:
            self.objects["contacts"].pop(merged, None)
            self.merged_away.add(merged)

    def answer(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """The status and JSON body HubSpot would answer."""
        parts = urlsplit(url)
        self.requests.append(f"{method} {parts.path}")
        if headers.get("authorization") != f"Bearer {self.token}":
            return _problem(HTTPStatus.UNAUTHORIZED, "Authentication credentials not found.")
        # The client repeats a list parameter (`associations=contacts&associations=line_items`); HubSpot also reads
        # one comma-separated value.
        query = {name: ",".join(values) for name, values in parse_qs(parts.query).items()}
        segments = parts.path.strip("/").split("/")
        if segments[:3] != ["crm", "v3", "objects"] or len(segments) < 4 or segments[3] not in OBJECT_TYPES:
            return _problem(HTTPStatus.NOT_FOUND, f"no such endpoint: {parts.path}")
        kind, rest = segments[3], segments[4:]
        with self._lock:
            if method == "GET" and not rest:
                return HTTPStatus.OK, self._page(kind, query)
            if method == "GET" and len(rest) == 1:
                found = self.objects[kind].get(rest[0])
                if found is None:
                    return _problem(HTTPStatus.NOT_FOUND, f"no {kind} {rest[0]}")
                return HTTPStatus.OK, found.as_json(_listed(query, "properties"), _listed(query, "associations"))
            if method == "POST" and rest == ["search"]:
                return HTTPStatus.OK, self._search(kind, json.loads(body or b"{}"))
            if method == "POST" and kind == "tasks" and not rest:
                return self._create_task(json.loads(body or b"{}"))
        return _problem(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} {parts.path} is not served here")

    def _page(self, kind: str, query: dict[str, str]) -> dict[str, Any]:
        ordered = sorted(self.objects[kind].values(), key=lambda found: int(found.id))
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), PAGE_LIMIT)
        after = query.get("after")
        start = (
            next((index for index, found in enumerate(ordered) if int(found.id) > int(after)), len(ordered))
            if after
            else 0
        )
        page = ordered[start : start + limit]
        answer: dict[str, Any] = {
            "results": [found.as_json(_listed(query, "properties"), _listed(query, "associations")) for found in page]
        }
        if start + limit < len(ordered):
            answer["paging"] = {
                "next": {"after": page[-1].id, "link": f"{self.url}/crm/v3/objects/{kind}?after={page[-1].id}"}
            }
        return answer

    def _search(self, kind: str, request: dict[str, Any]) -> dict[str, Any]:
        """One filter group of EQ filters, as omnijourney searches (a contact by email)."""
        filters = [item for group in request.get("filterGroups", []) for item in group.get("filters", [])]
        found = [
            item
            for item in self.objects[kind].values()
            if all(
                (item.properties.get(each["propertyName"]) or "").lower() == str(each.get("value", "")).lower()
                for each in filters
            )
        ]
        return {"total": len(found), "results": [item.as_json(request.get("properties"), None) for item in found]}

    def _create_task(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        task_id = str(len(self.objects["tasks"]) + 1)
        contacts = [
            str(association["to"]["id"])
            for association in request.get("associations", [])
            if any(kind.get("associationTypeId") == TASK_TO_CONTACT for kind in association.get("types", []))
        ]
        gone = [contact for contact in contacts if contact in self.merged_away]
        if gone:
            return _problem(HTTPStatus.NOT_FOUND, f"no contacts {', '.join(gone)}")
        task = CrmObject(task_id, dict(request.get("properties", {})), {"contacts": contacts} if contacts else {})
        self.objects["tasks"][task_id] = task
        return HTTPStatus.CREATED, task.as_json(None, None)


def _listed(query: dict[str, str], name: str) -> list[str] | None:
    return query[name].split(",") if query.get(name) else None


def _problem(status: HTTPStatus, message: str) -> tuple[int, dict[str, Any]]:
    # HubSpot's error body.
    return status, {"status": "error", "message": message, "category": status.phrase.upper().replace(" ", "_")}


def _handler(hubspot: LocalHubSpot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer = hubspot.answer(self.command, self.path, headers, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: a request line may carry a search for an email."""

    return Handler
