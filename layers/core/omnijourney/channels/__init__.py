"""Channel adapters: how the journey runtime hands a rendered message to email, SMS, push, a webhook target or
HubSpot (sales tasks).

An adapter is imported on first use, so a function that only sends email never loads the others.
Every adapter reports failure as `SendFailed`, classified by `classify` so the ledger and the retry policy
see one vocabulary whatever the provider.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from omnijourney.vocabulary import OUTBOUND, AddressedChannel, Category, MessageChannel

# One adapter module per channel that sends (to an address, or out to another system): omnijourney.channels.<channel>.
_MODULES: dict[str, str] = {
    channel.value: f"omnijourney.channels.{channel.value}" for channel in (*AddressedChannel, *sorted(OUTBOUND))
}
CHANNELS = tuple(_MODULES)


@dataclass(frozen=True)
class OutgoingMessage:
    # Deterministic per (execution, step, visit): the dedup hint where a provider takes one, and a tag.
    message_key: str
    customer_id: str
    journey: str
    step: str
    channel: MessageChannel
    category: Category
    # email address | E.164 phone number | SNS platform endpoint ARN (push) | webhook target's name | HubSpot contact id
    to: str
    subject: str | None  # email and sales task only
    body: str
    unsubscribe_url: str | None  # marketing email: the RFC 8058 one-click target


class SendFailed(Exception):
    """The provider refused or could not take the message.

    `reason` is a short snake_case word for the ledger; `retryable` says whether sending again can succeed;
    `unconfirmed` that the provider may have taken the message and would take a second one as another (HubSpot's
    tasks): not sent again, its ledger entry stays `pending`, counted as sent and listed as unconfirmed.
    """

    def __init__(self, reason: str, *, retryable: bool, unconfirmed: bool = False, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retryable = retryable
        self.unconfirmed = unconfirmed


class ChannelAdapter(Protocol):
    def send(self, message: OutgoingMessage) -> str:
        """Hand the message to the provider; its message id, or SendFailed."""
        ...


_THROTTLED = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "Throttled", "KMSThrottling"})
_UNAVAILABLE = frozenset({"ServiceUnavailable", "InternalFailure", "InternalError"})
_TIMED_OUT = frozenset({"RequestTimeout", "RequestTimeoutException"})
# SES v2 answers a spent daily sending quota this way; the quota refills, so a later attempt can pass.
_QUOTA = frozenset({"LimitExceededException"})
# SNS says InvalidParameter (or ParameterValueInvalid) for a phone number that is not E.164 and for a
# malformed endpoint ARN: for a send, the address is what is wrong.
_INVALID_ADDRESS = frozenset({"InvalidParameter", "InvalidParameterValue", "ParameterValueInvalid"})
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def classify(error: ClientError | BotoCoreError) -> SendFailed:
    """The SendFailed that a provider error means: retryable for throttling, 5xx and lost connections.

    A timeout is retryable although the provider may have taken the message: neither SES nor SNS accepts an
    idempotency key for a send, so a retry can duplicate and the ledger's message key is the only guard.
    """
    detail = str(error)
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code in _THROTTLED:
            return SendFailed("throttled", retryable=True, detail=detail)
        if code in _TIMED_OUT:
            return SendFailed("timeout", retryable=True, detail=detail)
        if code in _QUOTA:
            return SendFailed("quota_exceeded", retryable=True, detail=detail)
        if code in _UNAVAILABLE or status >= 500:
            return SendFailed("provider_unavailable", retryable=True, detail=detail)
        if code in _INVALID_ADDRESS:
            return SendFailed("invalid_address", retryable=False, detail=detail)
        # Everything else is the provider refusing this message or this account: MessageRejected,
        # AccountSuspendedException, SendingPausedException, EndpointDisabled, NotFoundException, …
        return SendFailed(_reason(code or "client_error"), retryable=False, detail=detail)
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError):
        return SendFailed("timeout", retryable=True, detail=detail)
    if isinstance(error, BotocoreConnectionError | HTTPClientError):
        return SendFailed("connection_failed", retryable=True, detail=detail)
    # Raised before anything was sent (ParamValidationError, NoCredentialsError): the same request fails again.
    return SendFailed(_reason(type(error).__name__), retryable=False, detail=detail)


def _reason(code: str) -> str:
    """MailFromDomainNotVerifiedException → mail_from_domain_not_verified."""
    name = code.removesuffix("Exception").removesuffix("Error") or code
    return _WORD_BOUNDARY.sub("_", name).lower()


_injected: dict[str, ChannelAdapter] = {}


def adapter_for(channel: str) -> ChannelAdapter:
    """The adapter that sends on `channel`: an injected one, else the default (its module imported once)."""
    if channel in _injected:
        return _injected[channel]
    adapter: ChannelAdapter = importlib.import_module(_module(channel)).ADAPTER
    return adapter


def use_adapter(channel: str, adapter: ChannelAdapter | None) -> None:
    """Send on `channel` through `adapter` from now on (tests, the simulator); None restores the default."""
    _module(channel)
    if adapter is None:
        _injected.pop(channel, None)
    else:
        _injected[channel] = adapter


def _module(channel: str) -> str:
    module = _MODULES.get(channel)
    if module is None:
        raise ValueError(f"no channel named {channel!r}; known channels: {', '.join(CHANNELS)}")
    return module
