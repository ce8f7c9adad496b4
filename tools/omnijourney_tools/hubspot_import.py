"""`omnijourney import hubspot`: the contacts, line items and deals already in HubSpot, read through its CRM v3 API
with HubSpot's own client (paged), told as the webhook events HubSpot would have sent for them (creation, each
property, each association), so they become exactly the canonical events the `hubspot` source makes of webhooks.

A checkpoint (the object type and the `after` cursor of the next page) is saved after every page sent, so an
interrupted import resumes there; an object sent twice changes nothing, as its events keep their ids. Each event is
dated at the object's `updatedAt`: a later webhook about it wins. An object the `hubspot` source cannot read (an
amount that is not a number, say) is skipped and reported by its type, id and property, never its values, and the
import goes on: it cannot be read however often it is sent again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from omnijourney.edge.sources.delivery import Delivery
from omnijourney.edge.sources.hubspot import (
    CONTACT_EMAIL,
    CONTACT_EMAIL_OPTOUT,
    CONTACT_PHONES,
    CONTACT_TRAITS,
    DATES,
    DEAL_PROPERTIES,
    LINE_ITEM_PROPERTIES,
    SOURCE,
)
from omnijourney.events import CanonicalEvent
from omnijourney.platform.errors import MalformedPayload
from omnijourney_tools import stage_queue
from omnijourney_tools.stage_queue import Checkpoint, CheckpointRefused

# In this order: a deal's line items are known before the deal names them.
OBJECT_TYPES = ("contacts", "line_items", "deals")
PROPERTIES = {
    "contacts": sorted({CONTACT_EMAIL, *CONTACT_PHONES, *CONTACT_TRAITS, CONTACT_EMAIL_OPTOUT}),
    "line_items": sorted(LINE_ITEM_PROPERTIES),
    "deals": sorted(DEAL_PROPERTIES),
}
SUBSCRIPTION = {"contacts": "contact", "line_items": "line_item", "deals": "deal"}
DEAL_ASSOCIATIONS = {"contacts": "DEAL_TO_CONTACT", "line_items": "DEAL_TO_LINE_ITEM"}
PAGE_SIZE = 100
# Not an account: the imported events are told apart from webhooks by it.
IMPORT_PORTAL = "import"
# Where the source's refusal points in a batch: `[3].propertyValue`.
IN_BATCH = re.compile(r"\[(?P<index>\d+)\]\.(?P<field>.*)")

Batch = list[dict[str, Any]]


@dataclass(frozen=True)
class Skipped:
    """An object the `hubspot` source cannot read: its type, id and the property (or field) at fault."""

    object_type: str
    object_id: str
    field: str

    def __str__(self) -> str:
        return f"HubSpot {self.object_type} {self.object_id}: {self.field} cannot be read (skipped)"


@dataclass
class Backfill:
    """What an import read: the number of objects, and those skipped."""

    read: int = 0
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class NextPage:
    """Where the next page starts, as the checkpoint keeps it: an object type and HubSpot's `after` cursor (None: the
    type's first page)."""

    object_type: str
    after: str | None = None

    @classmethod
    def from_checkpoint(cls, fields: Mapping[str, Any]) -> NextPage:
        object_type = str(fields["object_type"])
        if object_type not in OBJECT_TYPES:
            raise ValueError(object_type)
        return cls(object_type, fields["after"])


@dataclass(frozen=True)
class PageOfEvents:
    """One page's objects as HubSpot's webhooks would have told them (`told`, a batch the `hubspot` source reads), the
    canonical events the source made of them, and when it read them."""

    told: Batch
    events: list[CanonicalEvent]
    read_at: datetime


def open_checkpoint(path: Path, target: str) -> Checkpoint[NextPage]:
    """The checkpoint of importing into `target` ("stage prod"); CheckpointRefused if `path` is another's."""
    return Checkpoint.open(path, f"HubSpot into {target}", NextPage.from_checkpoint)


