"""Facts collected during a unit of work and put to Firehose at its end, with one PutRecordBatch per 500 records.

`emit` collects (nothing, when no stream is configured: OMNIJOURNEY_FACTS_STREAM absent); `flush` puts what this
thread collected. Per thread: locally, moto runs journey executions in threads of the same process, each Task its
own unit of work (on Lambda one invocation has the process to itself). A fact is emitted only after the write that
makes it true, so facts a failed unit collected stay collected and go with the next flush: true all the same.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from omnijourney.analytics.facts import Fact
from omnijourney.platform.errors import Unavailable
from omnijourney.platform.settings import get_settings

# PutRecordBatch's limits: records and bytes per call.
MAX_RECORDS = 500
MAX_BYTES = 4 * 1024 * 1024
ATTEMPTS = 5
BACKOFF_SECONDS = 0.05


class FactsNotPut(Unavailable):
    """Firehose kept refusing some records: the unit of work fails, so that its retry writes the facts again."""

    title = "Analytics facts not delivered"


class FactStream:
    """Puts records to one delivery stream; retries those Firehose reports failed (FailedPutCount), with backoff."""

    def __init__(self, stream_name: str, firehose: Any) -> None:
        self.stream_name = stream_name
        self.firehose = firehose

    def put(self, facts: Sequence[Fact]) -> None:
        for batch in batches([fact.record() for fact in facts]):
            self._put_batch(batch)

    def _put_batch(self, records: list[bytes]) -> None:
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))  # noqa: S311 - jitter, not security
            answer = self.firehose.put_record_batch(
                DeliveryStreamName=self.stream_name, Records=[{"Data": record} for record in records]
            )
            if not answer.get("FailedPutCount"):
                return
            responses = answer["RequestResponses"]
            records = [record for record, response in zip(records, responses, strict=True) if "ErrorCode" in response]
        raise FactsNotPut(f"{len(records)} analytics fact(s) refused by Firehose {ATTEMPTS} times")


def batches(records: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The records in order, in batches within PutRecordBatch's limits."""
    batch: list[bytes] = []
    size = 0
    for record in records:
        if batch and (len(batch) == MAX_RECORDS or size + len(record) > MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield batch


class _Pending(threading.local):
    def __init__(self) -> None:
        self.facts: list[Fact] = []


_pending = _Pending()


def emit(*facts: Fact) -> None:
    """Collect facts for this unit of work's flush (dropped when no stream is configured)."""
    if get_settings().facts_stream is not None:
        _pending.facts.extend(facts)


def flush() -> None:
    """Put what this thread collected: one call per 500 records. Raises FactsNotPut (the facts stay collected)."""
    stream_name = get_settings().facts_stream
    if not _pending.facts or stream_name is None:
        return
    from omnijourney.platform.aws import (
        client,  # lazy: boto3 loads on the first put, not at a function's cold start
    )

    FactStream(stream_name, client("firehose")).put(_pending.facts)
    _pending.facts = []


def discard() -> None:
    """Forget what this thread collected and did not put: a fresh local backend starts with none of an earlier one's."""
    _pending.facts = []
