"""moto's DynamoDB with the simulation's shortcuts answers exactly what moto answers without them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from omnijourney.platform import aws
from omnijourney_tools.local.moto_shortcuts import moto_shortcuts
from tests.integration.conftest import fake_aws

HISTORY = "history"
IDENTITIES = "identities"
CUSTOMERS = ("cust-a", "cust-b", "cust-c")
DAYS = (14, 3, 27, 9, 21, 1, 30, 17, 5, 11)  # out of order, so that order comes from the query, not from writing
Requests = Callable[[Any], list[Any]]


def history_item(customer: str, number: int, day: int) -> dict[str, Any]:
    """An entry with every kind of attribute value moto has to write out."""
    return {
        "customer_id": {"S": customer},
        "entry": {"S": f"2026-03-{day:02d}T10:00:00+00:00#{number}"},
        "channel": {"S": ("web", "store")[day % 2]},
        "amount": {"N": str(day * 10 + number)},
        "payload": {"B": bytes([day, number, 255])},
        "tags": {"SS": ["new", f"day-{day}"]},
        "scores": {"NS": ["1", str(day)]},
        "blobs": {"BS": [b"\x00\x01", bytes([day])]},
        "opened": {"BOOL": day % 3 == 0},
        "note": {"NULL": True},
        "detail": {"M": {"lines": {"L": [{"S": "sku-1"}, {"N": "2"}, {"B": b"\xff"}, {"M": {"x": {"BOOL": False}}}]}}},
    }


def create_tables(client: Any) -> None:
    """A history-like table (customer, time-prefixed entry; an index by channel) and a key-only table, filled."""
    client.create_table(
        TableName=HISTORY,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("customer_id", "entry", "channel")
        ],
        KeySchema=[{"AttributeName": "customer_id", "KeyType": "HASH"}, {"AttributeName": "entry", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_channel",
                "KeySchema": [
                    {"AttributeName": "channel", "KeyType": "HASH"},
                    {"AttributeName": "entry", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.create_table(
        TableName=IDENTITIES,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
    )
    for day in DAYS:
        for number, customer in enumerate(CUSTOMERS):
            client.put_item(TableName=HISTORY, Item=history_item(customer, number, day))
    for customer in CUSTOMERS:
        client.put_item(TableName=IDENTITIES, Item={"key": {"S": f"email#{customer}"}, "id": {"S": customer}})


def answers(requests: Requests, *, shortcuts: bool) -> list[Any]:
    """What the client answers to `requests` on fresh tables (an error answers its code and reasons), then both
    tables' contents."""
    with fake_aws(), moto_shortcuts() if shortcuts else nullcontext():
        client = aws.client("dynamodb")
        create_tables(client)
        answered = [_without_metadata(answer) for answer in requests(client)]
        contents = [_scan(client, table) for table in (HISTORY, IDENTITIES)]
    return [*answered, *contents]


def _without_metadata(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {key: value for key, value in answer.items() if key != "ResponseMetadata"}
    return answer


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=table)["Items"], key=repr)


def attempt(call: Callable[..., Any], **request: Any) -> Any:
    try:
        return call(**request)
    except ClientError as error:
        return {"error": error.response["Error"]["Code"], "reasons": error.response.get("CancellationReasons")}


def assert_same_answers(requests: Requests) -> list[Any]:
    expected = answers(requests, shortcuts=False)
    assert answers(requests, shortcuts=True) == expected
    return expected