def backfill(
    client: Any,
    send: Callable[[PageOfEvents], None],
    checkpoint: Checkpoint[NextPage],
    now: Callable[[], datetime],
    page_size: int = PAGE_SIZE,
) -> Backfill:
    """Every contact, line item and deal from where the checkpoint is, a page at a time: each page's webhook events
    and their canonical events, read once at `now()`, handed to `send` (but those of objects the source cannot read,
    skipped), then the checkpoint moved past it."""
    done = Backfill()
    start = checkpoint.place or NextPage(OBJECT_TYPES[0])
    for object_type in OBJECT_TYPES[OBJECT_TYPES.index(start.object_type) :]:
        after = start.after if object_type == start.object_type else None
        for page in _pages(client, object_type, after, page_size):
            read = PageOfEvents([], [], now())
            for found in page.results:
                try:
                    told, events = readable_events(object_type, found, read.read_at)
                except MalformedPayload as refused:
                    done.skipped.append(Skipped(object_type, str(found.id), refused.field or "(the object)"))
                    continue
                read.told.extend(told)
                read.events.extend(events)
            if read.told:
                send(read)
            done.read += len(page.results)
            if page.paging and page.paging.next:
                checkpoint.save(NextPage(object_type, page.paging.next.after))
        following = OBJECT_TYPES.index(object_type) + 1
        if following < len(OBJECT_TYPES):
            checkpoint.save(NextPage(OBJECT_TYPES[following]))
    return done


def _pages(client: Any, object_type: str, after: str | None, page_size: int) -> Iterator[Any]:
    api = getattr(client.crm, object_type).basic_api
    associations = sorted(DEAL_ASSOCIATIONS) if object_type == "deals" else None
    while True:
        page = api.get_page(limit=page_size, after=after, properties=PROPERTIES[object_type], associations=associations)
        yield page
        if not (page.paging and page.paging.next):
            return
        after = page.paging.next.after


def readable_events(object_type: str, found: Any, received_at: datetime) -> tuple[Batch, list[CanonicalEvent]]:
    """The object's webhook events and the canonical events the `hubspot` source makes of them, received at
    `received_at`; MalformedPayload names the property (or association) at fault, not the event's place in a batch."""
    events = webhook_events(object_type, found)
    try:
        return events, canonical_events(events, received_at)
    except MalformedPayload as refused:
        place = IN_BATCH.fullmatch(refused.field or "")
        told = events[int(place["index"])] if place else {}
        named = told.get("propertyName") or told.get("associationType") or (place and place["field"]) or refused.field
        raise MalformedPayload(refused.detail, field=named) from None


def webhook_events(object_type: str, found: Any) -> Batch:
    """What HubSpot's webhooks would have said of the object: its creation (contacts and deals), each property it
    has, and (deals) each association with a contact or line item."""
    at = int(found.updated_at.timestamp() * 1000)
    kind = SUBSCRIPTION[object_type]

    def event(subscription: str, event_id: str, **fields: Any) -> dict[str, Any]:
        return {
            "eventId": f"import-{event_id}",
            "portalId": IMPORT_PORTAL,
            "occurredAt": at,
            "subscriptionType": subscription,
            "changeSource": "IMPORT",
            **fields,
        }

    events = [] if kind == "line_item" else [event(f"{kind}.creation", "creation", objectId=found.id)]
    for name in PROPERTIES[object_type]:
        value = (found.properties or {}).get(name)
        if value not in (None, ""):
            shown = _as_millis(value, name) if name in DATES else value
            told = event(f"{kind}.propertyChange", name, objectId=found.id, propertyName=name, propertyValue=shown)
            events.append(told)
    # An association names its two ends, as HubSpot's own association events do.
    for associated, association in DEAL_ASSOCIATIONS.items() if kind == "deal" else ():
        for other in _associated(found, associated):
            events.append(
                event(
                    "deal.associationChange",
                    f"{association}-{other}",
                    associationType=association,
                    fromObjectId=found.id,
                    toObjectId=other,
                    associationRemoved=False,
                )
            )
    return events


def _associated(found: Any, kind: str) -> list[str]:
    """The ids associated under `kind` (HubSpot names line items `line items` in some answers)."""
    associations = found.associations or {}
    listed = associations.get(kind) or associations.get(kind.replace("_", " "))
    return [str(item.id) for item in listed.results] if listed else []


