"""The analytics lake (docs/analytics.md): Firehose turns the functions' facts into Parquet in S3, partitioned by kind
and day; the Glue table `facts` describes them (from omnijourney.analytics.columns) for Firehose and Athena; an
Athena workgroup reads them with encrypted results and a bytes-scanned cutoff."""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.functions import encrypted_log_group
from infra.packaging import LAYER_METRICS_DIR
from infra.settings import DeploySettings
from omnijourney.analytics.athena import lake_names
from omnijourney.analytics.columns import COLUMNS, PARTITION_KEYS
from omnijourney.analytics.facts import FactKind

FACTS_PREFIX = "facts/"
# Records Firehose could not partition or convert, as it received them, by failure and day.
ERRORS_PREFIX = "facts-errors/"
RESULTS_PREFIX = "athena-results/"
ERRORS_KEPT_DAYS = 30
# Query results are read once, by whoever ran the query; they name customer ids (the audit's violations).
RESULTS_KEPT_DAYS = 7
# Dynamic partitioning fills one buffer per kind and day and writes it when full or when this long has passed. At a
# shop's volume the time comes first, so a longer interval means fewer, larger Parquet files (fewer S3 objects and
# requests for Athena); the daily audit needs facts within the hour, not the minute. 900 s is Firehose's longest.
BUFFER_SECONDS = 900
# Dynamic partitioning needs at least 64 MiB; the most a buffer takes, for the largest files.
BUFFER_MIB = 128
# The daily consistency audit (functions/analytics_audit) audits the day before, UTC: by 02:00 its last facts have
# long been delivered (within BUFFER_SECONDS, and Firehose's retries).
AUDIT_SCHEDULE = events.Schedule.cron(minute="0", hour="2")