QUERIES: dict[str, dict[str, Any]] = {
    "whole partition": {"KeyConditionExpression": "customer_id = :c"},
    "newest first": {"KeyConditionExpression": "customer_id = :c", "ScanIndexForward": False},
    "after an instant": {
        "KeyConditionExpression": "customer_id = :c AND entry > :after",
        "values": {":after": {"S": "2026-03-10"}},
    },
    "prefix": {
        "KeyConditionExpression": "customer_id = :c AND begins_with(entry, :prefix)",
        "values": {":prefix": {"S": "2026-03-1"}},
    },
    "between": {
        "KeyConditionExpression": "customer_id = :c AND entry BETWEEN :low AND :high",
        "values": {":low": {"S": "2026-03-05"}, ":high": {"S": "2026-03-21"}},
    },
    "filtered": {
        "KeyConditionExpression": "customer_id = :c",
        "FilterExpression": "amount > :amount",
        "values": {":amount": {"N": "150"}},
    },
    "projected": {"KeyConditionExpression": "customer_id = :c", "ProjectionExpression": "entry, amount, detail"},
    "counted": {"KeyConditionExpression": "customer_id = :c", "Select": "COUNT", "ReturnConsumedCapacity": "TOTAL"},
    "unknown customer": {"KeyConditionExpression": "customer_id = :c", "customer": "nobody"},
    "by index": {"IndexName": "by_channel", "KeyConditionExpression": "channel = :c", "customer": "store"},
}


def query_pages(client: Any, query: dict[str, Any], page_size: int | None, table: str = HISTORY) -> list[Any]:
    """Every page of the query's answer, following LastEvaluatedKey."""
    query = dict(query)
    values = {":c": {"S": query.pop("customer", "cust-b")}, **query.pop("values", {})}
    request = {"TableName": table, "ExpressionAttributeValues": values, **query} | (
        {"Limit": page_size} if page_size else {}
    )
    pages = []
    while True:
        page = client.query(**request)
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            return pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("page_size", [None, 3])
@pytest.mark.parametrize("name", list(QUERIES))
def test_a_query_answers_as_moto_does(name: str, page_size: int | None) -> None:
    pages = assert_same_answers(lambda client: query_pages(client, QUERIES[name], page_size))
    found = sum(page.get("Count", 0) for page in pages[:-2])
    assert name == "unknown customer" or found, "the query finds something to compare"


def test_a_query_on_the_table_key_never_reads_the_whole_table() -> None:
    from moto.dynamodb.models.table import Table

    whole_table = AssertionError("the query read every item of the table")
    with fake_aws(), moto_shortcuts():
        client = aws.client("dynamodb")
        create_tables(client)
        with mock.patch.object(Table, "all_items", side_effect=whole_table):
            pages = query_pages(client, QUERIES["after an instant"], 3)
    assert sum(page["Count"] for page in pages) == 6  # the 11th to the 30th


def test_a_table_without_a_sort_key_answers_its_one_item() -> None:
    def look_up(client: Any) -> list[Any]:
        named = {"KeyConditionExpression": "#key = :c", "ExpressionAttributeNames": {"#key": "key"}}
        return [
            *query_pages(client, named | {"customer": "email#cust-c"}, None, IDENTITIES),
            *query_pages(client, named | {"customer": "nobody"}, None, IDENTITIES),
        ]

    found, missing, *contents = assert_same_answers(look_up)
    assert [item["id"]["S"] for item in found["Items"]] == ["cust-c"]
    assert missing["Items"] == []
    assert len(contents[1]) == len(CUSTOMERS), "a query for a missing key added nothing to the table"


