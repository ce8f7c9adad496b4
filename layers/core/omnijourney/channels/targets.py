"""Where each channel's messages go, and how they meet the customer; the outbound targets: config/webhooks.yaml.

A message goes to the profile's address on its channel; a note (store, call centre) onto the profile. A `channel:
webhook` send goes to a named target (a CRM, a warehouse, a messaging provider the shop reaches customers through); a
`channel: sales_task` send becomes a task in HubSpot for the contact's owner. A target with a `consent_channel`
reaches the customer and is held as a message on that channel is: its consent and quiet hours, and the frequency caps
(it counts towards them too). One without (a CRM, a warehouse) is internal, held by the business guards only: already
bought, open ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from omnijourney.channels import SendFailed
from omnijourney.identifiers import IdentifierKind
from omnijourney.platform.configfile import SNAKE_CASE, ConfigModel, config_dir, load, with_examples
from omnijourney.platform.settings import get_settings
from omnijourney.profiles.model import Profile
from omnijourney.vocabulary import OUTBOUND, AddressedChannel, MessageChannel, addressed

WEBHOOKS_FILE = "webhooks.yaml"
PUSH_ENDPOINT_TRAIT = "push_endpoint_arn"
# Loopback may be plain HTTP (the local receiver); anything else carries customers' data, so HTTPS only.
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# A secret's name may say `{stage}`: one file for every stage.
_STAGE = "{stage}"
# What a send may spend calling its target, pauses and rate-limit waits included: the journey-step function has 30 s
# (infra/stack.py; its Tasks in the compiled state machines set no TimeoutSeconds of their own, so Lambda's is the
# limit), and a function killed mid-send leaves its entry `pending`. The rest is for the ledger, profile and render.
STEP_BUDGET_SECONDS = 25


class SecretName(ConfigModel):
    """Where a secret is kept: an SSM SecureString or a Secrets Manager secret, named with `{stage}` if it differs
    per stage."""

    noun = "a secret"
    model_config = with_examples(
        {"ssm": "/omnijourney/{stage}/webhook-targets/order_desk"},
        {"secrets_manager": "omnijourney/{stage}/webhook-targets/order_desk"},
    )

    ssm: str | None = Field(default=None, description="an SSM Parameter Store SecureString")
    secrets_manager: str | None = Field(default=None, description="a Secrets Manager secret (its SecretString)")

    @model_validator(mode="after")
    def _one_store(self) -> Self:
        if (self.ssm is None) == (self.secrets_manager is None):
            raise ValueError("a secret is kept in one place: give ssm or secrets_manager, e.g. {ssm: /omnijourney/…}")
        return self

    @property
    def name(self) -> str:
        """The parameter's or secret's name in this stage."""
        return self.name_in(get_settings().stage)

    def name_in(self, stage: str) -> str:
        """The parameter's or secret's name in `stage` (the CDK app grants it by this name)."""
        return (self.ssm or self.secrets_manager or "").replace(_STAGE, stage)

    def read(self, what: str) -> str:
        """The secret's value, cached for the settings' `secrets_max_age_seconds` (rotation reaches every
        container within that); `what` names it in the failure, which is retryable: configuration an operator can
        still put right while Step Functions retries the step."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        store = _ssm() if self.ssm is not None else _secrets_manager()
        max_age = get_settings().secrets_max_age_seconds
        try:
            value: str = store.get(self.name, max_age=max_age, **_decrypted(self.ssm is not None))
        except GetParameterError as error:
            raise SendFailed("secret_unavailable", retryable=True, detail=what) from error
        return value


def _decrypted(ssm: bool) -> dict[str, Any]:
    return {"decrypt": True} if ssm else {}


@lru_cache(maxsize=1)
def _ssm() -> Any:
    # lazy: Powertools' parameters and boto3 load on the first send, not at the journey-step function's cold start.
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from omnijourney.platform.aws import client

    return SSMProvider(boto3_client=client("ssm"))


