"""The CDK stack, synthesised once: what a careful AWS engineer would check before `cdk deploy`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import assertions

from tests.infra.synthesized import STAGE, function_statements, policy_actions, policy_resources, resources

ROOT = Path(__file__).resolve().parents[2]
JOURNEYS = sorted(path.stem for path in (ROOT / "journeys").glob("*.yaml"))


def test_each_journey_file_is_its_own_logged_and_traced_standard_state_machine(template: dict[str, Any]) -> None:
    machines = resources(template, "AWS::StepFunctions::StateMachine").values()
    assert sorted(machine["Properties"]["StateMachineName"] for machine in machines) == [
        f"omnijourney-{STAGE}-{name}" for name in JOURNEYS
    ]
    for machine in machines:
        properties = machine["Properties"]
        assert properties["StateMachineType"] == "STANDARD"
        assert properties["TracingConfiguration"] == {"Enabled": True}
        assert properties["LoggingConfiguration"]["Level"] == "ALL"
        assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
        assert "JourneyStepFunctionArn" in properties["DefinitionSubstitutions"]


def test_every_table_is_encrypted_recoverable_and_on_demand(template: dict[str, Any]) -> None:
    tables = resources(template, "AWS::DynamoDB::Table").values()
    assert len(tables) == 6
    for table in tables:
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"]["SSEType"] == "KMS"
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_tables_take_their_keys_from_the_pynamodb_models(template: dict[str, Any]) -> None:
    [ledger] = [
        table["Properties"]
        for table in resources(template, "AWS::DynamoDB::Table").values()
        if table["Properties"]["TableName"] == f"omnijourney-{STAGE}-ledger"
    ]
    assert ledger["KeySchema"] == [
        {"AttributeName": "customer_id", "KeyType": "HASH"},
        {"AttributeName": "message_key", "KeyType": "RANGE"},
    ]
    assert ledger["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_erasure_finds_every_identity_of_a_customer_through_a_keys_only_index_by_customer(
    template: dict[str, Any],
) -> None:
    [(name, identities)] = [
        (name, table["Properties"])
        for name, table in resources(template, "AWS::DynamoDB::Table").items()
        if table["Properties"]["TableName"] == f"omnijourney-{STAGE}-identities"
    ]
    assert identities["KeySchema"] == [{"AttributeName": "identifier", "KeyType": "HASH"}]
    assert identities["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by-customer",
            "KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ]
    assert {"AttributeName": "customer_id", "AttributeType": "S"} in identities["AttributeDefinitions"]
    # The profile API erases (DELETE /profiles/{customer_id}): it may query the index.
    index_arn = {"Fn::Join": ["", [{"Fn::GetAtt": [name, "Arn"]}, "/index/by-customer"]]}
    assert index_arn in policy_resources(template, "profile-api", "dynamodb:Query")


def _dead_letter_targets(template: dict[str, Any]) -> list[Any]:
    """The ARN of every dead-letter queue a queue, an SNS subscription, an EventBridge target or a schedule names."""
    properties = [body["Properties"] for body in template["Resources"].values() if "Properties" in body]
    return [
        *(found["RedrivePolicy"]["deadLetterTargetArn"] for found in properties if "RedrivePolicy" in found),
        *(
            target["DeadLetterConfig"]["Arn"]
            for found in properties
            for target in (found.get("Targets") if isinstance(found.get("Targets"), list) else [])
            if "DeadLetterConfig" in target
        ),
        *(
            found["Target"]["DeadLetterConfig"]["Arn"]
            for found in properties
            if isinstance(found.get("Target"), dict) and "DeadLetterConfig" in found["Target"]
        ),
    ]


def test_every_queue_has_a_dead_letter_queue_or_is_one_and_every_dead_letter_queue_raises_an_alarm(
    template: dict[str, Any],
) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    targets = _dead_letter_targets(template)
    dead_letter_queues = {name for name in queues if {"Fn::GetAtt": [name, "Arn"]} in targets}
    assert len(dead_letter_queues) == 4  # events, SES events subscription, journey status changes, schedules
    for name, queue in queues.items():
        assert name in dead_letter_queues or "RedrivePolicy" in queue["Properties"]
    alarmed = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dimension in alarm["Properties"]["Dimensions"]
    }
    assert alarmed == dead_letter_queues


def test_what_sns_cannot_deliver_to_the_events_queue_waits_in_a_dead_letter_queue(template: dict[str, Any]) -> None:
    [subscription] = resources(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "sqs"
    [dead_letters] = [
        queue
        for queue in resources(template, "AWS::SQS::Queue").values()
        if queue["Properties"]["QueueName"] == f"omnijourney-{STAGE}-ses-events-dlq"
    ]
    target = subscription["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
    assert resources(template, "AWS::SQS::Queue")[target["Fn::GetAtt"][0]] == dead_letters


def test_dead_letters_and_a_backlog_raise_alarms(template: dict[str, Any]) -> None:
    alarms = [alarm["Properties"] for alarm in resources(template, "AWS::CloudWatch::Alarm").values()]
    metrics = {alarm.get("MetricName") for alarm in alarms}
    assert {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "ExecutionsFailed"} <= metrics
    assert all(alarm["AlarmActions"] for alarm in alarms)


def test_functions_are_arm64_traced_on_the_core_layer_with_no_secret_in_their_environment(
    template: dict[str, Any],
) -> None:
    functions = [
        function["Properties"]
        for function in resources(template, "AWS::Lambda::Function").values()
        if function["Properties"].get("FunctionName", "").startswith(f"omnijourney-{STAGE}-")
    ]
    assert len(functions) == 7
    for function in functions:
        assert function["Architectures"] == ["arm64"]
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert len(function["Layers"]) == 1
        variables = function["Environment"]["Variables"]
        assert variables["OMNIJOURNEY_SECRETS_PREFIX"] == f"/omnijourney/{STAGE}/webhook-secrets"
        assert not [name for name in variables if "SECRET" in name and name != "OMNIJOURNEY_SECRETS_PREFIX"]


def test_ingest_can_only_queue_events_read_webhook_secrets_and_quarantine(template: dict[str, Any]) -> None:
    actions = policy_actions(template, "ingest")
    assert {"sqs:SendMessage", "ssm:GetParameter", "s3:PutObject"} <= actions
    assert not [action for action in actions if action.startswith(("dynamodb:", "states:", "ses:", "sns:"))]
    assert "*" not in actions


def test_only_the_journey_step_function_sends_messages(template: dict[str, Any]) -> None:
    assert {"ses:SendEmail", "sns:Publish"} <= policy_actions(template, "journey-step")
    for other in ("ingest", "profile", "profile-api", "staff-api", "journey-schedule"):
        assert not {"ses:SendEmail", "sns:Publish"} & policy_actions(template, other)


def test_only_triggers_start_stop_and_resume_journeys(template: dict[str, Any]) -> None:
    assert {"states:StartExecution", "states:StopExecution", "states:SendTaskSuccess"} <= policy_actions(
        template, "profile"
    )
    assert "states:StartExecution" not in policy_actions(template, "journey-step")
    assert "states:StartExecution" not in policy_actions(template, "profile-api")


def test_the_journey_step_function_reads_the_history_of_the_runs_it_records_ended(template: dict[str, Any]) -> None:
    assert "states:GetExecutionHistory" in policy_actions(template, "journey-step")


def test_profile_routes_need_iam_and_webhooks_are_open_to_signed_deliveries(template: dict[str, Any]) -> None:
    routes = {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert routes["POST /webhooks/{source}"].get("AuthorizationType", "NONE") == "NONE"
    for key in ("GET /profiles", "GET /profiles/{customer_id}", "DELETE /profiles/{customer_id}"):
        assert routes[key]["AuthorizationType"] == "AWS_IAM"


def test_scheduled_journeys_and_segments_time_changes_get_an_eventbridge_schedule(template: dict[str, Any]) -> None:
    schedules = [schedule["Properties"] for schedule in resources(template, "AWS::Scheduler::Schedule").values()]
    assert sorted((schedule["Name"], schedule["ScheduleExpression"]) for schedule in schedules) == [
        # Segments that time alone changes (a birthday today) are evaluated each hour for the customers whose day it is.
        (f"omnijourney-{STAGE}-daily-segments", "rate(1 hour)"),
        (f"omnijourney-{STAGE}-monthly_picks", "cron(0 9 1 * ? *)"),
    ]
    [daily] = [schedule for schedule in schedules if schedule["Name"].endswith("daily-segments")]
    assert json.loads(daily["Target"]["Input"]) == {"segments": "daily"}


def test_cfn_lint_finds_nothing(template: dict[str, Any]) -> None:
    from cfnlint.api import ManualArgs, lint

    # W3005: CDK itself writes a DependsOn on the role that the function's GetAtt already implies; harmless.
    settings = ManualArgs(regions=["us-east-1", "eu-central-1"], ignore_checks=["W3005"])
    matches = lint(json.dumps(template), config=settings)
    assert [str(match) for match in matches] == []


def test_how_each_run_ends_reaches_the_journey_step_function(template: dict[str, Any]) -> None:
    checked = assertions.Template.from_json(template)
    checked.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": assertions.Match.object_like(
                {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": assertions.Match.object_like({"status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]}),
                }
            ),
            "Targets": [assertions.Match.object_like({"DeadLetterConfig": assertions.Match.any_value()})],
        },
    )


def test_the_profile_function_reads_the_queue_in_batches_with_partial_failures(template: dict[str, Any]) -> None:
    assertions.Template.from_json(template).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 20},
        },
    )


def test_a_schedule_that_still_fails_after_its_retries_lands_in_a_dead_letter_queue(template: dict[str, Any]) -> None:
    [dead_letters] = [
        name
        for name, queue in resources(template, "AWS::SQS::Queue").items()
        if queue["Properties"]["QueueName"] == f"omnijourney-{STAGE}-schedule-dlq"
    ]
    schedules = [
        schedule["Properties"]["Target"] for schedule in resources(template, "AWS::Scheduler::Schedule").values()
    ]
    assert schedules
    for target in schedules:
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_letters, "Arn"]}}
    # The scheduler sends to it with the schedules' role.
    [role] = {target["RoleArn"]["Fn::GetAtt"][0] for target in schedules}
    sending = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in statement["Action"]
    ]
    assert [statement["Resource"] for statement in sending] == [{"Fn::GetAtt": [dead_letters, "Arn"]}]


def test_every_log_group_is_encrypted_with_the_data_key_cloudwatch_logs_may_use_for_this_stacks_log_groups(
    template: dict[str, Any],
) -> None:
    [(key_name, key)] = resources(template, "AWS::KMS::Key").items()
    log_groups = resources(template, "AWS::Logs::LogGroup").values()
    assert len(log_groups) == 10  # seven functions, journey executions, API access, Firehose delivery
    for log_group in log_groups:
        assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_name, "Arn"]}
    [logs] = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement["Principal"].get("Service")
        == {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    ]
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }
    assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(logs["Action"])


def test_quarantine_keeps_a_delivery_30_days_an_overwritten_version_one_and_no_bare_delete_marker(
    template: dict[str, Any],
) -> None:
    [quarantine] = [
        bucket["Properties"]
        for bucket in resources(template, "AWS::S3::Bucket").values()
        if bucket["Properties"].get("VersioningConfiguration") == {"Status": "Enabled"}
    ]
    rules = {rule["Id"]: rule for rule in quarantine["LifecycleConfiguration"]["Rules"]}
    assert rules["QuarantineExpires"]["ExpirationInDays"] == 30
    assert rules["QuarantineExpires"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert rules["DeleteMarkersRemoved"]["ExpiredObjectDeleteMarker"] is True
    assert all(rule["Status"] == "Enabled" and "Prefix" not in rule for rule in rules.values())  # the whole bucket


def test_journey_runs_expire_by_their_expires_at_attribute(template: dict[str, Any]) -> None:
    [runs] = [
        table["Properties"]
        for table in resources(template, "AWS::DynamoDB::Table").values()
        if table["Properties"]["TableName"] == f"omnijourney-{STAGE}-journey-runs"
    ]
    assert runs["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_journey_step_may_text_phone_numbers_and_push_to_this_accounts_endpoints_but_publish_to_no_topic(
    template: dict[str, Any],
) -> None:
    publishing = [
        statement for statement in function_statements(template, "journey-step") if statement["Action"] == "sns:Publish"
    ]
    allowed = [statement for statement in publishing if statement["Effect"] == "Allow"]
    denied = [statement for statement in publishing if statement["Effect"] == "Deny"]
    # A phone number is the resource SNS authorises for an SMS: no ARN can name it.
    assert [statement["Resource"] for statement in allowed] == ["*"]
    [deny] = denied
    assert deny["NotResource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sns:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":endpoint/*",
            ],
        ]
    }
    # Only resources with an owning account (ARNs) are denied: a phone number has none.
    assert deny["Condition"] == {"Null": {"aws:ResourceAccount": "false"}}
