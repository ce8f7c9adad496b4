"""The whole system as one stack, composed of one construct per concern; this file only wires them."""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.access import grant_tables
from infra.analytics import AnalyticsLake
from infra.api import IngestApi
from infra.findings import acknowledge, acknowledge_staff_screen
from infra.functions import RUNTIME, ServiceFunction
from infra.journeys import Journeys
from infra.messaging import Messaging
from infra.observability import Observability
from infra.outbound import grant_outbound_secrets
from infra.packaging import build_layer
from infra.pipeline import PROFILE_TIMEOUT_SECONDS, EventPipeline
from infra.settings import DeploySettings
from infra.staff import StaffScreen
from infra.store import ProfileStore
from omnijourney.app import config
from omnijourney.edge.sources import WEBHOOK_SOURCE_NAMES

# How long a quarantined delivery or event is kept for a replay (docs/operations.md, "What expires").
QUARANTINE_KEPT_DAYS = 30


class OmnijourneyStack(Stack):
    def __init__(self, scope: Construct, stack_id: str, *, settings: DeploySettings, **kwargs: object) -> None:
        super().__init__(scope, stack_id, **kwargs)  # type: ignore[arg-type]
        retain = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY
        key = kms.Key(
            self, "DataKey", enable_key_rotation=True, removal_policy=retain, alias=f"alias/{settings.prefix}"
        )
        # CloudWatch Logs encrypts every log group of the stack with it, in this region, each under its own ARN.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": self.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        store = ProfileStore(self, "ProfileStore", settings=settings, key=key)
        pipeline = EventPipeline(self, "EventPipeline", settings=settings, key=key)
        quarantine = s3.Bucket(
            self,
            "Quarantine",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            removal_policy=retain,
            auto_delete_objects=not settings.production,
            # Long enough to mend a parser and replay; erasure takes a customer's sooner (docs/operations.md).
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="QuarantineExpires",
                    expiration=Duration.days(QUARANTINE_KEPT_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # A separate rule: S3 refuses one that both expires current versions and removes delete markers.
                s3.LifecycleRule(id="DeleteMarkersRemoved", expired_object_delete_marker=True),
            ],
        )
        layer = lambda_.LayerVersion(
            self,
            "Core",
            code=lambda_.Code.from_asset(str(build_layer())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="omnijourney domain package, its dependencies, config/, journeys/ and the audit's Athena SQL",
        )
        messaging = Messaging(self, "Messaging", settings=settings, feedback=pipeline.ses_events)
        lake = AnalyticsLake(self, "Analytics", settings=settings, key=key)
        state_machine_prefix = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=f"{settings.prefix}-",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        shared = {
            **store.environment(),
            "OMNIJOURNEY_EVENTS_QUEUE_URL": pipeline.events.queue_url,
            "OMNIJOURNEY_QUARANTINE_BUCKET": quarantine.bucket_name,
            "OMNIJOURNEY_SECRETS_PREFIX": settings.secrets_prefix,
            "OMNIJOURNEY_HISTORY_RETENTION_DAYS": str(settings.history_retention_days),
            "OMNIJOURNEY_STATE_MACHINE_PREFIX": state_machine_prefix,
        }

        def function(
            name: str, extra: dict[str, str] | None = None, *, timeout_seconds: int = 30, memory_mb: int = 512
        ) -> lambda_.Function:
            return ServiceFunction(
                self,
                name,
                settings=settings,
                layer=layer,
                key=key,
                environment=shared | (extra or {}),
                timeout_seconds=timeout_seconds,
                memory_mb=memory_mb,
            ).function

        ingest = function("ingest", memory_mb=1024)
        profile = function("profile", timeout_seconds=PROFILE_TIMEOUT_SECONDS)
        profile_api = function("profile_api")
        staff_api = function("staff_api")
        journey_step = function("journey_step", messaging.environment(settings))
        journey_schedule = function("journey_schedule", timeout_seconds=15 * 60)
        # The analytics facts (docs/analytics.md): each unit of work puts what it recorded (a staff action is an event
        # the profile function records). The audit reads them back daily: two Athena queries over every fact, each
        # waited for at most 7 minutes (omnijourney.analytics.athena).
        lake.write_facts_from(profile, profile_api, journey_step, journey_schedule)
        analytics_audit = lake.audit_daily(
            function("analytics_audit", lake.query_environment(), timeout_seconds=15 * 60, memory_mb=256), settings
        )

        # Ingest queues events, reads webhook secrets and keeps what cannot be parsed. The profile API and the staff
        # API queue the events staff actions make (a next best action done), the way every channel's events go.
        for sender in (ingest, profile_api, staff_api):
            _grant_send(sender, pipeline.events, key)
        # What cannot be parsed (ingest) or recorded (profile) is quarantined; erasure deletes a customer's
        # quarantined deliveries, every version (the profile API, and the profile function for a CRM's GDPR deletion).
        for quarantining in (ingest, profile):
            _grant_quarantine(quarantining, quarantine, key)
        for eraser in (profile_api, profile):
            _grant_quarantine_erasure(eraser, quarantine, key)
        ingest.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter"],
                resources=[
                    self.format_arn(
                        service="ssm",
                        resource="parameter",
                        resource_name=f"{settings.secrets_prefix.lstrip('/')}/{source}",
                    )
                    for source in WEBHOOK_SOURCE_NAMES
                ],
            )
        )
        # Profiles: batches from the queue, never wider than DynamoDB should take.
        profile.add_event_source(
            sources.SqsEventSource(
                pipeline.events,
                batch_size=10,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
                max_concurrency=settings.profile_max_concurrency,
            )
        )
        reads_messages = bool(config.segments().read_messages(config.segments().segments))
        for name, user in (
            ("profile", profile),
            ("profile_api", profile_api),
            ("staff_api", staff_api),
            ("journey_step", journey_step),
            ("journey_schedule", journey_schedule),
        ):
            grant_tables(name, user, store.tables, key, reads_messages=reads_messages)
        journey_step.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[
                    messaging.identity.email_identity_arn,
                    self.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=messaging.configuration_set.configuration_set_name,
                    ),
                ],
            )
        )
        # Webhooks are signed with their target's secret, sales tasks made with HubSpot's token (config/webhooks.yaml).
        grant_outbound_secrets(journey_step, config.outbound(), settings.stage)
        # SMS goes to a phone number, which SNS authorises as the resource itself (no ARN); push goes to a platform
        # endpoint, whose ARN the customer's app reports (the profile trait push_endpoint_arn). Any other SNS ARN, a
        # topic above all (the SES events topic feeds the profile function), is denied: the deny covers every
        # resource with an owning account (an ARN; a phone number has none) that is not this account's endpoint.
        journey_step.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
        journey_step.add_to_role_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["sns:Publish"],
                not_resources=[self.format_arn(service="sns", resource="endpoint", resource_name="*")],
                conditions={"Null": {"aws:ResourceAccount": "false"}},
            )
        )

        journeys = Journeys(
            self,
            "Journeys",
            settings=settings,
            journeys=config.journeys(),
            step_function=journey_step,
            schedule_function=journey_schedule,
            key=key,
        )
        # Events start every journey but a scheduled one (on an event, a stage, a segment joined); time starts the
        # scheduled ones and those entering a segment time alone can change (the hourly evaluation: a birthday today).
        entries = {name: journey.entry for name, journey in config.journeys().journeys.items()}
        timed = config.segments().timed
        for starter, starts in (
            (profile, [name for name, entry in entries.items() if not entry.schedule]),
            (journey_schedule, [name for name, entry in entries.items() if entry.schedule or entry.segment in timed]),
        ):
            if starts:
                starter.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["states:StartExecution"],
                        resources=[journeys.state_machines[name].state_machine_arn for name in sorted(starts)],
                    )
                )
        executions = self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{settings.prefix}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for stopper in (profile, profile_api, journey_schedule):
            stopper.add_to_role_policy(iam.PolicyStatement(actions=["states:StopExecution"], resources=[executions]))
        # A run's end is recorded with the states it entered (its `run_ended` fact), read from its history.
        journey_step.add_to_role_policy(
            iam.PolicyStatement(actions=["states:GetExecutionHistory"], resources=[executions])
        )
        # Task tokens name no resource: SendTaskSuccess cannot be scoped to a state machine.
        profile.add_to_role_policy(iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=["*"]))

        api = IngestApi(self, "Api", settings=settings, key=key, ingest=ingest, profile_api=profile_api)
        screen = StaffScreen(self, "StaffScreen", settings=settings, api=api.api, shop=config.shop())
        api.add_staff_routes(staff_api, user_pool=screen.user_pool, client=screen.client)
        Observability(
            self,
            "Observability",
            settings=settings,
            key=key,
            queue=pipeline.events,
            dead_letter_queues=[
                pipeline.dead_letters,
                pipeline.feedback_dead_letters,
                journeys.status_dead_letters,
                *([journeys.schedule_dead_letters] if journeys.schedule_dead_letters else []),
            ],
            functions={
                "ingest": ingest,
                "profile": profile,
                "profile_api": profile_api,
                "staff_api": staff_api,
                "journey_step": journey_step,
                "journey_schedule": journey_schedule,
                "analytics_audit": analytics_audit,
            },
            state_machines=journeys.state_machines,
        )
        CfnOutput(self, "ApiUrl", value=api.url, description="POST {url}/webhooks/<source>; GET {url}/profiles")
        CfnOutput(self, "SecretsPrefix", value=settings.secrets_prefix, description="SSM SecureString per source")
        acknowledge(
            self,
            lake=lake,
            objects_of=[quarantine],
            versions_of=[journey_step, journey_schedule],
            executions=f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{settings.prefix}-*",
        )
        acknowledge_staff_screen(self, screen)