def _as_millis(value: str, name: str) -> str:
    """A date property as the API gives it (ISO-8601) → as webhooks give it (milliseconds since 1970)."""
    try:
        return str(int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000))
    except ValueError:
        raise MalformedPayload(f"{name} is not an ISO-8601 date", field=name) from None


def canonical_events(batch: Batch, received_at: datetime) -> list[CanonicalEvent]:
    """The canonical events the `hubspot` source makes of the batch, as if delivered now."""
    return SOURCE.parse(Delivery(SOURCE.name, json.dumps(batch).encode(), received_at=received_at))


def add_tool(tools: Any) -> None:
    """Add `hubspot` to the `import` command's tools."""
    hubspot = tools.add_parser(
        "hubspot",
        help="HubSpot's contacts and deals, through its CRM API (docs/sources/hubspot.md)",
        description="Reads every contact, line item and deal from HubSpot's CRM v3 API with the private app's token "
        "(HUBSPOT_ACCESS_TOKEN) and sends them as the events HubSpot's webhooks would have sent, paged and "
        "resumable.",
    )
    into = hubspot.add_mutually_exclusive_group(required=True)
    into.add_argument("--stage", help="send them to this deployed stage's events queue (AWS credentials needed)")
    into.add_argument("--scenario", type=Path, metavar="OUT.jsonl", help="write them as `hubspot` scenario lines")
    hubspot.add_argument(
        "--checkpoint",
        type=Path,
        default=Path("hubspot-import.checkpoint"),
        help="where the next page is kept, to resume after an interruption (default: ./hubspot-import.checkpoint)",
    )
    hubspot.add_argument("--host", default="https://api.hubapi.com", help="HubSpot's API (a local fake in tests)")


def run(args: argparse.Namespace, now: Callable[[], datetime]) -> int:
    from hubspot import HubSpot  # lazy: the client is large and only an import needs it

    token = os.environ.get("HUBSPOT_ACCESS_TOKEN")
    if not token:
        print("HUBSPOT_ACCESS_TOKEN must hold the private app's access token", file=sys.stderr)
        return 2
    target = f"stage {args.stage}" if args.stage else f"scenario {args.scenario}"
    try:
        checkpoint = open_checkpoint(args.checkpoint, target)
    except CheckpointRefused as refused:
        print(refused, file=sys.stderr)
        return 2
    client = HubSpot(access_token=token, host=args.host)
    if args.scenario:
        with args.scenario.open("a", encoding="utf-8") as scenario:
            done = backfill(client, lambda page: scenario.write(scenario_line(page) + "\n"), checkpoint, now)
    else:
        try:
            queue = _queue(args.stage)
            done = backfill(client, lambda page: queue(page.events), checkpoint, now)
        except (stage_queue.QueueNotFound, stage_queue.SendingStopped) as stopped:
            print(f"{stopped}; rerun to resume from {args.checkpoint}", file=sys.stderr)
            return 1
    args.checkpoint.unlink(missing_ok=True)
    for skipped in done.skipped:
        print(skipped, file=sys.stderr)
    unread = f"; {len(done.skipped)} skipped (listed above: fix them in HubSpot, their webhooks bring them)"
    print(f"imported {done.read - len(done.skipped)} HubSpot object(s) into {target}{unread if done.skipped else ''}")
    return 0


def scenario_line(page: PageOfEvents) -> str:
    return json.dumps({"at": page.read_at.isoformat(), "source": SOURCE.name, "body": page.told})


def _queue(stage: str) -> Callable[[list[CanonicalEvent]], None]:
    """Each page's events to the stage's events queue, all sent before the checkpoint moves past the page."""
    from omnijourney.edge.ingest import queue_messages

    sender = stage_queue.events_queue(stage)

    def send(events: list[CanonicalEvent]) -> None:
        for number, message in enumerate(queue_messages(events), start=1):
            sender.add(stage_queue.Place(f"HubSpot page of {events[0].source} events", number), message)
        sender.flush()

    return send
