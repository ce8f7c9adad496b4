"""The outbound channels' secrets (config/webhooks.yaml) are the only ones the journey-step function may read, by their
names in the stage deployed; the HubSpot webhook secret is among those ingest reads."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.outbound import grant_outbound_secrets
from omnijourney.channels.targets import OutboundConfig
from tests.infra.policies import Policies
from tests.infra.synthesized import resources


def secrets_read(template: dict[str, Any], function: str, action: str) -> set[str]:
    return {grant.resource for grant in Policies(template, {}).grants(function) if grant.action == action}


def test_the_journey_step_reads_each_target_secret_and_hubspots_token_in_its_stage(template: dict[str, Any]) -> None:
    assert secrets_read(template, "journey-step", "ssm:GetParameter") == {
        "parameter/omnijourney/test/webhook-targets/order_desk",
        "parameter/omnijourney/test/hubspot/private-app-token",
    }
    assert secrets_read(template, "journey-step", "secretsmanager:GetSecretValue") == set()


def test_ingest_reads_the_hubspot_apps_secret(template: dict[str, Any]) -> None:
    assert "parameter/omnijourney/test/webhook-secrets/hubspot" in secrets_read(template, "ingest", "ssm:GetParameter")


def test_a_target_secret_in_secrets_manager_is_granted_by_its_name_and_the_suffix_secrets_manager_adds() -> None:
    stack = Stack(App(), "Outbound", env={"account": "123456789012", "region": "eu-central-1"})
    sender = lambda_.Function(
        stack,
        "Sender",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="handler.lambda_handler",
        code=lambda_.Code.from_inline("def lambda_handler(event, context):\n    return event\n"),
    )
    crm = {
        "url": "https://crm.example.com/hooks",
        "secret": {"secrets_manager": "omnijourney/{stage}/webhook-targets/crm"},
        "reaches_customer": False,
    }
    grant_outbound_secrets(sender, OutboundConfig.model_validate({"targets": {"crm": crm}}), "prod")

    synthesized = Template.from_stack(stack).to_json()
    [policy] = resources(synthesized, "AWS::IAM::Policy").values()
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert Policies(synthesized, {}).text(statement["Resource"]) == (
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:omnijourney/prod/webhook-targets/crm-??????"
    )
