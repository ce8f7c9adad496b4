"""The whole system as one stack, composed of one construct per concern; this file only wires them."""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.analytics import AnalyticsLake
from infra.api import IngestApi
from infra.findings import acknowledge, acknowledge_staff_screen
from infra.functions import RUNTIME, ServiceFunction
from infra.journeys import Journeys
from infra.messaging import Messaging
from infra.observability import Observability
from infra.packaging import build_layer
from infra.pipeline import PROFILE_TIMEOUT_SECONDS, EventPipeline
from infra.settings import DeploySettings
from infra.staff import StaffScreen
from infra.store import ProfileStore
from omnijourney.app import config
from omnijourney.edge.sources import WEBHOOK_SOURCE_NAMES
from omnijourney.profiles.store import ProfileRecord


class OmnijourneyStack(Stack):
    def __init__(self, scope: Construct, stack_id: str, *, settings: DeploySettings, **kwargs: object) -> None:
        super().__init__(scope, stack_id, **kwargs)  # type: ignore[arg-type]
        retain = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY
        key = kms.Key(
            self, "DataKey", enable_key_rotation=True, removal_policy=retain, alias=f"alias/{settings.prefix}"
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

        # Ingest: queue events, read webhook secrets, keep what cannot be parsed. The profile API queues the events
        # staff actions make (a next best action done), the way every channel's events go; the staff API's own grant
        # is below.
        for sender in (ingest, profile_api):
            pipeline.events.grant_send_messages(sender)
        quarantine.grant_put(ingest)
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
        _grant_tables(
            store.tables,
            profile=profile,
            profile_api=profile_api,
            journey_step=journey_step,
            journey_schedule=journey_schedule,
        )
        _grant_staff(staff_api, store.tables, events=pipeline.events, key=key)
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
        # SMS to a phone number and push to an app endpoint: SNS has no ARN for a phone number.
        journey_step.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))

        journeys = Journeys(
            self,
            "Journeys",
            settings=settings,
            journeys=config.journeys(),
            step_function=journey_step,
            schedule_function=journey_schedule,
            key=key,
        )
        machines = list(journeys.state_machines.values())
        for starter in (profile, journey_schedule):
            starter.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:StartExecution"], resources=[machine.state_machine_arn for machine in machines]
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

        api = IngestApi(self, "Api", settings=settings, ingest=ingest, profile_api=profile_api)
        screen = StaffScreen(self, "StaffScreen", settings=settings, api=api.api, shop=config.shop())
        api.add_staff_routes(staff_api, user_pool=screen.user_pool, client=screen.client)
        Observability(
            self,
            "Observability",
            settings=settings,
            key=key,
            queue=pipeline.events,
            dead_letter_queues=[pipeline.dead_letters, journeys.status_dead_letters],
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
            indexes_of=list(store.indexed),
            executions=f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{settings.prefix}-*",
        )
        acknowledge_staff_screen(self, screen)


def _grant_tables(
    tables: dict[str, dynamodb.Table],
    *,
    profile: lambda_.IFunction,
    profile_api: lambda_.IFunction,
    journey_step: lambda_.IFunction,
    journey_schedule: lambda_.IFunction,
) -> None:
    """Each function reads and writes exactly the tables it uses (the infra tests check them per function)."""
    for name in ("profiles_table", "identities_table", "history_table", "idempotency_table", "journey_runs_table"):
        tables[name].grant_read_write_data(profile)
    # A segment counting days since the last message reads the ledger (runtime.segments), only then.
    reads_messages = config.segments().read_messages(config.segments().segments)
    if reads_messages:
        tables["ledger_table"].grant_read_data(profile)
    # Store and call-center tools read profiles; erasure deletes them and scrubs the ledger, and finds every
    # identity of the customer through the identities table's index by customer (the grant covers its indexes).
    for name in ("profiles_table", "identities_table", "history_table", "journey_runs_table", "ledger_table"):
        tables[name].grant_read_write_data(profile_api)
    # The journey-step function reads profiles and history, amends profiles (notes, tags), writes the ledger.
    for name in ("profiles_table", "journey_runs_table", "ledger_table"):
        tables[name].grant_read_write_data(journey_step)
    tables["history_table"].grant_read_data(journey_step)
    # The daily segment evaluation amends profiles, records runs, and reads what the segments count (history;
    # the ledger only for the days since the last message).
    for name in ("profiles_table", "journey_runs_table"):
        tables[name].grant_read_write_data(journey_schedule)
    tables["history_table"].grant_read_data(journey_schedule)
    if reads_messages:
        tables["ledger_table"].grant_read_data(journey_schedule)


def _grant_staff(
    staff_api: lambda_.IFunction, tables: dict[str, dynamodb.Table], *, events: sqs.IQueue, key: kms.IKey
) -> None:
    """Exactly what the staff API does: find customers (identities by key, the profiles' index by name), read their
    page (a profile, its history) and queue "done"; it never writes a table, scans one, or erases."""
    profiles, by_name = tables["profiles_table"], ProfileRecord.by_name.Meta.index_name
    for actions, resources in (
        (["dynamodb:GetItem"], [profiles.table_arn]),
        (["dynamodb:Query"], [f"{profiles.table_arn}/index/{by_name}", tables["history_table"].table_arn]),
        (["dynamodb:BatchGetItem"], [tables["identities_table"].table_arn]),
        (["sqs:SendMessage"], [events.queue_arn]),
        # The tables and the queue are encrypted with the stack's key: reading decrypts, queueing makes a data key.
        (["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], [key.key_arn]),
    ):
        staff_api.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))