def test_item_operations_answer_as_moto_does() -> None:
    key = {"customer_id": {"S": "cust-a"}, "entry": {"S": "2026-03-14T10:00:00+00:00#0"}}

    def operations(client: Any) -> list[Any]:
        return [
            client.get_item(TableName=HISTORY, Key=key),
            client.get_item(TableName=HISTORY, Key=key, ProjectionExpression="detail.lines[2], tags, payload"),
            client.get_item(TableName=HISTORY, Key=key | {"entry": {"S": "missing"}}),
            client.put_item(TableName=HISTORY, Item=history_item("cust-a", 0, 14), ReturnValues="ALL_OLD"),
            client.update_item(
                TableName=HISTORY,
                Key=key,
                UpdateExpression="SET amount = amount + :one, payload = :bytes ADD tags :tag REMOVE note",
                ExpressionAttributeValues={":one": {"N": "1"}, ":bytes": {"B": b"\x10\x20"}, ":tag": {"SS": ["seen"]}},
                ReturnValues="ALL_NEW",
                ReturnConsumedCapacity="TOTAL",
            ),
            client.update_item(
                TableName=HISTORY,
                Key=key,
                UpdateExpression="SET opened = :yes",
                ExpressionAttributeValues={":yes": {"BOOL": True}},
                ReturnValues="UPDATED_OLD",
            ),
            client.delete_item(TableName=HISTORY, Key=key, ReturnValues="ALL_OLD"),
            client.batch_get_item(
                RequestItems={
                    HISTORY: {
                        "Keys": [key | {"customer_id": {"S": "cust-b"}, "entry": {"S": "2026-03-03T10:00:00+00:00#1"}}]
                    },
                    IDENTITIES: {"Keys": [{"key": {"S": "email#cust-a"}}, {"key": {"S": "email#nobody"}}]},
                }
            ),
            client.batch_write_item(
                RequestItems={IDENTITIES: [{"PutRequest": {"Item": {"key": {"S": "phone#1"}, "id": {"S": "cust-a"}}}}]}
            ),
            client.transact_get_items(
                TransactItems=[{"Get": {"TableName": IDENTITIES, "Key": {"key": {"S": "phone#1"}}}}]
            ),
            client.scan(
                TableName=HISTORY, FilterExpression="opened = :yes", ExpressionAttributeValues={":yes": {"BOOL": True}}
            ),
        ]

    assert_same_answers(operations)


