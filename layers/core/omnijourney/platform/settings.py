"""Typed configuration, read from the environment on first use (never at import)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# An events message the profile function failed on this many times goes to the DLQ: SQS's redrive policy on AWS
# (infra/pipeline.py) and in the local backend alike. Permanent errors never get there: they are quarantined.
MAX_RECEIVE_COUNT = 5


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIJOURNEY_", frozen=True)

    stage: str = "local"
    profiles_table: str = "omnijourney-profiles"
    identities_table: str = "omnijourney-identities"
    history_table: str = "omnijourney-history"
    idempotency_table: str = "omnijourney-idempotency"
    events_queue_url: str = "https://sqs.us-east-1.amazonaws.com/123456789012/omnijourney-events"
    quarantine_bucket: str = "omnijourney-quarantine"
    # Webhook secrets live in SSM SecureStrings named <prefix>/<source>.
    secrets_prefix: str = "/omnijourney/local/webhook-secrets"
    secrets_max_age_seconds: int = 300
    # What the channel called, for schemes that sign the URL (Twilio); default: the request's own host.
    public_base_url: str | None = None
    max_body_bytes: int = Field(default=512 * 1024, description="Larger deliveries get 413")
    signature_tolerance_seconds: int = 300
    idempotency_expiry_seconds: int = 7 * 24 * 3600
    history_retention_days: int = 90
    config_dir: str | None = Field(default=None, description="Where config/*.yaml lives; default: the packaged copy")
    # The journey runtime.
    journeys_dir: str | None = Field(default=None, description="Where journeys/*.yaml live; default: the packaged copy")
    ledger_table: str = "omnijourney-ledger"
    journey_runs_table: str = "omnijourney-journey-runs"
    state_machine_prefix: str = Field(
        default="arn:aws:states:us-east-1:123456789012:stateMachine:omnijourney-local-",
        description="A journey's state machine ARN is this prefix and the journey's name",
    )
    # Channels.
    store_name: str = "omnijourney shop"
    email_from_address: str = "shop@example.com"
    email_configuration_set: str | None = Field(default=None, description="SES events (bounces, opens) flow from it")
    unsubscribe_base_url: str = "https://example.com/unsubscribe"
    sms_sender_id: str | None = Field(default=None, description="Alphanumeric sender id, where the country allows")
    # Analytics (docs/analytics.md).
    facts_stream: str | None = Field(
        default=None, description="The Firehose delivery stream analytics facts go to; absent: none are written"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
