"""After erasure nothing the backend keeps names the customer: the whole demo story played, every customer in it
erased, then every table and index, every object version in every bucket and every execution's input, output and
history searched for their emails, phones, names, addresses and vendor ids. Queues and DLQs are left to their
retention (docs/operations.md, "What erasure removes")."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pytest

from omnijourney.platform import aws
from omnijourney_tools.local import LocalBackend, http_event
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import read
from tests.conftest import ROOT, delivery, sample, signed
from tests.integration.personal_data import needles

STORY = ROOT / "scenarios" / "shoes.jsonl"
BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def leaves(value: Any) -> Iterator[str]:
    """Every text in a stored value, with JSON kept as text and base64 (quarantine keeps raw bodies so) read."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, bytes):
        yield from leaves(value.decode(errors="replace"))
    elif isinstance(value, str):
        yield value
        if value[:1] in "{[":
            with suppress(json.JSONDecodeError):
                yield from leaves(json.loads(value))
        for line in value.splitlines() if "\n" in value else ():  # newline-delimited JSON (the facts)
            yield from leaves(line)
        if BASE64.fullmatch(value):
            with suppress(binascii.Error, UnicodeDecodeError):
                yield from leaves(base64.b64decode(value).decode())
    elif value is not None:
        yield str(value)


def dynamodb_items() -> Iterator[tuple[str, Any]]:
    """Every item of every table, and every entry of every index (a scan of each)."""
    dynamodb = aws.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        description = dynamodb.describe_table(TableName=table)["Table"]
        indexes = [None] + [
            index["IndexName"]
            for index in description.get("GlobalSecondaryIndexes", []) + description.get("LocalSecondaryIndexes", [])
        ]
        for index in indexes:
            options = {"TableName": table} | ({"IndexName": index} if index else {})
            for page in dynamodb.get_paginator("scan").paginate(**options):
                for item in page["Items"]:
                    yield f"{table}{'/' + index if index else ''}", item


def bucket_objects() -> Iterator[tuple[str, Any]]:
    """Every version of every object in every bucket (and every delete marker's key)."""
    s3 = aws.client("s3")
    for bucket in (entry["Name"] for entry in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"]
                yield f"s3://{bucket}/{version['Key']}", [version["Key"], body.read()]
            for marker in page.get("DeleteMarkers", []):
                yield f"s3://{bucket}/{marker['Key']} (deleted)", marker["Key"]


def executions() -> Iterator[tuple[str, Any]]:
    """Every execution's name, input, output and history events."""
    sfn = aws.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"]):
            for execution in page["executions"]:
                arn = execution["executionArn"]
                described = sfn.describe_execution(executionArn=arn)
                history = [
                    event
                    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
                    for event in page["events"]
                ]
                yield arn, [arn, described.get("input"), described.get("output"), history]


def stored() -> list[tuple[str, Any]]:
    """What the tables, their indexes and the buckets hold."""
    return [*dynamodb_items(), *bucket_objects()]


def hits(places: list[tuple[str, Any]], searched: set[str]) -> list[str]:
    """Where any of `searched` is kept: `<place>: <value>`."""
    found = []
    for place, kept in places:
        texts = list(leaves(kept))
        found += [f"{place}: {needle}" for needle in sorted(searched) if any(needle in text for text in texts)]
    return found


def quarantine_a_broken_order_twice(backend: LocalBackend) -> None:
    """Lena's order, signed but with a line item that names no product: quarantined, and (sent again by Shopify) kept
    as two versions of one object."""
    order = sample("shopify", "orders_create_pos")
    order["line_items"][0] |= {"sku": None, "variant_id": None, "id": None}
    broken = signed(delivery("shopify", "orders_create_pos", body=json.dumps(order).encode()))
    for _ in range(2):
        event = http_event("POST", "/webhooks/shopify", headers=broken.headers, body=broken.body)
        status, answer = backend.call_http("ingest", event)
        assert status == 400, answer
        assert answer["quarantine_id"]


@dataclass(frozen=True)
class Erased:
    searched: set[str]
    stored_before: list[str]
    stored_after: list[str]
    executions_after: list[tuple[str, Any]]


@pytest.fixture(scope="module")
def story_erased() -> Iterator[Erased]:
    """The demo story played (and Lena's broken order quarantined twice), searched, everyone erased."""
    lines = read(STORY)
    searched = needles(lines)
    with LocalBackend(stage="test", start=lines[0].at) as backend:
        Simulation(backend).run(lines)
        quarantine_a_broken_order_twice(backend)
        stored_before = hits(stored(), searched)
        erase_everyone(backend)
        yield Erased(searched, stored_before, hits(stored(), searched), list(executions()))


def erase_everyone(backend: LocalBackend) -> None:
    from omnijourney.profiles.store import ProfileRecord

    live = [record.customer_id for record in ProfileRecord.scan() if not record.merged_into]
    assert live
    for customer_id in live:
        status, body = backend.call_http("profile_api", http_event("DELETE", f"/profiles/{customer_id}"))
        assert status == 200, body
    # The stopped executions end, and the journey-step function records how (as EventBridge tells it on AWS).
    backend.clock.settle()
    backend.status_changes()


def test_after_erasure_no_table_index_or_object_version_holds_any_of_their_identifiers(story_erased: Erased) -> None:
    assert {
        "lena.fischer@example.com",
        "+4915123456789",
        "+49 151 23456789",
        "Lena Fischer",
        "Musterstraße 12",
        "LOY-100245",
        "7390123456789",  # Shopify's customer id
        "39120445561",  # Zendesk's requester id
    } <= story_erased.searched
    # While the customers are live, the search finds them: in profiles, identities, history and quarantine.
    places = {place.split(":", 1)[0] for place in story_erased.stored_before}
    assert {"omnijourney-test-profiles", "omnijourney-test-identities", "omnijourney-test-history"} <= places
    quarantined = "s3://omnijourney-test-quarantine/quarantine/"
    assert any(place.startswith(quarantined) for place in story_erased.stored_before)

    assert story_erased.stored_after == [], "\n".join(story_erased.stored_after)


def test_no_execution_input_output_or_history_holds_any_of_their_identifiers(story_erased: Erased) -> None:
    assert story_erased.executions_after, "the story starts journeys: their executions are searched"
    left = hits(story_erased.executions_after, story_erased.searched)
    assert left == [], "\n".join(left)