def _grant_send(sender: lambda_.IFunction, queue: sqs.IQueue, key: kms.IKey) -> None:
    """SendMessage on the queue; SQS makes and reads the message's data key with the stack's key."""
    sender.add_to_role_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))
    sender.add_to_role_policy(
        iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
    )


def _grant_quarantine(writer: lambda_.IFunction, quarantine: s3.IBucket, key: kms.IKey) -> None:
    """Put a quarantined delivery or event and its identifier index entries (omnijourney.edge.quarantine)."""
    writer.add_to_role_policy(
        iam.PolicyStatement(actions=["s3:PutObject"], resources=[quarantine.arn_for_objects("*")])
    )
    writer.add_to_role_policy(iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[key.key_arn]))


def _grant_quarantine_erasure(eraser: lambda_.IFunction, quarantine: s3.IBucket, key: kms.IKey) -> None:
    """Find a customer's quarantined deliveries through the identifier index (versions listed by prefix), read each,
    and delete every version of it and of its index entries."""
    eraser.add_to_role_policy(iam.PolicyStatement(actions=["s3:ListBucketVersions"], resources=[quarantine.bucket_arn]))
    eraser.add_to_role_policy(
        iam.PolicyStatement(
            actions=["s3:GetObjectVersion", "s3:DeleteObjectVersion"], resources=[quarantine.arn_for_objects("*")]
        )
    )
    eraser.add_to_role_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn]))
