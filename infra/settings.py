"""What a deployment is configured with: CDK context `omnijourney` (cdk.json or `-c omnijourney='{...}'`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DeploySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: str = Field(default="dev", pattern=r"^[a-z][a-z0-9-]{1,15}$")
    production: bool = Field(default=False, description="deletion protection, retained data, stricter alarms")
    store_name: str = "omnijourney shop"
    email_from_address: str = "shop@example.com"
    email_domain: str | None = Field(default=None, description="a domain identity to verify in SES (DKIM)")
    unsubscribe_base_url: str = "https://example.com/unsubscribe"
    sms_sender_id: str | None = None
    alarm_email: str | None = Field(default=None, description="who is told when an alarm fires")
    log_retention_days: int = 30
    history_retention_days: int = 90
    # Protects DynamoDB from a backlog: the profile function never runs wider than this.
    profile_max_concurrency: int = Field(default=20, ge=2, le=1000)
    api_throttle_rate: int = 200
    api_throttle_burst: int = 400

    @property
    def prefix(self) -> str:
        return f"omnijourney-{self.stage}"

    @property
    def secrets_prefix(self) -> str:
        return f"/omnijourney/{self.stage}/webhook-secrets"

    @classmethod
    def from_context(cls, context: Any) -> DeploySettings:
        return cls.model_validate(context or {})
