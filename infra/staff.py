"""The customer screen for store staff, deployed: the files the local studio serves (web/dist/customer/) on a private
bucket behind CloudFront, staff signing in through a Cognito user pool of their own, the staff API on the same origin.

Same origin, not CORS: CloudFront sends /staff/* to the HTTP API, so the screen calls "/staff" (no preflight before
every search, `connect-src 'self'` for the API) and the HTTP API needs no CORS, which would apply to every route of it.
CloudFront passes the Authorization header on only when it is in the cache key, so the API's cache policy names it
(with TTLs of 0, at most 1 s). Nothing the staff API answers is kept: it sends `Cache-Control: no-store`, and since
CloudFront keeps most error answers for their error caching TTL (10 s by default) whatever the origin says, the
distribution's is 0 for every error it would cache. The screen's files are sent `no-cache`: their names carry no
content hash, so a browser asks again after each deploy instead of running yesterday's script.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Aws, CfnOutput, Duration, Fn, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as deployment
from constructs import Construct

from infra.packaging import ROOT
from infra.settings import DeploySettings
from omnijourney.journeys.templates import ShopConfig

# Where web/build.mjs writes the customer screen (the studio names the same folder SCREEN_FOLDER; infra imports no
# tooling).
SCREEN_FOLDER = ROOT / "web" / "dist" / "customer"
STAFF_PATH = "/staff"
# The screen's own: no inline script or style, nothing from elsewhere but the sign-in calls, in nobody's frame.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self' {sign_in}; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
# Staff work in shifts: signed in for one, an access token renewed each hour.
SHIFT = Duration.hours(12)
# The 4xx and 5xx answers CloudFront caches (416 aside, which it never does); each is kept for 0 s.
CACHED_ERRORS = (400, 403, 404, 405, 414, 500, 501, 502, 503, 504)


def built_screen(folder: Path = SCREEN_FOLDER) -> Path:
    """The built customer screen; the stack cannot ship without it."""
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(
            f"{folder / 'index.html'} is missing: run `make web` to build the customer screen first"
        )
    return folder


class StaffScreen(Construct):
    """The customer screen at https://<distribution>/, its staff user pool, and the config.json it starts from."""

    def __init__(
        self, scope: Construct, name: str, *, settings: DeploySettings, api: apigateway.HttpApi, shop: ShopConfig
    ) -> None:
        super().__init__(scope, name)
        files = built_screen()
        retain = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY
        # CloudFront's standard logs are written with ACLs, hence object ownership by the writer on this bucket alone.
        # They record every request for the screen's files, so the site bucket keeps no access logs of its own.
        self.logs = logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(settings.log_retention_days))],
            removal_policy=retain,
            auto_delete_objects=not settings.production,
        )
        # Only build output: made again by every deploy, so never kept.
        self.site = site = s3.Bucket(
            self,
            "Site",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        self.user_pool = cognito.UserPool(
            self,
            "Staff",
            user_pool_name=f"{settings.prefix}-staff",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(email=cognito.StandardAttribute(required=True)),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            # Staff read customers' personal data: an authenticator app on top of the password, set up at first sign-in.
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False, email=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Without the screen's address: the pool cannot name the distribution, whose page policy names the pool.
            user_invitation=cognito.UserInvitationConfig(
                email_subject=f"{settings.store_name}: your sign-in to the customer screen",
                email_body="Your user name is {username} and your temporary password is {####}. Open the customer "
                "screen's address your manager gave you; at the first sign-in you choose your own password and set "
                "up an authenticator app.",
            ),
            # Plus: sign-ins with leaked passwords or from unusual places are blocked (a few staff, a few cents each).
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=settings.production,
            removal_policy=retain,
        )
        sign_in_domain = self.user_pool.add_domain(
            "SignIn",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=settings.staff_sign_in_domain_prefix or f"{settings.prefix}-staff-{Aws.ACCOUNT_ID}"
            ),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
        )
        sign_in_hosts = f"https://cognito-idp.{Aws.REGION}.{Aws.URL_SUFFIX} {sign_in_domain.base_url()}"
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{settings.prefix}: the customer screen for store staff",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(site),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=_security_headers(
                    self, "PageHeaders", PAGE_POLICY.format(sign_in=sign_in_hosts)
                ),
            ),
            additional_behaviors={f"{STAFF_PATH}/*": self._staff_api_behaviour(api)},
            # A distribution-wide setting: the pages' bucket answers errors too, which are as well not kept.
            error_responses=[
                cloudfront.ErrorResponse(http_status=status, ttl=Duration.seconds(0)) for status in CACHED_ERRORS
            ],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=logs,
            log_file_prefix="cloudfront/",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}/"
        self.client = self.user_pool.add_client(
            "Screen",
            user_pool_client_name=f"{settings.prefix}-customer-screen",
            # A page in a browser keeps no secret: the authorization code grant with PKCE, and nothing else.
            generate_secret=False,
            # Managed login signs staff in with flows of its own: no SDK sign-in (SRP, password) for this client, whose
            # access tokens would lack the `openid` scope the staff routes ask for. Refresh tokens stay allowed.
            auth_flows=cognito.AuthFlow(user_srp=False),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[self.url],
                logout_urls=[self.url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=SHIFT,
            enable_token_revocation=True,
        )
        cognito.CfnManagedLoginBranding(
            self,
            "SignInPage",
            user_pool_id=self.user_pool.user_pool_id,
            client_id=self.client.user_pool_client_id,
            use_cognito_provided_values=True,
        )
        # The screen reads this at start; locally the studio serves its own, with a CSRF token and no sign-in.
        config = {
            "api": STAFF_PATH,
            "locale": shop.locale,
            "currency": shop.currency,
            "sign_in": {
                "authority": self.user_pool.user_pool_provider_url,
                "client_id": self.client.user_pool_client_id,
                "redirect_uri": self.url,
                # The distribution's host name needs no escaping inside the encoded logout_uri.
                "sign_out_url": f"{sign_in_domain.base_url()}/logout?client_id={self.client.user_pool_client_id}"
                f"&logout_uri=https%3A%2F%2F{self.distribution.distribution_domain_name}%2F",
            },
            "csrf": None,
        }
        self.files = deployment.BucketDeployment(
            self,
            "Files",
            destination_bucket=site,
            # json.dumps keeps "csrf": null, which jsii would drop from a dict; the deploy-time values in it are URLs
            # and ids, with nothing JSON escapes.
            sources=[deployment.Source.asset(str(files)), deployment.Source.data("config.json", json.dumps(config))],
            # Names without a content hash: every file is checked again (If-None-Match) before it is used.
            cache_control=[deployment.CacheControl.no_cache()],
            distribution=self.distribution,
            distribution_paths=["/*"],
        )
        CfnOutput(self, "Url", key="CustomerScreenUrl", value=self.url, description="the customer screen, for staff")
        CfnOutput(
            self,
            "UserPoolId",
            key="StaffUserPoolId",
            value=self.user_pool.user_pool_id,
            description="add store staff to this user pool (docs/deploy.md)",
        )

    def _staff_api_behaviour(self, api: apigateway.HttpApi) -> cloudfront.BehaviorOptions:
        """/staff/* to the HTTP API's default stage, uncached, with the staff's bearer token passed on."""
        by_token = cloudfront.CachePolicy(
            self,
            "StaffApiCache",
            comment="The staff API: not cached; the Authorization header is passed on (it must be in the cache key)",
            default_ttl=Duration.seconds(0),
            min_ttl=Duration.seconds(0),
            max_ttl=Duration.seconds(1),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )
        api_host = Fn.select(2, Fn.split("/", api.api_endpoint))
        return cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(
                api_host,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            ),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=by_token,
            # Content-Type and the rest, but API Gateway's own Host.
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            # A customer's page must not stay in the browser's cache on a shared counter computer.
            response_headers_policy=_security_headers(
                self, "StaffApiHeaders", "default-src 'none'; frame-ancestors 'none'", no_store=True
            ),
        )


def _security_headers(
    scope: Construct, name: str, content_security_policy: str, *, no_store: bool = False
) -> cloudfront.ResponseHeadersPolicy:
    return cloudfront.ResponseHeadersPolicy(
        scope,
        name,
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=content_security_policy, override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.days(730), include_subdomains=True, override=True
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            ),
        ),
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
            custom_headers=[cloudfront.ResponseCustomHeader(header="Cache-Control", value="no-store", override=True)]
        )
        if no_store
        else None,
    )
