"""The HTTP API: channel webhooks (signed by the vendor, checked in the function) and the profile API (IAM)."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.functions import retention
from infra.settings import DeploySettings

ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",'
    '"method":"$context.httpMethod","path":"$context.path","status":"$context.status",'
    '"latency":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}'
)


class IngestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        name: str,
        *,
        settings: DeploySettings,
        ingest: lambda_.IFunction,
        profile_api: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, name)
        self.api = apigateway.HttpApi(self, "Api", api_name=f"{settings.prefix}-api", create_default_stage=True)
        # Vendors authenticate by signing the body; the ingest function verifies it (401 otherwise).
        self.api.add_routes(
            path="/webhooks/{source}",
            methods=[apigateway.HttpMethod.POST],
            integration=integrations.HttpLambdaIntegration("Ingest", ingest),
        )
        profiles = integrations.HttpLambdaIntegration("Profiles", profile_api)
        store_tools = authorizers.HttpIamAuthorizer()
        self.api.add_routes(
            path="/profiles", methods=[apigateway.HttpMethod.GET], integration=profiles, authorizer=store_tools
        )
        self.api.add_routes(
            path="/profiles/{customer_id}",
            methods=[apigateway.HttpMethod.GET, apigateway.HttpMethod.DELETE],
            integration=profiles,
            authorizer=store_tools,
        )
        # A literal path, so API Gateway does not take "by-name" for a customer id.
        self.api.add_routes(
            path="/profiles/by-name", methods=[apigateway.HttpMethod.GET], integration=profiles, authorizer=store_tools
        )
        self.api.add_routes(
            path="/profiles/{customer_id}/actions/{action_id}/done",
            methods=[apigateway.HttpMethod.POST],
            integration=profiles,
            authorizer=store_tools,
        )
        access_logs = logs.LogGroup(self, "AccessLogs", retention=retention(settings.log_retention_days))
        stage = self.api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigateway.CfnStage)
        cfn_stage.access_log_settings = apigateway.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        cfn_stage.default_route_settings = apigateway.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=settings.api_throttle_rate, throttling_burst_limit=settings.api_throttle_burst
        )

    @property
    def url(self) -> str:
        return self.api.api_endpoint