@lru_cache(maxsize=1)
def _secrets_manager() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from omnijourney.platform.aws import client

    return SecretsProvider(boto3_client=client("secretsmanager"))


class Delivery(ConfigModel):
    """How an outbound channel is called, and whether what it carries reaches the customer."""

    timeout_seconds: float = Field(default=5, gt=0, le=20, description="for each attempt, connecting and reading")
    retries: int = Field(
        default=2,
        ge=0,
        le=3,
        description="attempts after the first within one step, on a 5xx, a 429 or a timeout (1 s, 2 s, 4 s apart); "
        "after them, Step Functions retries the step with its own backoff",
    )
    rate_limit_per_second: float | None = Field(
        default=None, gt=0, description="at most this many calls a second from each running function"
    )
    consent_channel: AddressedChannel | None = Field(
        default=None,
        description="the target reaches the customer: this channel's consent and quiet hours hold it, and the caps "
        "count it; none for an internal target (a CRM, a warehouse), which only already-bought and open-ticket hold",
    )
    reaches_customer: bool | None = Field(
        default=None, description="optional, what consent_channel says in words: true with one, false without"
    )

    @property
    def pauses(self) -> list[float]:
        """The seconds waited before each retry within one step: 1, 2, 4."""
        return [float(2**retry) for retry in range(self.retries)]

    @model_validator(mode="after")
    def _within_a_step(self) -> Self:
        longest = (self.retries + 1) * self.timeout_seconds + sum(self.pauses)
        if longest > STEP_BUDGET_SECONDS:
            raise ValueError(
                f"{self.retries + 1} attempts of {self.timeout_seconds:g} s and the pauses between them take up to "
                f"{longest:g} s; a journey step has {STEP_BUDGET_SECONDS} s: lower timeout_seconds or retries"
            )
        return self

    @model_validator(mode="after")
    def _reach_as_consent_says(self) -> Self:
        # consent_channel decides whether the target reaches the customer; reaches_customer, written, must agree.
        if self.reaches_customer and self.consent_channel is None:
            raise ValueError(
                "a target that reaches the customer says whose consent it follows, e.g. consent_channel: sms"
            )
        if self.reaches_customer is False and self.consent_channel is not None:
            raise ValueError("an internal target (reaches_customer: false) needs no consent_channel: remove it")
        return self


def _https_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname and (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)):
        return url
    raise ValueError("the address must be https://… (plain http only on this computer: http://127.0.0.1:…)")


class WebhookTarget(Delivery):
    """One target of `channel: webhook`: its payloads are signed per Standard Webhooks with its secret."""

    noun = "a webhook target"
    model_config = with_examples(
        {
            "url": "https://orders.example.com/hooks/omnijourney",
            "secret": {"ssm": "/omnijourney/{stage}/webhook-targets/order_desk"},
            "reaches_customer": False,
        }
    )

    url: str = Field(description="https://…; its query string is never logged")
    secret: SecretName = Field(description="the signing secret, whsec_<base64> as Standard Webhooks writes it")

    @field_validator("url")
    @classmethod
    def _secure(cls, url: str) -> str:
        return _https_url(url)


class SalesTasks(Delivery):
    """`channel: sales_task`: tasks created through HubSpot's CRM API (v3 tasks) with a private app's token."""

    noun = "the sales tasks"
    model_config = with_examples(
        {"token": {"ssm": "/omnijourney/{stage}/hubspot/private-app-token"}, "consent_channel": "email"}
    )

    api_url: str = Field(default="https://api.hubapi.com", description="HubSpot's API")
    token: SecretName = Field(description="the private app's access token (scope crm.objects.contacts.write)")
    # A rep's call or email reaches the customer: the file names whose consent holds it (or says it does not reach).
    reaches_customer: bool | None = True
    due_in_days: int = Field(default=1, ge=0, le=30, description="the task is due this many days after it is made")

    @field_validator("api_url")
    @classmethod
    def _secure(cls, url: str) -> str:
        return _https_url(url)


