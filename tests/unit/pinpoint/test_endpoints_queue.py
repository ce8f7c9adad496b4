"""Sending imported endpoints to the events queue: batches of 10, SQS's per-entry failures retried or reported, and
the checkpoint moved only past what the queue took."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnijourney_tools.stage_queue import Checkpoint, CheckpointRefused, Place, QueueSender, SendingStopped

IMPORT = "export.json into stage test"


class FlakySqs:
    """SendMessageBatch that fails the entries `fail(attempt, body)` names (None: taken), and keeps what it took."""

    def __init__(self, fail: Any = lambda attempt, body: None) -> None:
        self.fail = fail
        self.calls = 0
        self.taken: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls += 1
        failed = []
        for entry in Entries:
            code = self.fail(self.calls, entry["MessageBody"])
            if code is None:
                self.taken.append(entry["MessageBody"])
            else:
                failed.append({"Id": entry["Id"], "Code": code, "SenderFault": code == "InvalidMessageContents"})
        return {"Successful": [], "Failed": failed}


def sender(sqs: FlakySqs, checkpoint: Checkpoint[Place] | None = None, refused: list[str] | None = None) -> QueueSender:
    return QueueSender(
        sqs,
        "https://sqs.example/omnijourney-test-events",
        on_sent=checkpoint.save if checkpoint is not None else None,
        on_refused=lambda place, words: (refused if refused is not None else []).append(f"{place.line}: {words}"),
        sleep=lambda seconds: None,
    )


def send(queue: QueueSender, count: int) -> None:
    for line in range(1, count + 1):
        queue.add(Place("export.json", line), f"message {line}")
    queue.flush()


def test_messages_go_in_batches_of_ten() -> None:
    sqs = FlakySqs()

    send(sender(sqs), 25)

    assert sqs.calls == 3
    assert sqs.taken == [f"message {line}" for line in range(1, 26)]


def test_entries_the_queue_fails_for_its_own_reasons_are_sent_again_once_each() -> None:
    sqs = FlakySqs(lambda attempt, body: "ServiceUnavailable" if attempt == 1 and body.endswith(("3", "7")) else None)
    queue = sender(sqs)

    send(queue, 10)

    assert sorted(sqs.taken) == sorted(f"message {line}" for line in range(1, 11))
    assert queue.sent == 10


def test_an_entry_the_queue_refuses_for_good_is_reported_and_the_rest_sent() -> None:
    refused: list[str] = []
    sqs = FlakySqs(lambda attempt, body: "InvalidMessageContents" if body == "message 4" else None)
    queue = sender(sqs, refused=refused)

    send(queue, 5)

    assert refused == ["4: the events queue refused it (InvalidMessageContents)"]
    assert queue.sent == 4
    assert sqs.calls == 1


def test_a_queue_that_keeps_failing_stops_the_import_with_the_checkpoint_before_the_unsent_batch(
    tmp_path: Path,
) -> None:
    sqs = FlakySqs(lambda attempt, body: "ServiceUnavailable" if attempt > 1 else None)
    checkpoint = Checkpoint.open(tmp_path / "import.checkpoint", IMPORT, Place.from_checkpoint)
    queue = sender(sqs, checkpoint)

    with pytest.raises(SendingStopped, match=r"5 times, the first from export.json:11"):
        send(queue, 15)

    kept = json.loads((tmp_path / "import.checkpoint").read_text())
    assert (kept["object"], kept["line"]) == ("export.json", 10)
    assert Checkpoint.open(tmp_path / "import.checkpoint", IMPORT, Place.from_checkpoint).place == Place(
        "export.json", 10
    )


def test_a_checkpoint_of_another_import_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "import.checkpoint"
    Checkpoint[Place](path, "export.json into stage prod").save(Place("export.json", 3))

    with pytest.raises(CheckpointRefused, match="into stage prod"):
        Checkpoint.open(path, IMPORT, Place.from_checkpoint)
