"""Counting AWS calls and DynamoDB capacity units with botocore event hooks on the clients the code uses.

moto answers ReturnConsumedCapacity with constants (1 per write call, 0.5 per read call, nothing for
transactions), so units are also computed from item sizes by DynamoDB's published rules; both are kept and
the table says which is which.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from omnijourney_tools.local.hooks import hooked

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
# Calls made outside a function (LocalBackend's emulation of Lambda's SQS event source mapping).
OUTSIDE = "event source mapping"
_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def attribute_size(value: Mapping[str, Any]) -> int:
    """Bytes of one DynamoDB-JSON value, per the DynamoDB developer guide's item size rules."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "B":
        return len(content)
    if kind == "N":
        digits = Decimal(str(content)).normalize().as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_size(member) for name, member in content.items())
    if kind == "L":
        return 3 + sum(1 + attribute_size(element) for element in content)
    # SS, NS, BS: the sum of the members.
    return sum(attribute_size({kind[0]: member}) for member in content)


def item_size_of(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


@dataclass
class Usage:
    """What one labelled stretch of work cost."""

    calls: Counter[str] = field(default_factory=Counter)  # "service.Operation" → count
    write_units: float = 0.0
    read_units: float = 0.0
    reported_units: float = 0.0  # what moto put in ConsumedCapacity

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())


class AwsMeter:
    """Hooks on botocore clients; every call is charged to the function `running` names at the time."""

    def __init__(self, inspector: Any) -> None:
        # An unhooked DynamoDB client reads items before and after writes to size them; its calls are not counted.
        self._inspector = inspector
        self.running = OUTSIDE
        self.usage: dict[str, Usage] = {}

    def installed(self, clients: list[Any]) -> AbstractContextManager[None]:
        return hooked(
            clients,
            {
                "before-parameter-build.dynamodb": self._ask_for_capacity,
                "before-call": self._count,
                "after-call.dynamodb": self._charge_capacity,
            },
        )

    @contextmanager
    def measuring(self, function: str) -> Iterator[None]:
        previous, self.running = self.running, function
        try:
            yield
        finally:
            self.running = previous

    def take(self) -> dict[str, Usage]:
        """The usage since the last take, by function."""
        usage, self.usage = self.usage, {}
        return usage

    def _current(self) -> Usage:
        return self.usage.setdefault(self.running, Usage())

    def _count(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        self._current().calls[f"{model.service_model.service_name}.{model.name}"] += 1
        if model.service_model.service_name == "dynamodb":
            context["bench_before"] = self._stored_sizes(model.name, context.get("bench_params", {}))

    def _ask_for_capacity(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "TOTAL"
        context["bench_params"] = params

    def _charge_capacity(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        usage = self._current()
        reported = parsed.get("ConsumedCapacity", [])
        for capacity in reported if isinstance(reported, list) else [reported]:
            usage.reported_units += float(capacity.get("CapacityUnits", 0))
        params = context.get("bench_params", {})
        if model.name in _WRITES or model.name == "TransactWriteItems":
            before = context.get("bench_before", [])
            after = self._stored_sizes(model.name, params)
            # A write costs by the larger of the item before and after it; a transaction costs double.
            factor = 2 if model.name == "TransactWriteItems" else 1
            usage.write_units += factor * sum(
                math.ceil(max(old, new, 1) / WRITE_UNIT_BYTES) for old, new in zip(before, after, strict=True)
            )
        else:
            usage.read_units += _read_units(model.name, params, parsed)

    def _stored_sizes(self, operation: str, params: Mapping[str, Any]) -> list[int]:
        """The size of every item a write touches, as stored right now (0 where there is none)."""
        if operation in _WRITES:
            targets = [params]
        elif operation == "TransactWriteItems":
            targets = [next(iter(action.values())) for action in params.get("TransactItems", [])]
        else:
            return []
        sizes = []
        for target in targets:
            key = target.get("Key") or self._key_of(target["TableName"], target["Item"])
            found = self._inspector.get_item(TableName=target["TableName"], Key=key, ConsistentRead=True)
            sizes.append(item_size_of(found.get("Item", {})))
        return sizes

    def _key_of(self, table: str, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in _key_names(self._inspector, table)}


@cache
def _key_names(inspector: Any, table: str) -> tuple[str, ...]:
    schema = inspector.describe_table(TableName=table)["Table"]["KeySchema"]
    return tuple(key["AttributeName"] for key in schema)


def _read_units(operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> float:
    """Each item (a query: the total) rounds up to 4 KB; eventually consistent costs half; a miss costs the minimum."""

    def units(size: int, consistent: bool) -> float:
        return max(1, math.ceil(size / READ_UNIT_BYTES)) * (1.0 if consistent else 0.5)

    if operation == "GetItem":
        return units(item_size_of(parsed.get("Item", {})), bool(params.get("ConsistentRead")))
    if operation == "BatchGetItem":
        total = 0.0
        for table, request in params.get("RequestItems", {}).items():
            found = parsed.get("Responses", {}).get(table, [])
            misses = len(request["Keys"]) - len(found)
            sizes = [item_size_of(item) for item in found] + [0] * misses
            total += sum(units(size, bool(request.get("ConsistentRead"))) for size in sizes)
        return total
    if operation in ("Query", "Scan"):
        size = sum(item_size_of(item) for item in parsed.get("Items", []))
        return units(size, bool(params.get("ConsistentRead")))
    return 0.0


class CallClock:
    """How many AWS calls, and how long inside them: the share of wall time moto takes."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started: dict[int, float] = {}

    def installed(self, clients: list[Any]) -> AbstractContextManager[None]:
        return hooked(clients, {"before-call": self._start, "after-call": self._stop})

    def _start(self, context: dict[str, Any], **_: Any) -> None:
        self._started[id(context)] = time.perf_counter()

    def _stop(self, context: dict[str, Any], **_: Any) -> None:
        self.count += 1
        self.seconds += time.perf_counter() - self._started.pop(id(context))
