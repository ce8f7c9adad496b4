"""`omnijourney import pinpoint endpoints SOURCE (--stage S | --scenario OUT.jsonl) [--checkpoint F]`: the customers
of an endpoint export job, brought in through the normal event path (the `pinpoint` source of the layer, then the
profile function's identity resolution, merging and consent).

Every line is checked against botocore's `EndpointResponse` shape and read by the layer's source; a bad one (not
JSON, truncated, the wrong shape, an unknown ChannelType, an address nobody can have and no user id) is reported
with its file, line and field, and skipped: the import goes on, and exits 0 when it completes (the report lists
every skipped line, as `simulate` lists the inputs it rejected). Messages name fields, never values.

- `--scenario OUT.jsonl` writes one `pinpoint` line per endpoint (`at` is its last update, kept in non-decreasing
  order), through a temporary file renamed at the end: an interrupted import leaves no partial file, and a rerun
  starts over (converting is local and fast; bench/pinpoint.py measures it).
- `--stage S` sends each endpoint's event to that stage's events queue (stage_queue.py), with a checkpoint of
  the last record sent, so a rerun resumes after it and says so; the checkpoint is removed when the import completes.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from omnijourney.edge.ingest import queue_messages
from omnijourney.edge.sources.delivery import load_json
from omnijourney.edge.sources.pinpoint import Endpoint, read_endpoint
from omnijourney.events import EARLIEST
from omnijourney.platform import clock
from omnijourney.platform.errors import OmnijourneyError
from omnijourney_tools.pinpoint.endpoint_files import ExportObject, export_objects
from omnijourney_tools.pinpoint.exports import ImportRefused, shape_problem
from omnijourney_tools.pinpoint.outputs import Outputs
from omnijourney_tools.pinpoint.report import MigrationReport
from omnijourney_tools.stage_queue import (
    Checkpoint,
    CheckpointRefused,
    Place,
    QueueNotFound,
    SendingStopped,
    events_queue,
    events_queue_name,
)

SOURCE_NAME = "pinpoint"
SHAPE = "EndpointResponse"
LISTED_BAD_LINES = 100
PROGRESS_SECONDS = 0.5
WHOLE_LINE = "(the line)"
NOT_IMPORTED = (
    "Not imported from any endpoint: CohortId, Demographic (but Timezone and Locale: AppVersion, Make, Model,"
    " ModelVersion, Platform, PlatformVersion), Location.Latitude and Longitude (a precise location is personal data"
    " no journey needs)."
)


class BadRecord(Exception):
    """A record that cannot come over: the field at fault and what is wrong, in words without its value."""

    def __init__(self, field: str, detail: str, status: int = 400) -> None:
        # The event's own refusals name their field already ("traits.Notes: is 5012 bytes…").
        named = field == WHOLE_LINE or detail.startswith(field)
        super().__init__(detail if named else f"{field}: {detail}")
        self.field = field
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class ImportedEndpoint:
    endpoint: Endpoint
    message: str | None
    """its event as the queue message the profile function reads (None when the endpoint names nobody)"""


def endpoint_from(text: bytes, received_at: datetime) -> ImportedEndpoint:
    """One export line, checked as the import checks it (JSON, botocore's EndpointResponse shape, the layer's
    source, the queue's size); BadRecord names the field at fault."""
    try:
        record = load_json(text)
    except OmnijourneyError as error:
        raise BadRecord(WHOLE_LINE, error.detail.replace("the body", "the line"), error.status) from None
    if not isinstance(record, dict):
        raise BadRecord(WHOLE_LINE, "should be a JSON object, an EndpointResponse")
    problem = shape_problem(record, SHAPE)
    if problem is not None:
        raise BadRecord(*problem)
    try:
        endpoint = read_endpoint(record, received_at)
        messages = queue_messages([endpoint.event]) if endpoint.event is not None else []
    except OmnijourneyError as error:
        raise BadRecord(error.field or "(the record)", error.detail, error.status) from None
    return ImportedEndpoint(endpoint, messages[0] if messages else None)


@dataclass
class FileTally:
    """What one export object brought over, for its report entry."""

    name: str
    records: int = 0
    identifiers: int = 0
    opted_out: int = 0
    inactive: int = 0
    inactive_addresses: int = 0
    sms_without_opt_in: int = 0
    nobody: int = 0
    push_tokens: Counter[str] = field(default_factory=Counter)
    no_channel: Counter[str] = field(default_factory=Counter)
    bad_lines: list[str] = field(default_factory=list)
    bad: int = 0
    # Distinct users by an 8-byte digest: the only tally that grows with the export (~60 bytes a user).
    _users: set[bytes] = field(default_factory=set)

    def count(self, endpoint: Endpoint) -> None:
        if endpoint.event is None:
            self.nobody += 1
            return
        if endpoint.user_id is not None:
            self._users.add(hashlib.blake2b(endpoint.user_id.encode(), digest_size=8).digest())
        self.identifiers += endpoint.address is not None
        self.opted_out += endpoint.opted_out
        self.inactive += endpoint.inactive
        self.inactive_addresses += endpoint.inactive and endpoint.address is not None
        # Pinpoint's OptOut NONE is no opt-in: marketing SMS needs one (config/consistency.yaml).
        sms_address = endpoint.channel_type == "SMS" and endpoint.address is not None
        self.sms_without_opt_in += sms_address and not endpoint.opted_out
        if endpoint.push_token:
            self.push_tokens[endpoint.channel_type] += 1
        elif endpoint.address is None and endpoint.channel_type not in ("EMAIL", "SMS"):
            self.no_channel[endpoint.channel_type] += 1

    def skipped(self, place: Place, problem: str) -> None:
        """A bad line: on stderr as it is met, and in the report (the first LISTED_BAD_LINES of them)."""
        self.bad += 1
        where = f"{place.object}:{place.line}"
        print(f"{where}: {problem} (skipped)", file=sys.stderr)
        if len(self.bad_lines) < LISTED_BAD_LINES:
            self.bad_lines.append(f"{where}: {problem}")

    @property
    def users(self) -> int:
        return len(self._users)

    def report_into(self, report: MigrationReport) -> None:
        entry = report.object("endpoint export", Path(self.name).name, self.name)
        entry.became = (
            f"{self.users} profile(s) by user id, from {self.records - self.bad} endpoint(s) of {self.records} read"
        )
        entry.mapped("User.UserId", f"{self.users} user(s): identifier user_id (as Segment's userId), one profile each")
        entry.mapped("EMAIL and SMS Address", f"{self.identifiers} email and phone identifier(s)")
        entry.mapped("OptOut ALL", f"{self.opted_out} endpoint(s): unsubscribed on their channel")
        entry.mapped(
            "EndpointStatus INACTIVE",
            f"{self.inactive} endpoint(s): address kept, no consent change (the customer said nothing)",
        )
        entry.mapped("Demographic.Timezone, Demographic.Locale", "the profile's timezone and locale")
        entry.mapped(
            "Location (Country, City, PostalCode, Region), Attributes, User.UserAttributes",
            "traits: country, city, postal_code, region, first_name and last_name (FirstName, LastName), and each"
            " other attribute under its Pinpoint name (user attributes win over endpoint attributes of the same name)",
        )
        for platform, count in sorted(self.push_tokens.items()):
            entry.decide(
                f"{count} push token(s) of {platform}",
                "create the SNS platform endpoint (CreatePlatformEndpoint on your platform application) and set the"
                " profile trait push_endpoint_arn; until then no push reaches them (their opt-outs came over)",
            )
        for channel_type, count in sorted(self.no_channel.items()):
            entry.decide(
                f"{count} {channel_type} endpoint(s)",
                "omnijourney has no such channel: their address was not imported (their user and attributes were)",
            )
        if self.inactive_addresses:
            entry.decide(
                f"{self.inactive_addresses} INACTIVE email or SMS address(es) kept",
                "Pinpoint had stopped sending to them; here they are identifiers like any other (staff find the"
                " customer by them) and consent is unchanged. Email and SMS go to the address a profile first saw"
                " most recently (an imported endpoint's EffectiveDate): where an inactive address is newer than the"
                " customer's active one, messages go to it (and an email hard bounce from it unsubscribes email)."
                " Leave such endpoints out of the export file if that is not what you want",
            )
        if self.sms_without_opt_in:
            entry.decide(
                f"{self.sms_without_opt_in} SMS endpoint(s) without an opt-in",
                "Pinpoint's OptOut NONE is no opt-in, and marketing SMS needs one (config/consistency.yaml"
                " consent.marketing_needs_opt_in: [sms]): imported PROMOTIONAL SMS reach none of them until their"
                " opt-in comes in as a consent event: a Twilio START from the number (docs/sources/twilio.md) or"
                " Shopify's sms_marketing_consent subscribed (docs/sources/shopify.md); transactional SMS go out",
            )
        if self.nobody:
            entry.decide(
                f"{self.nobody} endpoint(s) without User.UserId or an email or phone address",
                "nobody to link them to: not imported",
            )
        for line in self.bad_lines:
            where, problem = line.split(": ", 1)
            entry.decide(where, f"skipped: {problem}; fix the record and import it again")
        if self.bad > len(self.bad_lines):
            entry.decide(f"{self.bad - len(self.bad_lines)} more bad line(s)", "skipped: listed on stderr")


class Destination(Protocol):
    def add(self, place: Place, line: bytes, imported: ImportedEndpoint) -> None: ...

    def finish(self, report: MigrationReport) -> None: ...

    def abandon(self) -> None: ...


def convert(args: argparse.Namespace, report: MigrationReport, outputs: Outputs) -> None:
    """Import every record of `args.source`; the files written are the scenario (or nothing but the checkpoint), not
    `outputs`: both are streamed, never held."""
    source: str = args.source
    if args.scenario is not None and args.checkpoint is not None:
        raise ImportRefused(source, "--checkpoint is for --stage: a scenario file is written whole or not at all")
    objects = export_objects(source)
    tallies: dict[str, FileTally] = {}
    destination: Destination
    if args.stage is not None:
        destination = _StageQueue(source, args.stage, args.checkpoint, tallies)
        resume_after = destination.checkpoint.place
    else:
        destination = _ScenarioFile(args.scenario, replace_any=args.force)
        resume_after = None
    if resume_after is not None:
        objects = _after(objects, resume_after, source)
        print(f"resuming after {resume_after.object}:{resume_after.line} (the checkpoint)", file=sys.stderr)
        report.notes.append(
            f"Resumed after {resume_after.object} line {resume_after.line}: the counts are of the lines read since."
        )
    try:
        _import(objects, destination, tallies, resume_after)
        destination.finish(report)
    except SendingStopped as stopped:
        print(f"{stopped}; the checkpoint keeps the place: run the same command again to resume", file=sys.stderr)
        raise SystemExit(1) from None
    except BaseException:
        destination.abandon()
        raise
    for tally in tallies.values():
        tally.report_into(report)
    report.notes.append(NOT_IMPORTED)


def _after(objects: list[ExportObject], place: Place, source: str) -> list[ExportObject]:
    names = [found.name for found in objects]
    if place.object not in names:
        raise ImportRefused(source, f"has no {place.object}, where the checkpoint says the import stopped")
    return objects[names.index(place.object) :]


def _import(
    objects: list[ExportObject], destination: Destination, tallies: dict[str, FileTally], resume_after: Place | None
) -> None:
    received_at = clock.now()
    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
    for found in objects:
        tally = tallies.setdefault(found.name, FileTally(found.name))
        skip_to = resume_after.line if resume_after is not None and resume_after.object == found.name else 0
        with found.lines() as lines:
            for line in lines:
                if line.number <= skip_to:
                    continue
                place = Place(found.name, line.number)
                tally.records += 1
                if progress is not None:
                    progress.tick()
                if line.unreadable is not None:
                    tally.skipped(place, line.unreadable)
                    continue
                try:
                    imported = endpoint_from(line.text, received_at)
                except BadRecord as bad:
                    tally.skipped(place, str(bad))
                    continue
                tally.count(imported.endpoint)
                destination.add(place, line.text, imported)
    if progress is not None:
        progress.done()


class _StageQueue:
    """--stage: each endpoint's event to the stage's events queue, with the checkpoint."""

    def __init__(self, source: str, stage: str, checkpoint: Path | None, tallies: dict[str, FileTally]) -> None:
        try:
            self.checkpoint = Checkpoint.open(
                checkpoint or _default_checkpoint(source), f"{source} into stage {stage}", Place.from_checkpoint
            )
        except CheckpointRefused as refused:
            raise ImportRefused(refused.path, refused.detail) from None
        self.queue_name = events_queue_name(stage)
        try:
            self.sender = events_queue(
                stage,
                on_refused=lambda place, words: tallies[place.object].skipped(place, words),
                on_sent=self.checkpoint.save,
            )
        except QueueNotFound as missing:
            raise ImportRefused(source, str(missing)) from None

    def add(self, place: Place, line: bytes, imported: ImportedEndpoint) -> None:
        if imported.message is not None:
            self.sender.add(place, imported.message)

    def finish(self, report: MigrationReport) -> None:
        self.sender.flush()
        self.checkpoint.remove()
        report.notes.append(f"Sent {self.sender.sent} event(s) to the queue {self.queue_name}.")

    def abandon(self) -> None:
        """Interrupted: what was sent stays sent and the checkpoint says up to where; the rest is sent on resume."""


def _default_checkpoint(source: str) -> Path:
    """Next to a file; for S3, in the current folder, named after the bucket and prefix."""
    if source.startswith("s3://"):
        return Path("".join(c if c.isalnum() or c in "-_." else "-" for c in source[5:]).strip("-") + ".checkpoint")
    return Path(f"{source}.checkpoint")


class _ScenarioFile:
    """--scenario: `pinpoint` lines in a temporary file next to OUT, renamed to OUT when every record is read."""

    def __init__(self, path: Path, *, replace_any: bool) -> None:
        if path.exists() and not (replace_any or _imported_scenario(path)):
            raise ImportRefused(
                path, "exists and holds other lines than an import's; move it away or pass --force to replace it"
            )
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._temporary = path.with_name(f".{path.name}.importing")
        self._file: IO[bytes] = self._temporary.open("wb")
        self._at = EARLIEST
        self.lines = 0

    def add(self, place: Place, line: bytes, imported: ImportedEndpoint) -> None:
        if imported.endpoint.event is None:
            return
        # `at` never goes back (the contract's order), and comes from the records alone, so a rerun writes the same.
        if imported.endpoint.updated_at is not None:
            self._at = max(self._at, imported.endpoint.updated_at)
        at = json.dumps(self._at.isoformat())
        self._file.write(b'{"at":%s,"source":"pinpoint","body":%s}\n' % (at.encode(), line.strip()))
        self.lines += 1

    def finish(self, report: MigrationReport) -> None:
        self._file.close()
        if self.path.exists() and filecmp.cmp(self._temporary, self.path, shallow=False):
            self._temporary.unlink()
            report.notes.append(f"{self.path}: unchanged ({self.lines} line(s)).")
            return
        os.replace(self._temporary, self.path)
        report.notes.append(f"Wrote {self.path}: {self.lines} `pinpoint` line(s), for `omnijourney simulate`.")

    def abandon(self) -> None:
        self._file.close()
        self._temporary.unlink(missing_ok=True)


def _imported_scenario(path: Path) -> bool:
    """An earlier import's scenario: empty, or its first line is a `pinpoint` one."""
    with path.open("rb") as file:
        first = file.readline()
    try:
        return not first.strip() or json.loads(first).get("source") == SOURCE_NAME
    except (ValueError, AttributeError):
        return False


class _Progress:
    """Records done and their rate, rewritten in place on a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = self.shown = time.monotonic()
        self.done_records = 0

    def tick(self) -> None:
        self.done_records += 1
        now = time.monotonic()
        if now - self.shown >= PROGRESS_SECONDS:
            self.shown = now
            self._show(now)

    def done(self) -> None:
        self._show(time.monotonic())
        self.stream.write("\n")

    def _show(self, now: float) -> None:
        rate = self.done_records / max(now - self.started, 1e-9)
        self.stream.write(f"\r{self.done_records:,} records, {rate:,.0f}/s")
        self.stream.flush()