class OutboundConfig(ConfigModel):
    """config/webhooks.yaml."""

    targets: dict[str, WebhookTarget] = Field(default_factory=dict, description="by name, as sends name them")
    sales_tasks: SalesTasks | None = None

    @field_validator("targets")
    @classmethod
    def _snake_case_names(cls, targets: dict[str, WebhookTarget]) -> dict[str, WebhookTarget]:
        for name in targets:
            if not re.fullmatch(SNAKE_CASE, name):
                raise ValueError(f"a target's name is lower_snake_case, as sends name it: {name!r}")
        return targets


@lru_cache(maxsize=1)
def outbound() -> OutboundConfig:
    """config/webhooks.yaml, loaded once per process; a config folder without one has no targets."""
    path = config_dir() / WEBHOOKS_FILE
    return load(path, OutboundConfig) if path.is_file() else OutboundConfig()


@dataclass(frozen=True)
class Reach:
    """How a send meets the customer, as the guards weigh it."""

    # What the ledger records as its `to`: an address, the customer id (a note), a target's name, a HubSpot contact id.
    recipient: str | None
    # The channel whose consent and quiet hours hold the send and whose caps count it: a message's or note's own, the
    # consent_channel of a target that reaches the customer; None for an internal target (business guards only).
    held_as: MessageChannel | None

    @property
    def consent(self) -> AddressedChannel | None:
        """Whose consent holds the send (a note's: nobody's)."""
        return addressed(self.held_as) if self.held_as is not None else None

    @property
    def reaches_customer(self) -> bool:
        return self.held_as is not None


def reach(channel: MessageChannel, target: str | None, profile: Profile) -> Reach:
    """How a send on `channel` (to `target`, a webhook's) meets the customer. A target no longer configured is taken
    as reaching nobody: its adapter refuses the send for good."""
    if channel not in OUTBOUND:
        return Reach(address_for(profile, channel), channel)
    if channel == MessageChannel.webhook:
        recipient = target
    else:
        contacts = contacts_to_try(profile)
        recipient = contacts[0] if contacts else None
    configured = _delivery(channel, target)
    consent = configured.consent_channel if configured is not None else None
    return Reach(recipient, MessageChannel(consent.value) if consent is not None else None)


def address_for(profile: Profile, channel: str) -> str | None:
    """Where a message on `channel` goes: the newest address the profile has for it."""
    kinds = {"email": IdentifierKind.email, "sms": IdentifierKind.phone}
    if channel in kinds:
        values = profile.identifiers.get(kinds[channel], ())
        return values[-1] if values else None
    if channel == "push":
        endpoint = profile.traits.get(PUSH_ENDPOINT_TRAIT)
        return str(endpoint) if endpoint else None
    return profile.customer_id  # in-store and call-center notes go onto the profile itself


def contacts_to_try(profile: Profile) -> list[str]:
    """The profile's HubSpot contact ids in the order a sales task tries them, each on HubSpot's 404 for the one
    before: after a merge in HubSpot the profile keeps the merged-away ids too, and nothing in the webhooks says which
    survived for sure. Newest (highest) id first: a merge that makes a new record gives it the newest id, and the order
    depends on the ids alone, not on which event arrived first."""
    contacts = profile.identifiers.get(IdentifierKind.hubspot_contact_id, ())
    return sorted(contacts, key=lambda contact: (len(contact), contact), reverse=True)


def reaches_customer(channel: str, recipient: str | None) -> bool:
    """Whether a ledger entry on `channel` to `recipient` reached the customer (the caps count it): every message
    but one to an internal target. A target since removed from the file counts, as the cautious reading."""
    configured = _delivery(channel, recipient)
    return configured is None or configured.consent_channel is not None


def _delivery(channel: str, target: str | None) -> Delivery | None:
    """The configuration of an outbound send (None for another channel, or a target not in the file)."""
    if channel == MessageChannel.webhook:
        return outbound().targets.get(target or "")
    if channel == MessageChannel.sales_task:
        return outbound().sales_tasks
    return None
