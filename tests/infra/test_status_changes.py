"""How each run ended reaches the lake (its `run_ended` fact) even when the journey-step function keeps failing on
the status change: EventBridge hands it to Lambda, whose retries end in the status changes' dead-letter queue (with
an alarm), never in a dropped event."""

from __future__ import annotations

from typing import Any

from tests.infra.synthesized import STAGE, function_statements, resources


def status_dead_letters(template: dict[str, Any]) -> str:
    [name] = [
        name
        for name, queue in resources(template, "AWS::SQS::Queue").items()
        if queue["Properties"]["QueueName"] == f"omnijourney-{STAGE}-journey-status-dlq"
    ]
    return name


def journey_step(template: dict[str, Any]) -> str:
    [name] = [
        name
        for name, function in resources(template, "AWS::Lambda::Function").items()
        if function["Properties"].get("FunctionName") == f"omnijourney-{STAGE}-journey-step"
    ]
    return name


def test_a_status_change_the_function_keeps_failing_lands_in_the_status_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    dead_letters = status_dead_letters(template)
    [config] = [
        config["Properties"]
        for config in resources(template, "AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": journey_step(template)}
    ]
    assert config["DestinationConfig"]["OnFailure"] == {"Destination": {"Fn::GetAtt": [dead_letters, "Arn"]}}
    assert config["MaximumRetryAttempts"] == 2
    # The function's role sends it there (Lambda uses it for destinations), and an alarm says it did.
    sending = [
        statement["Resource"]
        for statement in function_statements(template, "journey-step")
        if "sqs:SendMessage" in statement["Action"]
    ]
    assert sending == [{"Fn::GetAtt": [dead_letters, "Arn"]}]
    alarmed = [
        alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}
        in alarm["Properties"]["Dimensions"]
    ]
    assert len(alarmed) == 1
    assert alarmed[0]["AlarmActions"]
