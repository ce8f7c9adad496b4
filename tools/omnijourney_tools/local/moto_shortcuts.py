"""Shortcuts through moto that give moto's own answers in a fraction of the time.

A simulated month makes tens of thousands of calls to moto, mostly DynamoDB's, and three things moto does per call grow
with the size of the tables or of the answer, not with the work asked for:

- a Query on a table sorts every item of the table, then keeps the queried partition's (~25 ms per customer history
  query at 200 customers, so a month of them was quadratic): here it reads only the partition of its hash key, and the
  rest of moto's query (range conditions, order, pages, filters, projections) runs unchanged;
- TransactWriteItems deep-copies every table it writes to, to roll back on a failed condition: here it keeps copies of
  only the items the transaction writes, and rolls those back;
- every answer is written out by moto's generic serializer, which walks the output model for each attribute of each
  item (75% of a 20-item query): here the answers of item operations, already in DynamoDB's wire format, are written
  with `json.dumps`, binary values base64-encoded as the serializer does.

The others are constants worked out again on every call, here once: moto lists the methods of the service's response
class with `inspect.getmembers` to dispatch each request (5% of a GetItem), SQS renames each queue attribute from
CamelCase whenever one is read, and DynamoDB lexes a condition expression character by character and parses an update
expression twice (together as long as the write itself: Powertools' idempotency records are conditional puts and
updates).

And botocore signs every request (SigV4: canonical request, HMAC chain; a tenth of a simulated month), which moto's
DynamoDB, SQS, SNS and Step Functions never check: here their calls go unsigned. moto reads the caller's account from
the access key in the signature, and without one takes the default account, the account of the local backend's test
credentials too. S3 is left signed: moto takes an unsigned S3 request for an anonymous one, as S3 does.

tests/integration/test_moto_shortcuts.py checks each against moto's own answers. They patch moto internals, so they
are tied to the moto version pinned in pyproject.toml (5.2.5).
"""

from __future__ import annotations

import base64
import copy
import inspect
import json
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from typing import Any
from unittest import mock

# Operations whose answers hold items and counts only (no timestamps, nothing in moto's own naming).
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)

# Services (botocore's hyphenated service ids) whose moto backends never look at a request's signature.
UNCHECKED_SIGNATURES = frozenset({"dynamodb", "sqs", "sns", "sfn"})


@contextmanager
def moto_shortcuts() -> Iterator[None]:
    """While open, moto takes the shortcuts above."""
    with ExitStack() as patches:
        patches.enter_context(_lookups_made_once())
        patches.enter_context(_expressions_read_once())
        patches.enter_context(_partition_queries())
        patches.enter_context(_item_rollback())
        patches.enter_context(_plain_json_answers())
        patches.enter_context(_unsigned_requests())
        yield


@contextmanager
def _unsigned_requests() -> Iterator[None]:
    from botocore.signers import RequestSigner

    sign = RequestSigner.sign

    def sign_unless_unchecked(
        signer: RequestSigner,
        operation: str,
        request: Any,
        region: str | None = None,
        signing_type: str = "standard",
        *more: Any,
        **named: Any,
    ) -> None:
        # A presigned URL's signature is part of the answer.
        if signing_type != "standard" or signer._service_id.hyphenize() not in UNCHECKED_SIGNATURES:
            sign(signer, operation, request, region, signing_type, *more, **named)

    with mock.patch.object(RequestSigner, "sign", sign_unless_unchecked):
        yield


@contextmanager
def _lookups_made_once() -> Iterator[None]:
    import moto.core.responses as responses_module
    import moto.sqs.models as sqs_module
    from moto.core.utils import camelcase_to_underscores, method_names_from_class

    # Pure functions of their argument (response classes do not change while moto runs), called per request.
    names = cache(camelcase_to_underscores)
    with (
        mock.patch.object(responses_module, "method_names_from_class", cache(method_names_from_class)),
        mock.patch.object(responses_module, "camelcase_to_underscores", names),
        mock.patch.object(sqs_module, "camelcase_to_underscores", names),
    ):
        yield


