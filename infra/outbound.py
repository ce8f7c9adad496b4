"""What the outbound channels read when they send (config/webhooks.yaml): each webhook target's signing secret and
HubSpot's token for sales tasks, granted to the journey-step function by name, each in the store the file names."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from omnijourney.channels.targets import OutboundConfig, SecretName

# Secrets Manager ends a secret's ARN with a hyphen and six characters of its own.
SECRET_SUFFIX = "-??????"  # noqa: S105 - a pattern of an ARN, no secret


def outbound_secrets(config: OutboundConfig) -> list[SecretName]:
    """Every secret a send may read: the targets' signing secrets and the sales tasks' token."""
    secrets = [target.secret for target in config.targets.values()]
    return secrets if config.sales_tasks is None else [*secrets, config.sales_tasks.token]


def grant_outbound_secrets(sender: lambda_.IFunction, config: OutboundConfig, stage: str) -> None:
    """GetParameter on the SSM ones and GetSecretValue on the Secrets Manager ones, by their names in `stage`."""
    stack = Stack.of(sender)
    secrets = outbound_secrets(config)
    parameters = sorted({secret.name_in(stage) for secret in secrets if secret.ssm})
    if parameters:
        sender.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter"],
                resources=[
                    stack.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))
                    for name in parameters
                ],
            )
        )
    stored = sorted({secret.name_in(stage) for secret in secrets if secret.secrets_manager})
    if stored:
        sender.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    stack.format_arn(
                        service="secretsmanager",
                        resource="secret",
                        resource_name=f"{name}{SECRET_SUFFIX}",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for name in stored
                ],
            )
        )
