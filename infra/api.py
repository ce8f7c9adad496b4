"""The HTTP API: channel webhooks (signed by the vendor, checked in the function), the profile API (IAM) for the
machines of stores and call centers, and the staff API (signed-in staff, JWT) behind the customer screen."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.functions import encrypted_log_group
from infra.settings import DeploySettings

# Who called, for the staff routes: the signed-in staff member's subject (an opaque id, never an email) and the app
# client, from the JWT authorizer's claims (empty on the other routes).
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",'
    '"method":"$context.httpMethod","path":"$context.path","status":"$context.status",'
    '"latency":"$context.responseLatency","integrationError":"$context.integrationErrorMessage",'
    '"staff":"$context.authorizer.claims.sub","client":"$context.authorizer.claims.client_id"}'
)
# The customer screen's routes: lookup and "done" only. Erasure stays on the IAM-authorized profile routes.
STAFF_ROUTES = (
    ("/staff/search", apigateway.HttpMethod.POST),
    ("/staff/customers/{customer_id}", apigateway.HttpMethod.GET),
    ("/staff/customers/{customer_id}/actions/{action_id}/done", apigateway.HttpMethod.POST),
)
# The screen asks for it at sign-in, so each access token managed login issues the app client carries it (the client
# has no SDK sign-in flow, whose access tokens would carry only aws.cognito.signin.user.admin); an ID token has no
# scope at all: only the screen's access tokens pass.
STAFF_SCOPE = "openid"


class IngestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        name: str,
        *,
        settings: DeploySettings,
        key: kms.IKey,
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
        access_logs = encrypted_log_group(self, "AccessLogs", settings=settings, key=key)
        self._settings = settings
        stage = self.api.default_stage
        assert stage is not None
        self._stage = stage
        cfn_stage = self._cfn_stage
        cfn_stage.access_log_settings = apigateway.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        cfn_stage.default_route_settings = apigateway.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=settings.api_throttle_rate, throttling_burst_limit=settings.api_throttle_burst
        )

    def add_staff_routes(
        self, staff_api: lambda_.IFunction, *, user_pool: cognito.IUserPool, client: cognito.IUserPoolClient
    ) -> None:
        """Routes for staff signed in to the user pool through the screen's app client (an HTTP API route takes one
        authorizer, so these are routes of their own)."""
        staff = integrations.HttpLambdaIntegration("Staff", staff_api)
        signed_in = authorizers.HttpUserPoolAuthorizer("StaffSignIn", user_pool, user_pool_clients=[client])
        # A few people at counters: throttled apart from the machines' routes, so a stuck screen or a stolen token
        # cannot take the API's whole budget, nor the machines' budget hold back the counter.
        limit = {
            "ThrottlingRateLimit": self._settings.staff_api_throttle_rate,
            "ThrottlingBurstLimit": self._settings.staff_api_throttle_burst,
        }
        throttled: dict[str, dict[str, int]] = {}
        for path, method in STAFF_ROUTES:
            [route] = self.api.add_routes(
                path=path,
                methods=[method],
                integration=staff,
                authorizer=signed_in,
                authorization_scopes=[STAFF_SCOPE],
            )
            throttled[f"{method.value} {path}"] = limit
            # The stage's route settings may name existing routes only.
            self._stage.node.add_dependency(route)
        self._cfn_stage.route_settings = throttled

    @property
    def url(self) -> str:
        return self.api.api_endpoint

    @property
    def _cfn_stage(self) -> apigateway.CfnStage:
        stage = self._stage.node.default_child
        assert isinstance(stage, apigateway.CfnStage)
        return stage
