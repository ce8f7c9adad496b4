"""AWS calls failing as AWS fails them, injected with botocore event hooks on the clients the functions use.

A call fails at the plan's rate (drawn from a seeded random.Random) with one of the kinds its service and operation
can have. Most kinds are answered in place of the request, as the error response botocore turns into the modelled
exception: not applied, as AWS documents for throttling and 5xx. The SDK's own retries are modelled: what botocore's
standard mode retries (its own checker decides) passes at the next attempt unless the plan says the fault outlasts
them; what it does not retry (a cancelled transaction) reaches the function at once. Two kinds touch AWS: a read
timeout applies the call and then raises (the one window where AWS accepted what the caller believes failed; the
SDK's re-send of it, another acceptance, is not modelled), and an SQS batch partly failed applies some entries and
answers `Failed` for the others.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import partial
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.retries.standard import RetryContext, StandardRetryConditions

# The context key under which a call carries the fault drawn for it, from parameter building to its answer.
_DRAWN = "chaos_fault"
_FAILED_ENTRIES = "chaos_failed_entries"
_CANCELLATION = "chaos_cancellation"


class FaultKind(StrEnum):
    throttled = "throttled"
    server_error = "server_error"  # 500
    unavailable = "unavailable"  # 503
    transaction_cancelled = "transaction_cancelled"
    batch_partly_failed = "batch_partly_failed"
    ssm_unavailable = "ssm_unavailable"
    read_timeout = "read_timeout"  # applied, then the answer never came


# Faults that touch AWS: applied, in part or in whole.
APPLIED = (FaultKind.read_timeout, FaultKind.batch_partly_failed)
# What AWS documents as not applied: a retry cannot duplicate anything.
NOT_ACCEPTED = (
    FaultKind.throttled,
    FaultKind.server_error,
    FaultKind.unavailable,
    FaultKind.transaction_cancelled,
    FaultKind.batch_partly_failed,
    FaultKind.ssm_unavailable,
)

# Each service's own error code for throttling, as its API reference names it.
_THROTTLE_CODES = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "sesv2": "TooManyRequestsException",
    "sns": "Throttled",
    "sqs": "RequestThrottled",
    "s3": "SlowDown",
}
_SERVER_ERROR_CODES = {"dynamodb": "InternalServerError", "s3": "InternalError", "ssm": "InternalServerError"}
# The reasons DynamoDB gives for a cancelled transaction that a retry can pass.
_TRANSIENT_CANCELLATIONS = ("TransactionConflict", "ThrottlingError")


@dataclass(frozen=True)
class FaultPlan:
    """How often and which faults: `rate` of the calls matching `calls` (fnmatch patterns of `service.Operation`,
    e.g. `dynamodb.*`, `sesv2.SendEmail`) fail with one of `kinds` that the call can have. Of the faults the SDK
    retries, `outlasting` last through its attempts (a throttling storm or an outage longer than its back-off) and
    reach the function; the others pass at its next attempt. `limit`: at most that many faults in all."""

    rate: float
    seed: int = 0
    outlasting: float = 0.1
    limit: int | None = None
    kinds: Sequence[FaultKind] = NOT_ACCEPTED
    calls: Sequence[str] = ("*",)

    def matches(self, call: str) -> bool:
        return any(fnmatchcase(call, pattern) for pattern in self.calls)


def kinds_for(service: str, operation: str) -> list[FaultKind]:
    """The kinds of fault this call can have on AWS."""
    if service == "ssm":
        return [FaultKind.throttled, FaultKind.ssm_unavailable, FaultKind.read_timeout]
    found = [FaultKind.throttled, FaultKind.server_error, FaultKind.unavailable, FaultKind.read_timeout]
    if (service, operation) == ("dynamodb", "TransactWriteItems"):
        found.append(FaultKind.transaction_cancelled)
    if (service, operation) == ("sqs", "SendMessageBatch"):
        found.append(FaultKind.batch_partly_failed)
    return found


class FaultInjector:
    """Draws faults for each call made on the hooked clients while `armed` (per thread: the functions' work, not
    the event source mapping's or the test's own calls). Counts by kind: `injected` (every failed attempt),
    `absorbed` (those the SDK's retries got past) and `escaped` (those the function saw)."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.injected: Counter[FaultKind] = Counter()
        self.absorbed: Counter[FaultKind] = Counter()
        self.escaped: Counter[FaultKind] = Counter()
        self._random = random.Random(plan.seed)  # noqa: S311 - reproducible faults, not secrets
        self._armed = threading.local()

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Calls made by this thread inside the block may fail."""
        depth = getattr(self._armed, "depth", 0)
        self._armed.depth = depth + 1
        try:
            yield
        finally:
            self._armed.depth = depth

    @contextmanager
    def installed(self, clients: Sequence[Any]) -> Iterator[None]:
        unique = list(dict.fromkeys(clients))  # the same client may be reached through two factories
        hooks: dict[Any, dict[str, Callable[..., Any]]] = {
            client: {
                "before-parameter-build": self._draw,
                "before-call": partial(self._answer_instead, sdk=sdk_retries(client)),
                "after-call": self._after_applied,
            }
            for client in unique
        }
        for client, installed in hooks.items():
            for event, hook in installed.items():
                client.meta.events.register_first(event, hook)
        try:
            yield
        finally:
            for client, installed in hooks.items():
                for event, hook in installed.items():
                    client.meta.events.unregister(event, hook)

    def _draw(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not getattr(self._armed, "depth", 0):
            return
        if self.plan.limit is not None and self.injected.total() >= self.plan.limit:
            return
        service, operation = model.service_model.service_name, model.name
        if not self.plan.matches(f"{service}.{operation}") or self._random.random() >= self.plan.rate:
            return
        possible = [kind for kind in kinds_for(service, operation) if kind in self.plan.kinds]
        if operation == "SendMessageBatch" and len(params.get("Entries", [])) < 2:
            possible = [kind for kind in possible if kind != FaultKind.batch_partly_failed]
        if possible:
            self._drawn(self._random.choice(possible), params, context)

    def _drawn(self, kind: FaultKind, params: dict[str, Any], context: dict[str, Any]) -> None:
        self.injected[kind] += 1
        context[_DRAWN] = kind
        if kind == FaultKind.transaction_cancelled:
            context[_CANCELLATION] = self._random.choice(_TRANSIENT_CANCELLATIONS)
        if kind == FaultKind.batch_partly_failed:
            entries = params["Entries"]
            failing = self._random.sample(range(len(entries)), self._random.randint(1, len(entries) - 1))
            context[_FAILED_ENTRIES] = [entries[index]["Id"] for index in sorted(failing)]
            params["Entries"] = [entry for index, entry in enumerate(entries) if index not in failing]

    def _answer_instead(
        self, model: Any, context: dict[str, Any], sdk: StandardRetryConditions, **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        """The error AWS answered with, or None to let the call through (the SDK's retry got past the fault)."""
        kind = context.get(_DRAWN)
        if kind is None or kind in APPLIED:
            return None
        http, parsed = error_answer(kind, model.service_model.service_name, model.name, context.get(_CANCELLATION))
        retried = sdk.is_retryable(RetryContext(1, model, parsed, http, request_context=context))
        if retried and self._random.random() >= self.plan.outlasting:
            self.absorbed[kind] += 1
            return None
        self.escaped[kind] += 1
        return http, parsed

    def _after_applied(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        kind = context.get(_DRAWN)
        if kind in APPLIED:
            self.escaped[kind] += 1
        if kind == FaultKind.read_timeout:
            raise ReadTimeoutError(endpoint_url="chaos://the-answer-never-came")
        if kind == FaultKind.batch_partly_failed:
            parsed["Failed"] = [
                {"Id": entry_id, "SenderFault": False, "Code": "InternalError", "Message": "injected"}
                for entry_id in context[_FAILED_ENTRIES]
            ]


def sdk_retries(client: Any) -> StandardRetryConditions:
    """What the client's SDK retries: botocore's standard conditions, up to the client's total attempts."""
    return StandardRetryConditions(max_attempts=client.meta.config.retries.get("total_max_attempts", 3))


def error_answer(
    kind: FaultKind, service: str, operation: str, cancellation: str | None = None
) -> tuple[AWSResponse, dict[str, Any]]:
    """The HTTP response and parsed error botocore would have after AWS answered with this fault (a cancelled
    transaction: with the reason `cancellation`)."""
    status, code = {
        FaultKind.throttled: (503 if service == "s3" else 400, _THROTTLE_CODES.get(service, "ThrottlingException")),
        FaultKind.server_error: (500, _SERVER_ERROR_CODES.get(service, "InternalFailure")),
        FaultKind.unavailable: (503, "ServiceUnavailable"),
        FaultKind.ssm_unavailable: (500, "InternalServerError"),
        FaultKind.transaction_cancelled: (400, "TransactionCanceledException"),
    }[kind]
    parsed: dict[str, Any] = {
        "Error": {"Code": code, "Message": f"injected by omnijourney chaos into {service}.{operation}"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
    }
    if kind == FaultKind.transaction_cancelled:
        parsed["CancellationReasons"] = [{"Code": cancellation, "Message": "injected"}]
        parsed["Error"]["Message"] = f"Transaction cancelled, please refer cancellation reasons [{cancellation}]"
    return AWSResponse(url="chaos://", status_code=status, headers={}, raw=None), parsed
