"""Small cached factories for AWS clients, so tests and the simulator can swap the backend."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3


@lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """One session per process: each new one re-reads botocore's endpoint and service data (~0.1 s)."""
    import boto3  # lazy: boto3 is a cold start of its own; it loads on the first AWS client, not at import

    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """One client per service and process; created on first use."""
    from botocore.config import Config  # lazy: as boto3 in session()

    retries = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
    return session().client(service, config=retries)


# AWS's codes for "not now": throttling and its own failures, as DynamoDB, Step Functions, SES and SNS name them
# (the SDK retried them already; a later attempt may pass). A cancelled transaction is one when a reason is.
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "Throttled",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_TRANSIENT_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_SERVER_ERROR = 500


def transient(error: BaseException) -> bool:
    """Whether an AWS call failed for a passing reason (throttling, a 5xx, a timeout, a lost connection), from a
    botocore client or pynamodb; a request AWS refused as such (validation, a condition) is not."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
    from pynamodb.exceptions import PynamoDBException, TransactWriteError

    if isinstance(error, TransactWriteError):
        reasons = {reason.code for reason in error.cancellation_reasons if reason is not None}
        return bool(reasons & _TRANSIENT_CANCELLATIONS) or error.cause_response_code in _TRANSIENT_CODES
    if isinstance(error, PynamoDBException):
        cause = error.cause
        return error.cause_response_code in _TRANSIENT_CODES or (cause is not None and transient(cause))
    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        return error.response.get("Error", {}).get("Code") in _TRANSIENT_CODES or status >= _SERVER_ERROR
    return isinstance(error, ConnectionError | HTTPClientError)  # timeouts included
