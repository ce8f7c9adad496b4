"""The analytics lake in the synthesized stack: Firehose → Parquet in S3 by kind and day, the Glue table `facts` from
the column definitions, an Athena workgroup, and the daily consistency audit with its alarm."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from omnijourney.analytics.columns import COLUMNS, PARTITION_KEYS
from omnijourney.analytics.facts import FactKind
from tests.infra.synthesized import STAGE, policy_actions, policy_resources, resources

FACT_WRITERS = ("profile", "profile-api", "journey-step", "journey-schedule")
OTHERS = ("ingest", "staff-api", "analytics-audit")


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    [(name, body)] = resources(template, kind).items()
    return name, body["Properties"]


def function_environment(template: dict[str, Any], function_name: str) -> dict[str, Any]:
    [function] = [
        body["Properties"]
        for body in resources(template, "AWS::Lambda::Function").values()
        if body["Properties"].get("FunctionName") == f"omnijourney-{STAGE}-{function_name}"
    ]
    variables: dict[str, Any] = function["Environment"]["Variables"]
    return variables


def test_the_facts_table_has_exactly_the_defined_columns_and_projects_kind_and_day(template: dict[str, Any]) -> None:
    _, table = only(template, "AWS::Glue::Table")
    described = table["TableInput"]
    assert described["Name"] == "facts"
    assert [(c["Name"], c["Type"]) for c in described["StorageDescriptor"]["Columns"]] == list(COLUMNS.items())
    assert [(c["Name"], c["Type"]) for c in described["PartitionKeys"]] == list(PARTITION_KEYS.items())
    assert described["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    parameters = described["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.kind.type"] == "enum"
    assert parameters["projection.kind.values"].split(",") == [kind.value for kind in FactKind]
    assert parameters["projection.day.type"] == "date"
    assert parameters["projection.day.format"] == "yyyy-MM-dd"
    assert parameters["projection.day.range"].endswith(",NOW")
    template_path = parameters["storage.location.template"]
    assert template_path["Fn::Join"][1][-1] == "/facts/kind=${kind}/day=${day}/"


def test_firehose_converts_facts_to_parquet_with_the_table_and_partitions_them_by_kind_and_day(
    template: dict[str, Any],
) -> None:
    _, stream = only(template, "AWS::KinesisFirehose::DeliveryStream")
    assert stream["DeliveryStreamType"] == "DirectPut"
    assert stream["DeliveryStreamName"] == f"omnijourney-{STAGE}-facts"
    assert stream["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
    destination = stream["ExtendedS3DestinationConfiguration"]
    conversion = destination["DataFormatConversionConfiguration"]
    assert conversion["Enabled"] is True
    # omnijourney.analytics.facts writes `occurred_at` in epoch milliseconds.
    assert conversion["InputFormatConfiguration"]["Deserializer"] == {"HiveJsonSerDe": {"TimestampFormats": ["millis"]}}
    assert "ParquetSerDe" in conversion["OutputFormatConfiguration"]["Serializer"]
    schema = conversion["SchemaConfiguration"]
    assert (schema["DatabaseName"], schema["TableName"]) == (f"omnijourney_{STAGE}", "facts")
    assert destination["Prefix"] == "facts/kind=!{partitionKeyFromQuery:kind}/day=!{partitionKeyFromQuery:day}/"
    assert destination["ErrorOutputPrefix"].startswith("facts-errors/!{firehose:error-output-type}/")
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    [extraction] = destination["ProcessingConfiguration"]["Processors"]
    assert extraction["Type"] == "MetadataExtraction"
    assert {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{kind: .kind, day: .day}"} in extraction[
        "Parameters"
    ]
    assert destination["BufferingHints"]["SizeInMBs"] >= 64  # dynamic partitioning's minimum
    assert destination["CloudWatchLoggingOptions"]["Enabled"] is True
    assert "KMSEncryptionConfig" in destination["EncryptionConfiguration"]


def test_the_functions_that_write_facts_may_only_put_record_batches_to_the_facts_stream(
    template: dict[str, Any],
) -> None:
    stream_name, _ = only(template, "AWS::KinesisFirehose::DeliveryStream")
    for writer in FACT_WRITERS:
        assert function_environment(template, writer)["OMNIJOURNEY_FACTS_STREAM"] == {"Ref": stream_name}
        assert {action for action in policy_actions(template, writer) if action.startswith("firehose:")} == {
            "firehose:PutRecordBatch"
        }
        assert policy_resources(template, writer, "firehose:PutRecordBatch") == [{"Fn::GetAtt": [stream_name, "Arn"]}]
    for other in OTHERS:
        assert "OMNIJOURNEY_FACTS_STREAM" not in function_environment(template, other)
        assert not [action for action in policy_actions(template, other) if action.startswith("firehose:")]


def test_the_athena_workgroup_enforces_encrypted_results_and_a_bytes_scanned_cutoff(template: dict[str, Any]) -> None:
    _, workgroup = only(template, "AWS::Athena::WorkGroup")
    configuration = workgroup["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == 10 * 1000**3
    assert configuration["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    results = configuration["ResultConfiguration"]
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert results["OutputLocation"]["Fn::Join"][1][-1] == "/athena-results/"


def test_the_lake_bucket_is_encrypted_private_and_keeps_query_results_a_week(template: dict[str, Any]) -> None:
    [bucket] = [
        body["Properties"]
        for body in resources(template, "AWS::S3::Bucket").values()
        if any(
            rule.get("Id") == "QueryResults"
            for rule in body["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        )
    ]
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert (rules["QueryResults"]["Prefix"], rules["QueryResults"]["ExpirationInDays"]) == ("athena-results/", 7)
    assert not [rule for rule in rules.values() if rule.get("Prefix") == "facts/"]  # facts are kept


def test_the_audit_runs_daily_and_may_only_query_the_lake(template: dict[str, Any]) -> None:
    audit_arn = {"Fn::GetAtt": [_function_id(template, "analytics-audit"), "Arn"]}
    assertions.Template.from_json(template).has_resource_properties(
        "AWS::Events::Rule",
        {
            "Name": f"omnijourney-{STAGE}-consistency-audit",
            "ScheduleExpression": "cron(0 2 * * ? *)",
            "Targets": [assertions.Match.object_like({"Arn": audit_arn})],
        },
    )
    environment = function_environment(template, "analytics-audit")
    assert environment["OMNIJOURNEY_METRICS_DIR"] == "/opt/omnijourney/metrics"
    assert environment["OMNIJOURNEY_LAKE_DATABASE"] == f"omnijourney_{STAGE}"
    actions = policy_actions(template, "analytics-audit")
    athena_actions = {action for action in actions if action.startswith("athena:")}
    assert athena_actions == {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"}
    [workgroup] = policy_resources(template, "analytics-audit", "athena:StartQueryExecution")
    assert workgroup["Fn::Join"][1][-1] == f":workgroup/omnijourney-{STAGE}-analytics"
    assert {"glue:GetTable", "glue:GetDatabase", "glue:GetPartitions", "s3:GetObject", "s3:PutObject"} <= actions
    assert not [action for action in actions if action.startswith(("dynamodb:", "states:", "firehose:", "s3:Delete"))]


def test_a_consistency_score_below_one_raises_an_alarm(template: dict[str, Any]) -> None:
    [alarm] = [
        body["Properties"]
        for body in resources(template, "AWS::CloudWatch::Alarm").values()
        if body["Properties"].get("MetricName") == "ConsistencyScore"
    ]
    assert alarm["Namespace"] == "omnijourney"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["Statistic"] == "Minimum"
    assert alarm["Period"] == 24 * 3600
    assert alarm["AlarmActions"]


def _function_id(template: dict[str, Any], function_name: str) -> str:
    [name] = [
        name
        for name, body in resources(template, "AWS::Lambda::Function").items()
        if body["Properties"].get("FunctionName") == f"omnijourney-{STAGE}-{function_name}"
    ]
    return name
