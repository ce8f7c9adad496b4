"""Provider errors → SendFailed: what the ledger records and whether the runtime tries again."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from omnijourney.channels import SendFailed, classify

ENDPOINT = "https://email.us-east-1.amazonaws.com"


def client_error(code: str, status: int = 400, operation: str = "SendEmail") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} from the provider"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttling", 400),
        ("ThrottlingException", 400),
        ("TooManyRequestsException", 429),
        ("Throttled", 400),
        ("KMSThrottling", 400),
    ],
)
def test_throttling_is_retried(code: str, status: int) -> None:
    failure = classify(client_error(code, status))

    assert (failure.reason, failure.retryable) == ("throttled", True)


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("InternalFailure", 500), ("InternalError", 500), ("SomethingNew", 502)],
)
def test_provider_outages_and_any_5xx_are_retried(code: str, status: int) -> None:
    failure = classify(client_error(code, status))

    assert (failure.reason, failure.retryable) == ("provider_unavailable", True)


def test_a_request_timeout_is_retried() -> None:
    failure = classify(client_error("RequestTimeout", 408))

    assert (failure.reason, failure.retryable) == ("timeout", True)


def test_a_spent_sending_quota_is_retried_later() -> None:
    failure = classify(client_error("LimitExceededException"))

    assert (failure.reason, failure.retryable) == ("quota_exceeded", True)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("MessageRejected", "message_rejected"),
        ("MailFromDomainNotVerifiedException", "mail_from_domain_not_verified"),
        ("AccountSuspendedException", "account_suspended"),
        ("SendingPausedException", "sending_paused"),
        ("NotFoundException", "not_found"),
        ("EndpointDisabled", "endpoint_disabled"),
        ("PlatformApplicationDisabled", "platform_application_disabled"),
        ("AuthorizationError", "authorization"),
        ("KMSAccessDenied", "kms_access_denied"),
    ],
)
def test_a_refusal_fails_permanently_under_its_own_reason(code: str, reason: str) -> None:
    failure = classify(client_error(code))

    assert (failure.reason, failure.retryable) == (reason, False)


@pytest.mark.parametrize("code", ["InvalidParameter", "InvalidParameterValue", "ParameterValueInvalid"])
def test_an_invalid_parameter_fails_permanently_as_an_invalid_address(code: str) -> None:
    failure = classify(client_error(code, operation="Publish"))

    assert (failure.reason, failure.retryable) == ("invalid_address", False)


def test_a_client_error_without_a_code_fails_permanently() -> None:
    failure = classify(ClientError({}, "SendEmail"))

    assert (failure.reason, failure.retryable) == ("client_error", False)


@pytest.mark.parametrize(
    "error",
    [ReadTimeoutError(endpoint_url=ENDPOINT, error="read timed out"), ConnectTimeoutError(endpoint_url=ENDPOINT)],
)
def test_a_timed_out_connection_is_retried(error: BotoCoreError) -> None:
    failure = classify(error)

    assert (failure.reason, failure.retryable) == ("timeout", True)


@pytest.mark.parametrize(
    "error", [EndpointConnectionError(endpoint_url=ENDPOINT), ConnectionClosedError(endpoint_url=ENDPOINT)]
)
def test_a_lost_connection_is_retried(error: BotoCoreError) -> None:
    failure = classify(error)

    assert (failure.reason, failure.retryable) == ("connection_failed", True)


@pytest.mark.parametrize(
    ("error", "reason"),
    [(ParamValidationError(report="Invalid length"), "param_validation"), (NoCredentialsError(), "no_credentials")],
)
def test_a_request_that_never_left_fails_permanently(error: BotoCoreError, reason: str) -> None:
    failure = classify(error)

    assert (failure.reason, failure.retryable) == (reason, False)


def test_the_failure_keeps_the_providers_words_for_the_log() -> None:
    failure = classify(client_error("MessageRejected"))

    assert isinstance(failure, SendFailed)
    assert str(failure).startswith("message_rejected: ")
    assert "MessageRejected from the provider" in str(failure)