def test_an_expression_used_again_is_read_with_its_new_values() -> None:
    key = {"key": {"S": "email#cust-a"}}
    owned_by = "attribute_not_exists(#key) OR id = :owner"

    def operations(client: Any) -> list[Any]:
        claims = [
            attempt(
                client.put_item,
                TableName=IDENTITIES,
                Item=key | {"id": {"S": owner}},
                ConditionExpression=owned_by,
                ExpressionAttributeNames={"#key": "key"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
            for owner in ("cust-b", "cust-a", "cust-c")
        ]
        updates = [
            client.update_item(
                TableName=IDENTITIES,
                Key=key,
                UpdateExpression="SET seen = :seen",
                ExpressionAttributeValues={":seen": {"N": str(count)}},
                ReturnValues="UPDATED_NEW",
            )
            for count in (1, 2)
        ]
        broken = [attempt(client.update_item, TableName=IDENTITIES, Key=key, UpdateExpression="SET = :x") for _ in "ab"]
        return [*claims, *updates, *broken]

    not_owner, owner, other, first, second, *broken = assert_same_answers(operations)[:-2]
    assert (not_owner["error"], other["error"]) == (
        "ConditionalCheckFailedException",
        "ConditionalCheckFailedException",
    )
    assert "error" not in owner
    assert (first["Attributes"], second["Attributes"]) == ({"seen": {"N": "1"}}, {"seen": {"N": "2"}})
    assert [answer["error"] for answer in broken] == ["ValidationException", "ValidationException"]


NEW_PROFILE = {"Put": {"TableName": IDENTITIES, "Item": {"key": {"S": "profile#new"}, "id": {"S": "cust-new"}}}}


def identity_claim(key: str, customer: str) -> dict[str, Any]:
    """Claim an identifier for a customer, unless someone holds it (as profiles claim emails and phones)."""
    return {
        "Put": {
            "TableName": IDENTITIES,
            "Item": {"key": {"S": key}, "id": {"S": customer}},
            "ConditionExpression": "attribute_not_exists(#key)",
            "ExpressionAttributeNames": {"#key": "key"},
        }
    }


def test_a_failed_transaction_leaves_every_item_as_it_was() -> None:
    entry = {"customer_id": {"S": "cust-a"}, "entry": {"S": "2026-03-03T10:00:00+00:00#0"}}
    other = {"customer_id": {"S": "cust-c"}, "entry": {"S": "2026-03-05T10:00:00+00:00#2"}}

    def transactions(client: Any) -> list[Any]:
        before = _scan(client, HISTORY), _scan(client, IDENTITIES)
        failed = attempt(
            client.transact_write_items,
            TransactItems=[
                NEW_PROFILE,
                {
                    "Update": {
                        "TableName": HISTORY,
                        "Key": entry,
                        "UpdateExpression": "SET amount = :zero REMOVE payload",
                        "ExpressionAttributeValues": {":zero": {"N": "0"}},
                    }
                },
                {"Delete": {"TableName": HISTORY, "Key": other}},
                identity_claim("email#cust-b", "cust-new"),  # held by cust-b: the transaction is cancelled
                {"Put": {"TableName": HISTORY, "Item": history_item("cust-new", 0, 1)}},
            ],
        )
        after = _scan(client, HISTORY), _scan(client, IDENTITIES)
        return [failed, after == before]

    failed, unchanged, *_ = assert_same_answers(transactions)
    assert failed["error"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in failed["reasons"]] == [
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
        "None",
    ]
    assert unchanged


def test_a_transaction_that_succeeds_writes_everything_once() -> None:
    def transactions(client: Any) -> list[Any]:
        written = client.transact_write_items(TransactItems=[NEW_PROFILE, identity_claim("email#new", "cust-new")])
        again = attempt(client.transact_write_items, TransactItems=[identity_claim("email#new", "cust-other")])
        twice = attempt(client.transact_write_items, TransactItems=[NEW_PROFILE, NEW_PROFILE])
        return [written, again, twice]

    _, again, twice, _, identities = assert_same_answers(transactions)
    assert again["error"] == "TransactionCanceledException"
    assert twice["error"] == "ValidationException"
    claimed = {item["key"]["S"]: item["id"]["S"] for item in identities}
    assert claimed["email#new"] == "cust-new"
    assert claimed["profile#new"] == "cust-new"


def test_unchecked_calls_go_unsigned_to_the_same_account_and_s3_stays_signed() -> None:
    def calls(shortcuts: bool) -> tuple[dict[str, list[bool]], str, bytes, str]:
        with fake_aws(), moto_shortcuts() if shortcuts else nullcontext():
            sqs, s3 = aws.client("sqs"), aws.client("s3")
            signed: dict[str, list[bool]] = {"sqs": [], "s3": []}
            for name, client in (("sqs", sqs), ("s3", s3)):
                client.meta.events.register(
                    f"before-send.{name}",
                    lambda request, into=signed[name], **_: into.append("Authorization" in request.headers),
                )
            url = sqs.create_queue(QueueName="events")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            s3.create_bucket(Bucket="quarantine")
            s3.put_object(Bucket="quarantine", Key="k", Body=b"kept")
            kept = s3.get_object(Bucket="quarantine", Key="k")["Body"].read()
            presigned = s3.generate_presigned_url("get_object", Params={"Bucket": "quarantine", "Key": "k"})
            return signed, arn, kept, presigned

    signed, arn, _, _ = calls(shortcuts=False)
    shortcut, shortcut_arn, kept, presigned = calls(shortcuts=True)
    assert signed == {"sqs": [True, True], "s3": [True, True, True]}
    assert shortcut == {"sqs": [False, False], "s3": [True, True, True]}
    assert shortcut_arn == arn == "arn:aws:sqs:us-east-1:123456789012:events"
    assert kept == b"kept"
    assert "Signature=" in presigned


@pytest.fixture(autouse=True)
def _no_shortcuts_left_behind() -> Iterator[None]:
    from botocore.signers import RequestSigner
    from moto.dynamodb.models.table import Table

    query, sign = Table.query, RequestSigner.sign
    yield
    assert Table.query is query
    assert RequestSigner.sign is sign
