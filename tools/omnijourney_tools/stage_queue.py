"""Sending canonical events to a deployed stage's events queue from a workstation (the imports): SendMessageBatch of
at most 10 messages and 256 KiB, each entry SQS fails retried with backoff, a message SQS refuses for good reported,
and after every batch a hook (an import's checkpoint) told how far it got. The imports' checkpoint is here too."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from omnijourney.edge.ingest import SQS_BATCH, SQS_MAX_BYTES

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SEND_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 0.2
# An import's place in what it reads: a dataclass of JSON values (a Place; HubSpot's object type and page cursor).
ImportPlace = TypeVar("ImportPlace", bound="DataclassInstance")


def events_queue_name(stage: str) -> str:
    """The events queue of the stack deployed as `stage` (infra/pipeline.py names it so; so does the local backend)."""
    return f"omnijourney-{stage}-events"


@dataclass(frozen=True)
class Place:
    """Where a record is: the export object and its line."""

    object: str
    line: int

    @classmethod
    def from_checkpoint(cls, fields: Mapping[str, Any]) -> Place:
        return cls(str(fields["object"]), int(fields["line"]))


class CheckpointRefused(Exception):
    """The checkpoint file is another import's, or no checkpoint at all: nothing was read or sent."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


@dataclass
class Checkpoint(Generic[ImportPlace]):
    """Where an interrupted import resumes: the place it got to when it opened (`place`; None: the start), kept in
    `path` as one JSON object with the import it belongs to, in words (`of`: "export.json into stage test"), so that
    only a rerun of that import resumes from it."""

    path: Path
    of: str
    place: ImportPlace | None = None

    @classmethod
    def open(
        cls, path: Path, of: str, read_place: Callable[[Mapping[str, Any]], ImportPlace]
    ) -> Checkpoint[ImportPlace]:
        """The checkpoint in `path` (a new one if there is none); `read_place` reads the import's place from its
        fields (KeyError, TypeError or ValueError: not a checkpoint of this command)."""
        if not path.exists():
            return cls(path, of)
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            owner = kept["import"]
            place = read_place(kept) if owner == of else None
        except (ValueError, KeyError, TypeError):
            raise CheckpointRefused(path, "is not a checkpoint of this command; move it away to start over") from None
        if owner != of:
            raise CheckpointRefused(
                path, f"is the checkpoint of importing {owner}: move it away, or give another --checkpoint"
            )
        return cls(path, of, place)

    def save(self, place: ImportPlace) -> None:
        """Through a temporary file and a rename: an interruption leaves the previous checkpoint or this one."""
        temporary = self.path.with_name(f".{self.path.name}.writing")
        temporary.write_text(json.dumps({"import": self.of, **asdict(place)}), encoding="utf-8")
        os.replace(temporary, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class SendingStopped(Exception):
    """The queue kept failing, or refused a message: what was sent stays sent, the checkpoint keeps the place."""


def _stop(place: Place, words: str) -> None:
    raise SendingStopped(f"{place.object}:{place.line}: {words}")


@dataclass
class QueueSender:
    """Batches messages to `queue_url`; `on_refused(place, words)` is told of each message SQS refuses for good (its
    own fault, e.g. too large: the import reports and skips it; by default the sending stops); after each batch
    `on_sent` is told the place of its last message (an import's checkpoint moves past it)."""

    sqs: Any
    queue_url: str
    on_sent: Callable[[Place], None] | None = None
    on_refused: Callable[[Place, str], None] = _stop
    sleep: Callable[[float], None] = time.sleep
    sent: int = 0
    refused: int = 0
    _pending: list[tuple[Place, str]] = field(default_factory=list)
    _bytes: int = 0

    def add(self, place: Place, message: str) -> None:
        size = len(message.encode())
        if self._pending and (len(self._pending) == SQS_BATCH or self._bytes + size > SQS_MAX_BYTES):
            self.flush()
        self._pending.append((place, message))
        self._bytes += size

    def flush(self) -> None:
        if not self._pending:
            return
        unsent = {str(index): entry for index, entry in enumerate(self._pending)}
        refused_before = self.refused
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self.sleep(FIRST_RETRY_SECONDS * 2 ** (attempt - 1))
            unsent = self._send(unsent)
            if not unsent:
                break
        else:
            first = min(unsent.values(), key=lambda entry: (entry[0].object, entry[0].line))[0]
            raise SendingStopped(
                f"the events queue failed {len(unsent)} message(s) {SEND_ATTEMPTS} times, the first from"
                f" {first.object}:{first.line}"
            )
        self.sent += len(self._pending) - (self.refused - refused_before)
        if self.on_sent is not None:
            self.on_sent(self._pending[-1][0])
        self._pending, self._bytes = [], 0

    def _send(self, entries: dict[str, tuple[Place, str]]) -> dict[str, tuple[Place, str]]:
        """The entries still to send after one SendMessageBatch: those SQS failed for a reason of its own."""
        from botocore.exceptions import BotoCoreError, ClientError

        request = [{"Id": entry_id, "MessageBody": message} for entry_id, (_, message) in entries.items()]
        try:
            answer = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=request)
        except (BotoCoreError, ClientError):
            return entries  # the whole call failed (throttled, the network): every entry again
        retry = {}
        for failure in answer.get("Failed", []):
            place, message = entries[failure["Id"]]
            if failure.get("SenderFault"):
                self.refused += 1
                self.on_refused(place, f"the events queue refused it ({failure.get('Code')})")
            else:
                retry[failure["Id"]] = (place, message)
        return retry


class QueueNotFound(Exception):
    """The stage has no events queue this account and region can see (not deployed, other credentials)."""


def events_queue(
    stage: str,
    *,
    on_refused: Callable[[Place, str], None] = _stop,
    on_sent: Callable[[Place], None] | None = None,
) -> QueueSender:
    """A sender to the events queue of the stack deployed as `stage`."""
    from botocore.exceptions import BotoCoreError, ClientError

    from omnijourney.platform.aws import client  # lazy: boto3 only when sending to a stage

    name = events_queue_name(stage)
    try:
        sqs = client("sqs")
        queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except (BotoCoreError, ClientError) as error:
        raise QueueNotFound(f"stage {stage}: cannot find its events queue {name} ({error})") from None
    return QueueSender(sqs, queue_url, on_refused=on_refused, on_sent=on_sent)
