"""One Lambda function of the system: a thin handler asset on the shared core layer, arm64, traced."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.packaging import LAMBDA_PYTHON, LAYER_CONFIG_DIR, LAYER_JOURNEYS_DIR, function_asset
from infra.settings import DeploySettings

# The Python the layer's bytecode is compiled for (infra/packaging.py).
RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, f"PYTHON_{LAMBDA_PYTHON.replace('.', '_')}")


class ServiceFunction(Construct):
    """functions/<name>/handler.py as a Lambda function, with its own log group and the shared settings."""

    def __init__(
        self,
        scope: Construct,
        name: str,
        *,
        settings: DeploySettings,
        layer: lambda_.ILayerVersion,
        key: kms.IKey,
        environment: dict[str, str],
        timeout_seconds: int = 30,
        memory_mb: int = 512,
    ) -> None:
        super().__init__(scope, name)
        function_name = f"{settings.prefix}-{name.replace('_', '-')}"
        self.log_group = encrypted_log_group(
            self, "Logs", settings=settings, key=key, log_group_name=f"/aws/lambda/{function_name}"
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(function_asset(name))),
            layers=[layer],
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": "omnijourney",
                "POWERTOOLS_METRICS_NAMESPACE": "omnijourney",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "OMNIJOURNEY_STAGE": settings.stage,
                "OMNIJOURNEY_CONFIG_DIR": LAYER_CONFIG_DIR,
                "OMNIJOURNEY_JOURNEYS_DIR": LAYER_JOURNEYS_DIR,
                **environment,
            },
        )


RETENTIONS = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}


def encrypted_log_group(
    scope: Construct, construct_id: str, *, settings: DeploySettings, key: kms.IKey, log_group_name: str | None = None
) -> logs.LogGroup:
    """A log group encrypted with the stack's key (its policy lets CloudWatch Logs use it: infra/stack.py), kept for
    the deployment's retention, and with production's data."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        encryption_key=key,
        retention=retention(settings.log_retention_days),
        removal_policy=RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY,
    )


def retention(days: int) -> logs.RetentionDays:
    """The shortest retention CloudWatch offers that keeps logs at least `days` days."""
    return next((value for limit, value in sorted(RETENTIONS.items()) if limit >= days), logs.RetentionDays.TWO_YEARS)