class AnalyticsLake(Construct):
    def __init__(self, scope: Construct, name: str, *, settings: DeploySettings, key: kms.IKey) -> None:
        super().__init__(scope, name)
        stack = Stack.of(self)
        retain = RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY
        self.key = key
        # The stack's data key, as every table and queue: facts are customers' behaviour, under their ids.
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            # One data key per bucket and a while, not a KMS call per object Firehose writes or Athena reads.
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # Facts are only ever added, under names Firehose makes unique: no version to keep.
            versioned=False,
            removal_policy=retain,
            auto_delete_objects=not settings.production,
            lifecycle_rules=[
                # Facts stay: lifetime value counts a customer's whole life, and an erased customer's facts hold an
                # id that links to nothing (docs/analytics.md).
                s3.LifecycleRule(id="FailedRecords", prefix=ERRORS_PREFIX, expiration=Duration.days(ERRORS_KEPT_DAYS)),
                s3.LifecycleRule(id="QueryResults", prefix=RESULTS_PREFIX, expiration=Duration.days(RESULTS_KEPT_DAYS)),
                s3.LifecycleRule(id="Uploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
        )
        names = lake_names(settings.stage)
        self.database_name = names.database
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="omnijourney's analytics facts (docs/analytics.md)"
            ),
        )
        facts_location = f"s3://{self.bucket.bucket_name}/{FACTS_PREFIX}"
        self.table = glue.CfnTable(
            self,
            "Facts",
            catalog_id=stack.account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name="facts",
                description="One row per fact, partitioned by kind and day (docs/analytics.md)",
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name=k, type=t) for k, t in PARTITION_KEYS.items()],
                parameters={
                    "classification": "parquet",
                    "EXTERNAL": "TRUE",
                    # Partitions computed from the query, not listed in Glue: no crawler, no MSCK REPAIR.
                    "projection.enabled": "true",
                    "projection.kind.type": "enum",
                    "projection.kind.values": ",".join(kind.value for kind in FactKind),
                    "projection.day.type": "date",
                    "projection.day.format": "yyyy-MM-dd",
                    "projection.day.range": f"{settings.facts_first_day.isoformat()},NOW",
                    "projection.day.interval": "1",
                    "projection.day.interval.unit": "DAYS",
                    "storage.location.template": facts_location + "kind=${kind}/day=${day}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=k, type=t) for k, t in COLUMNS.items()],
                    location=facts_location,
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                        parameters={"serialization.format": "1"},
                    ),
                ),
            ),
        )
        self.table.node.add_dependency(database)
        catalog = stack.format_arn(service="glue", resource="catalog")
        self.glue_resources = [
            catalog,
            stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
            stack.format_arn(service="glue", resource="table", resource_name=f"{self.database_name}/facts"),
        ]
        self.stream = self._delivery_stream(settings)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=names.workgroup,
            description="The scorecard and the daily consistency audit over the analytics facts",
            state="ENABLED",
            # A workgroup with query history is deleted only with it; production keeps both.
            recursive_delete_option=not settings.production,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Every query in it: results here, encrypted, and cancelled past the cutoff, whatever the client asks.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=settings.athena_scan_limit_gb * 1000**3,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.bucket.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        # Production keeps the catalog and the query history with the facts.
        for resource in (database, self.table, self.workgroup):
            resource.apply_removal_policy(retain)
        CfnOutput(self, "LakeBucket", value=self.bucket.bucket_name, description="facts/kind=<kind>/day=<day>/")
        CfnOutput(self, "LakeDatabase", value=self.database_name, description="Glue database holding the table facts")
        CfnOutput(self, "AthenaWorkgroup", value=self.workgroup.ref, description="query the facts in this workgroup")

    def _delivery_stream(self, settings: DeploySettings) -> firehose.CfnDeliveryStream:
        stack = Stack.of(self)
        log_group = encrypted_log_group(
            self,
            "DeliveryLogs",
            settings=settings,
            key=self.key,
            log_group_name=f"/aws/kinesisfirehose/{settings.prefix}-facts",
        )
        log_stream = logs.LogStream(self, "DeliveryErrors", log_group=log_group, log_stream_name="S3Delivery")
        role = iam.Role(
            self,
            "DeliveryRole",
            # Firehose of this account only (the confused-deputy guard Firehose documents).
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com", conditions={"StringEquals": {"sts:ExternalId": stack.account}}
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.bucket.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in (FACTS_PREFIX, ERRORS_PREFIX)],
            )
        )
        # The schema for record format conversion.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                resources=self.glue_resources,
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{log_group.log_group_name}:log-stream:{log_stream.log_stream_name}",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        partitioned = "kind=!{partitionKeyFromQuery:kind}/day=!{partitionKeyFromQuery:day}/"
        stream = firehose.CfnDeliveryStream(
            self,
            "Stream",
            delivery_stream_name=f"{settings.prefix}-facts",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="CUSTOMER_MANAGED_CMK", key_arn=self.key.key_arn
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=FACTS_PREFIX + partitioned,
                error_output_prefix=ERRORS_PREFIX + "!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=BUFFER_SECONDS, size_in_m_bs=BUFFER_MIB
                ),
                # Parquet compresses its own pages (Snappy, below).
                compression_format="UNCOMPRESSED",
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=self.key.key_arn
                    )
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True, log_group_name=log_group.log_group_name, log_stream_name=log_stream.log_stream_name
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True,
                    retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(duration_in_seconds=300),
                ),
                # Each record carries its partition keys (omnijourney.analytics.facts: `kind`, and `day` in UTC).
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="MetadataExtraction",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="MetadataExtractionQuery", parameter_value="{kind: .kind, day: .day}"
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="JsonParsingEngine", parameter_value="JQ-1.6"
                                ),
                            ],
                        )
                    ],
                ),
                data_format_conversion_configuration=firehose.CfnDeliveryStream.DataFormatConversionConfigurationProperty(
                    enabled=True,
                    # The records write `occurred_at` in epoch milliseconds, which `millis` reads without guessing.
                    input_format_configuration=firehose.CfnDeliveryStream.InputFormatConfigurationProperty(
                        deserializer=firehose.CfnDeliveryStream.DeserializerProperty(
                            hive_json_ser_de=firehose.CfnDeliveryStream.HiveJsonSerDeProperty(
                                timestamp_formats=["millis"]
                            )
                        )
                    ),
                    output_format_configuration=firehose.CfnDeliveryStream.OutputFormatConfigurationProperty(
                        serializer=firehose.CfnDeliveryStream.SerializerProperty(
                            parquet_ser_de=firehose.CfnDeliveryStream.ParquetSerDeProperty(compression="SNAPPY")
                        )
                    ),
                    schema_configuration=firehose.CfnDeliveryStream.SchemaConfigurationProperty(
                        catalog_id=stack.account,
                        database_name=self.database_name,
                        table_name="facts",
                        region=stack.region,
                        role_arn=role.role_arn,
                        version_id="LATEST",
                    ),
                ),
            ),
        )
        # Firehose checks its role's access when the stream is created: the policy must exist by then.
        stream.node.add_dependency(role)
        stream.node.add_dependency(self.table)
        return stream

    def write_facts_from(self, *functions: lambda_.Function) -> None:
        """Tell each function the facts stream and let it PutRecordBatch there, nothing else on Firehose
        (omnijourney.analytics.stream)."""
        for function in functions:
            function.add_environment("OMNIJOURNEY_FACTS_STREAM", self.stream.ref)
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["firehose:PutRecordBatch"], resources=[self.stream.attr_arn])
            )

    def query_environment(self) -> dict[str, str]:
        """Where the audit queries (omnijourney.analytics.athena.LakeSettings), with the statements the layer ships."""
        return {
            "OMNIJOURNEY_ATHENA_WORKGROUP": self.workgroup.ref,
            "OMNIJOURNEY_LAKE_DATABASE": self.database_name,
            "OMNIJOURNEY_METRICS_DIR": LAYER_METRICS_DIR,
        }

    def audit_daily(self, function: lambda_.Function, settings: DeploySettings) -> lambda_.Function:
        """Run the consistency audit `function` every day, on the facts it may query."""
        self.grant_query(function)
        events.Rule(
            self,
            "DailyAudit",
            rule_name=f"{settings.prefix}-consistency-audit",
            description="The consistency audit of the day before (docs/deploy.md)",
            schedule=AUDIT_SCHEDULE,
            targets=[targets.LambdaFunction(function, retry_attempts=2, max_event_age=Duration.hours(6))],
        )
        return function

    def grant_query(self, function: iam.IGrantable) -> None:
        """Run queries in the workgroup over the facts: Athena reads the table and files and writes the results
        with the caller's own permissions."""
        stack = Stack.of(self)
        principal = function.grant_principal
        workgroup = stack.format_arn(service="athena", resource="workgroup", resource_name=self.workgroup.name)
        statements = [
            iam.PolicyStatement(
                actions=["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"],
                resources=[workgroup],
            ),
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"], resources=self.glue_resources
            ),
            iam.PolicyStatement(actions=["s3:GetBucketLocation", "s3:ListBucket"], resources=[self.bucket.bucket_arn]),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects(f"{FACTS_PREFIX}*")]),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                resources=[self.bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
            ),
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn]),
        ]
        for statement in statements:
            principal.add_to_principal_policy(statement)
