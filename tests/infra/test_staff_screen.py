"""The customer screen deployed for store staff: who can reach what, and what the screen is told at start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import cx_api

from infra.api import ACCESS_LOG_FORMAT
from infra.settings import DeploySettings
from infra.staff import built_screen
from omnijourney.app import config
from tests.infra.synthesized import STAGE, policy_actions, policy_resources, resources

STAFF_ROUTES = {
    "POST /staff/search",
    "GET /staff/customers/{customer_id}",
    "POST /staff/customers/{customer_id}/actions/{action_id}/done",
}


def one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    [(name, body)] = resources(template, kind).items()
    return name, body["Properties"]


def routes(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in resources(template, "AWS::ApiGatewayV2::Route").values()
    }


def distribution(template: dict[str, Any]) -> dict[str, Any]:
    config_of: dict[str, Any] = one(template, "AWS::CloudFront::Distribution")[1]["DistributionConfig"]
    return config_of


def page_policy(template: dict[str, Any]) -> str:
    """The Content-Security-Policy of the screen's pages, with CloudFormation's deploy-time values as <Ref>."""
    policy_id = distribution(template)["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]["Ref"]
    joined = template["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    parts = joined["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)


def test_staff_routes_need_a_staff_access_token_of_the_pools_screen_client(template: dict[str, Any]) -> None:
    pool, _ = one(template, "AWS::Cognito::UserPool")
    client, _ = one(template, "AWS::Cognito::UserPoolClient")
    authorizer, settings = one(template, "AWS::ApiGatewayV2::Authorizer")
    assert settings["AuthorizerType"] == "JWT"
    assert settings["JwtConfiguration"]["Audience"] == [{"Ref": client}]
    issuer = settings["JwtConfiguration"]["Issuer"]["Fn::Join"][1]
    assert issuer[0] == "https://cognito-idp."
    assert issuer[-1] == {"Ref": pool}
    staff = {key: route for key, route in routes(template).items() if " /staff" in key}
    assert set(staff) == STAFF_ROUTES
    for route in staff.values():
        assert route["AuthorizationType"] == "JWT"
        assert route["AuthorizerId"] == {"Ref": authorizer}
        # An ID token carries no scope: only access tokens pass.
        assert route["AuthorizationScopes"] == ["openid"]


def test_the_machines_profile_routes_keep_iam_and_erasure_is_not_a_staff_route(template: dict[str, Any]) -> None:
    keys = routes(template)
    profile_routes = [key for key in keys if " /profiles" in key]
    assert "DELETE /profiles/{customer_id}" in profile_routes
    assert all(keys[key]["AuthorizationType"] == "AWS_IAM" for key in profile_routes)
    assert not [key for key in keys if key.startswith("DELETE /staff")]


def test_the_staff_function_may_do_exactly_what_it_does_and_never_scan_write_or_stop_a_journey(
    template: dict[str, Any],
) -> None:
    tables = {
        table["Properties"]["TableName"].removeprefix(f"omnijourney-{STAGE}-"): {"Fn::GetAtt": [name, "Arn"]}
        for name, table in resources(template, "AWS::DynamoDB::Table").items()
    }
    [queue] = [
        {"Fn::GetAtt": [name, "Arn"]}
        for name, queue in resources(template, "AWS::SQS::Queue").items()
        if queue["Properties"]["QueueName"] == f"omnijourney-{STAGE}-events"
    ]
    [key] = [{"Fn::GetAtt": [name, "Arn"]} for name in resources(template, "AWS::KMS::Key")]
    by_name = {"Fn::Join": ["", [tables["profiles"], "/index/by-name"]]}
    needed = {
        "dynamodb:GetItem": [tables["profiles"]],  # a customer's page
        "dynamodb:Query": [
            by_name,
            tables["history"],
            tables["ledger"],
        ],  # namesakes; recent activity; unconfirmed sends
        "dynamodb:BatchGetItem": [tables["identities"]],  # who has this phone, email or loyalty id
        "sqs:SendMessage": [queue],  # "done", queued as an event
        "kms:Decrypt": [key],
        "kms:GenerateDataKey": [key],
    }
    for action, arns in needed.items():
        granted = policy_resources(template, "staff-api", action)  # the key may be named by two statements
        assert [arn for at, arn in enumerate(granted) if arn not in granted[:at]] == arns, action
    allowed = {action for action in policy_actions(template, "staff-api") if not action.startswith("xray:")}
    assert allowed == {*needed, "kms:DescribeKey"}  # nothing else: no Scan, no write, no DescribeTable, no states:


def test_the_access_log_names_the_member_of_staff_and_the_screen_by_opaque_ids(template: dict[str, Any]) -> None:
    [(_, stage)] = resources(template, "AWS::ApiGatewayV2::Stage").items()
    logged = json.loads(stage["Properties"]["AccessLogSettings"]["Format"])
    assert logged["staff"] == "$context.authorizer.claims.sub"
    assert logged["client"] == "$context.authorizer.claims.client_id"
    assert stage["Properties"]["AccessLogSettings"]["Format"] == ACCESS_LOG_FORMAT
    assert "email" not in ACCESS_LOG_FORMAT


def test_the_staff_routes_are_throttled_apart_from_the_machines(template: dict[str, Any]) -> None:
    [(_, stage)] = resources(template, "AWS::ApiGatewayV2::Stage").items()
    settings = DeploySettings()
    limit = {
        "ThrottlingRateLimit": settings.staff_api_throttle_rate,
        "ThrottlingBurstLimit": settings.staff_api_throttle_burst,
    }
    assert stage["Properties"]["RouteSettings"] == {route: limit for route in STAFF_ROUTES}
    assert settings.staff_api_throttle_rate < stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"]
    # Route settings may name existing routes only: the stage is made after them.
    staff_routes = {
        name
        for name, route in resources(template, "AWS::ApiGatewayV2::Route").items()
        if route["Properties"]["RouteKey"] in STAFF_ROUTES
    }
    [stage_name] = resources(template, "AWS::ApiGatewayV2::Stage")
    assert staff_routes <= set(template["Resources"][stage_name]["DependsOn"])


def test_a_failing_staff_function_raises_an_alarm(template: dict[str, Any]) -> None:
    descriptions = [
        alarm["Properties"]["AlarmDescription"] for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
    ]
    assert "The staff_api function fails." in descriptions


def test_the_screens_files_are_private_and_only_this_distribution_reads_them(template: dict[str, Any]) -> None:
    [(_, copy)] = resources(template, "Custom::CDKBucketDeployment").items()
    site = copy["Properties"]["DestinationBucketName"]["Ref"]
    properties = template["Resources"][site]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [policy] = [
        body["Properties"]["PolicyDocument"]["Statement"]
        for body in resources(template, "AWS::S3::BucketPolicy").values()
        if body["Properties"]["Bucket"] == {"Ref": site}
    ]
    readers = [
        statement for statement in policy if statement["Effect"] == "Allow" and "s3:GetObject" in statement["Action"]
    ]
    [cloudfront] = [
        statement for statement in readers if statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    ]
    source = json.dumps(cloudfront["Condition"]["StringEquals"]["AWS:SourceArn"])
    distribution_name, _ = one(template, "AWS::CloudFront::Distribution")
    assert json.dumps({"Ref": distribution_name}) in source
    assert not [statement for statement in policy if statement["Effect"] == "Allow" and statement["Principal"] == "*"]
    assert not [
        statement for statement in policy if statement["Effect"] == "Allow" and statement["Principal"] == {"AWS": "*"}
    ]
    s3_origin = next(origin for origin in distribution(template)["Origins"] if "S3OriginConfig" in origin)
    assert "OriginAccessControlId" in s3_origin


def test_pages_come_over_https_with_a_strict_content_security_policy(template: dict[str, Any]) -> None:
    config_of = distribution(template)
    assert config_of["DefaultRootObject"] == "index.html"
    assert config_of["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config_of["Logging"]["Prefix"] == "cloudfront/"
    policy = page_policy(template)
    directives = dict(directive.split(" ", 1) for directive in policy.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    domain, _ = one(template, "AWS::Cognito::UserPoolDomain")
    # The API on the same origin, and the two Cognito hosts oidc-client-ts calls: discovery and keys, then tokens.
    assert directives["connect-src"] == (
        f"'self' https://cognito-idp.<AWS::Region>.<AWS::URLSuffix> https://<{domain}>.auth.<AWS::Region>.amazoncognito.com"
    )
    policy_id = config_of["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]["Ref"]
    headers = template["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 24 * 3600


def test_the_staff_api_is_on_the_screens_origin_uncached_with_the_staff_token_passed_on(
    template: dict[str, Any],
) -> None:
    config_of = distribution(template)
    [behaviour] = [behaviour for behaviour in config_of["CacheBehaviors"] if behaviour["PathPattern"] == "/staff/*"]
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert {"GET", "POST"} <= set(behaviour["AllowedMethods"])
    [origin] = [origin for origin in config_of["Origins"] if origin["Id"] == behaviour["TargetOriginId"]]
    api_name, _ = one(template, "AWS::ApiGatewayV2::Api")
    assert json.dumps({"Fn::GetAtt": [api_name, "ApiEndpoint"]}) in json.dumps(origin["DomainName"])
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    cache = template["Resources"][behaviour["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    # CloudFront forwards Authorization only when it is in the cache key; nothing is kept unless a response asks.
    assert cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"] == ["Authorization"]
    assert (cache["MinTTL"], cache["DefaultTTL"]) == (0, 0)
    assert cache["MaxTTL"] <= 1
    headers = template["Resources"][behaviour["ResponseHeadersPolicyId"]["Ref"]]["Properties"]
    assert {"Header": "Cache-Control", "Value": "no-store", "Override": True} in headers["ResponseHeadersPolicyConfig"][
        "CustomHeadersConfig"
    ]["Items"]
    # CloudFront keeps error answers 10 s by default whatever Cache-Control says (but for 404, 410, 414 and 501): 0 s.
    kept = {error["ErrorCode"]: error["ErrorCachingMinTTL"] for error in config_of["CustomErrorResponses"]}
    assert kept == dict.fromkeys((400, 403, 404, 405, 414, 500, 501, 502, 503, 504), 0)
    assert not [error for error in config_of["CustomErrorResponses"] if "ResponsePagePath" in error]


def test_after_a_deploy_browsers_check_the_screens_files_again(template: dict[str, Any]) -> None:
    [(_, copy)] = resources(template, "Custom::CDKBucketDeployment").items()
    # Names without a content hash: a browser revalidates each file instead of running yesterday's script.
    assert copy["Properties"]["SystemMetadata"] == {"cache-control": "no-cache"}


def test_only_an_administrator_adds_staff_who_sign_in_with_a_strong_password_and_an_authenticator(
    template: dict[str, Any],
) -> None:
    _, pool = one(template, "AWS::Cognito::UserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    password = pool["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(password[rule] for rule in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))


def test_the_screens_app_client_keeps_no_secret_and_signs_in_only_by_code_back_to_the_screen(
    template: dict[str, Any],
) -> None:
    _, client = one(template, "AWS::Cognito::UserPoolClient")
    distribution_name, _ = one(template, "AWS::CloudFront::Distribution")
    screen = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_name, "DomainName"]}, "/"]]}
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email"}
    assert client["CallbackURLs"] == [screen]
    assert client["LogoutURLs"] == [screen]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    # Only managed login signs staff in (SDK sign-ins would issue access tokens without the `openid` scope).
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    assert template["Outputs"]["CustomerScreenUrl"]["Value"] == screen


def written(value: Any) -> str:
    """A CloudFormation value as `deployed` writes it in place of its deploy-time marker."""
    return json.dumps(value).replace('"', "'")


def deployed(assembly: cx_api.CloudAssembly, template: dict[str, Any]) -> dict[str, Any]:
    """What the screen's bucket receives: file name → its text, each deploy-time value written as its CloudFormation."""
    [(_, copy)] = resources(template, "Custom::CDKBucketDeployment").items()
    files: dict[str, Any] = {}
    for key, markers in zip(copy["Properties"]["SourceObjectKeys"], copy["Properties"]["SourceMarkers"], strict=True):
        folder = Path(assembly.directory) / f"asset.{key.removesuffix('.zip')}"
        for path in folder.iterdir():
            text = path.read_text()
            for marker, value in markers.items():
                text = text.replace(marker, written(value))
            files[path.name] = text
    return files


