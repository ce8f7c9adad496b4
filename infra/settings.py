"""What a deployment is configured with: CDK context `omnijourney` (cdk.json or `-c omnijourney='{...}'`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Cognito refuses a sign-in domain prefix that names these.
RESERVED_IN_DOMAIN_PREFIX = ("aws", "amazon", "cognito")


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
    # The analytics lake (infra/analytics.py): the first day Athena looks for facts on (partition projection lists every
    # day from it, so a later first day lists fewer), and how much one query may read before Athena cancels it.
    facts_first_day: date = date(2026, 1, 1)
    athena_scan_limit_gb: int = Field(default=10, ge=1, description="bytes-scanned cutoff per Athena query, in GB")
    api_throttle_rate: int = 200
    api_throttle_burst: int = 400
    # The staff routes behind the customer screen, apart: requests per second and burst for all staff together.
    staff_api_throttle_rate: int = Field(default=20, ge=1)
    staff_api_throttle_burst: int = Field(default=40, ge=1)
    staff_sign_in_domain_prefix: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
        description="where staff sign in: https://<prefix>.auth.<region>.amazoncognito.com, unique in the region; "
        "default omnijourney-<stage>-staff-<account id>",
    )

    @model_validator(mode="after")
    def _sign_in_domain_cognito_accepts(self) -> DeploySettings:
        # Checked on the default too (the stage is in it), with the account id, which has only digits, left out.
        prefix = self.staff_sign_in_domain_prefix or f"{self.prefix}-staff"
        if named := [word for word in RESERVED_IN_DOMAIN_PREFIX if word in prefix]:
            raise ValueError(
                f"staff_sign_in_domain_prefix {prefix!r}: Cognito refuses a prefix containing {named[0]!r}; "
                "choose another (or another stage name)"
            )
        return self

    @property
    def prefix(self) -> str:
        return f"omnijourney-{self.stage}"

    @property
    def secrets_prefix(self) -> str:
        return f"/omnijourney/{self.stage}/webhook-secrets"

    @classmethod
    def from_context(cls, context: Any) -> DeploySettings:
        return cls.model_validate(context or {})
