"""The CDK stack, synthesised once: what a careful AWS engineer would check before `cdk deploy`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import assertions

from tests.infra.synthesized import STAGE, policy_actions, policy_resources, resources

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
    index_arn = {"Fn::Join": ["", [{"Fn::GetAtt": [name, "Arn"]}, "/index/*"]]}
    assert index_arn in policy_resources(template, "profile-api", "dynamodb:Query")


def test_every_queue_has_a_dead_letter_queue_or_is_one(template: dict[str, Any]) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    dead_letter_targets = {
        json.dumps(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in queues.values()
        if "RedrivePolicy" in queue["Properties"]
    }
    for name, queue in queues.items():
        is_dead_letter_queue = json.dumps({"Fn::GetAtt": [name, "Arn"]}) in dead_letter_targets
        assert is_dead_letter_queue or "RedrivePolicy" in queue["Properties"] or name.startswith("JourneysStatus")


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