@contextmanager
def _expressions_read_once() -> Iterator[None]:
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]  # untyped module

    lex = ConditionExpressionParser._lex_condition_expression
    tokens: dict[str, tuple[Any, ...]] = {}

    def lexed_once(parser: Any) -> deque[Any]:
        # Tokens are immutable and depend on the expression's text alone; the parser consumes the deque it gets.
        expression = parser.condition_expression
        if expression not in tokens:
            tokens[expression] = tuple(lex(parser))
        return deque(tokens[expression])

    # moto only reads a parsed update expression, and its validator works on a deep copy.
    parse = cache(UpdateExpressionParser.make)
    with (
        mock.patch.object(ConditionExpressionParser, "_lex_condition_expression", lexed_once),
        mock.patch.object(UpdateExpressionParser, "make", staticmethod(parse)),
    ):
        yield


class _Partition:
    """A moto table as its query sees it: every attribute the table's, but `all_items()` one partition's items."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        # `get`, not indexing: the table's items are a defaultdict, and a read must not add a partition.
        partition = self._table.items.get(self._hash_key)
        if partition is None:
            return []
        return list(partition.values()) if self._table.range_key_attr else [partition]


@contextmanager
def _partition_queries() -> Iterator[None]:
    from moto.dynamodb.models.table import Table

    query: Any = Table.query
    parameters = inspect.signature(query)

    def partition_query(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # Queries on an index are left to moto as they are.
        on_index = parameters.bind(table, hash_key, *args, **kwargs).arguments.get("index_name")
        return query(table if on_index else _Partition(table, hash_key), hash_key, *args, **kwargs)

    with mock.patch.object(Table, "query", partition_query):
        yield


class _CopyKeepingTables:
    """The `copy` module as moto's DynamoDB backend sees it: a table "copied" for a rollback is the table itself
    (the items the transaction writes are saved instead); anything else is copied as usual."""

    def __init__(self, table_class: type) -> None:
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, self._table_class) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


@contextmanager
def _item_rollback() -> Iterator[None]:
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    transact_write_items = DynamoDBBackend.transact_write_items

    def rolling_back_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            saved = [_saved_item(backend, operation) for operation in transact_items]
        except Exception:  # noqa: BLE001 - a malformed transaction: moto's own checks answer it, before any write
            saved = []
        try:
            transact_write_items(backend, transact_items)
        except BaseException:
            for entry in reversed(saved):
                if entry is not None:
                    _restore(*entry)
            raise

    with (
        mock.patch.object(backend_module, "copy", _CopyKeepingTables(Table)),
        mock.patch.object(DynamoDBBackend, "transact_write_items", rolling_back_items),
    ):
        yield


def _saved_item(backend: Any, operation: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    """(table, hash key, range key, a copy of the item or None) for an operation that writes; None for a check."""
    ((kind, request),) = operation.items()
    if kind == "ConditionCheck":
        return None
    table = backend.get_table(request["TableName"])
    if kind == "Put":
        key_names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        key = {name: request["Item"][name] for name in key_names}
    else:
        key = request["Key"]
    hash_key, range_key = backend.get_keys_value(table, key)
    return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """Put the saved item back, or remove the key if there was none."""
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if item is not None:
        table.items[hash_key][range_key] = item
        return
    partition = table.items.get(hash_key)
    if partition is not None:
        partition.pop(range_key, None)
        if not partition:
            del table.items[hash_key]


def _binary_as_base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not part of an item answer")


@contextmanager
def _plain_json_answers() -> Iterator[None]:
    from moto.dynamodb.responses import DynamoResult

    execute_result = DynamoResult.execute_result

    def plain_json(result: Any, context: Any) -> Any:
        if context.operation_model.name not in ITEM_OPERATIONS or isinstance(result.result, Exception):
            return execute_result(result, context)
        body = json.dumps(result.result, default=_binary_as_base64)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    with mock.patch.object(DynamoResult, "execute_result", plain_json):
        yield
