"""Sends no provider confirmed page someone (docs/operations.md, "Sends")."""

from __future__ import annotations

from typing import Any

from tests.infra.synthesized import resources


def test_sends_left_unconfirmed_for_an_hour_raise_an_alarm(template: dict[str, Any]) -> None:
    [alarm] = [
        body["Properties"]
        for body in resources(template, "AWS::CloudWatch::Alarm").values()
        if body["Properties"].get("MetricName") == "MessagesUnreconciled"
    ]
    # What functions/journey_schedule publishes through Powertools Metrics: namespace and service dimension.
    assert alarm["Namespace"] == "omnijourney"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "omnijourney"}]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 3600
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["AlarmActions"]


def test_ses_publishes_the_send_records_that_confirm_pending_entries(template: dict[str, Any]) -> None:
    [destination] = [
        body["Properties"]["EventDestination"]
        for body in resources(template, "AWS::SES::ConfigurationSetEventDestination").values()
    ]
    assert "send" in destination["MatchingEventTypes"]