def test_the_screen_is_deployed_with_the_config_it_starts_from(
    assembly: cx_api.CloudAssembly, template: dict[str, Any]
) -> None:
    files = deployed(assembly, template)
    assert {"index.html", "app.js", "customer.css", "THIRD-PARTY-LICENSES.txt", "config.json"} <= set(files)
    started_from = json.loads(files["config.json"])
    pool, _ = one(template, "AWS::Cognito::UserPool")
    client, _ = one(template, "AWS::Cognito::UserPoolClient")
    distribution_name, _ = one(template, "AWS::CloudFront::Distribution")
    shop = config.shop()
    assert (started_from["api"], started_from["locale"], started_from["currency"]) == (
        "/staff",
        shop.locale,
        shop.currency,
    )
    assert started_from["csrf"] is None
    sign_in = started_from["sign_in"]
    assert sign_in["authority"] == written({"Fn::GetAtt": [pool, "ProviderURL"]})
    assert sign_in["client_id"] == written({"Ref": client})
    screen_host = written({"Fn::GetAtt": [distribution_name, "DomainName"]})
    assert sign_in["redirect_uri"] == f"https://{screen_host}/"
    domain, _ = one(template, "AWS::Cognito::UserPoolDomain")
    assert sign_in["sign_out_url"] == (
        f"https://{written({'Ref': domain})}.auth.{written({'Ref': 'AWS::Region'})}.amazoncognito.com/logout"
        f"?client_id={written({'Ref': client})}&logout_uri=https%3A%2F%2F{screen_host}%2F"
    )


def test_synth_without_the_built_screen_says_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run `make web`"):
        built_screen(tmp_path)


@pytest.mark.parametrize("settings", [{"staff_sign_in_domain_prefix": "shop-aws-staff"}, {"stage": "cognito"}])
def test_a_sign_in_domain_cognito_would_refuse_is_refused_before_synth(settings: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="Cognito refuses"):
        DeploySettings.from_context(settings)
