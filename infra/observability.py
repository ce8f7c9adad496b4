"""Alarms on anything that can lose or delay a customer's event, and one dashboard of the figures that matter."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.settings import DeploySettings

NAMESPACE = "omnijourney"
# What the daily consistency audit publishes (functions/analytics_audit), 1.0 when no message broke a rule.
CONSISTENCY_SCORE = "ConsistencyScore"
# What the hourly schedule publishes (functions/journey_schedule): sends no provider confirmed.
UNRECONCILED = "MessagesUnreconciled"


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        name: str,
        *,
        settings: DeploySettings,
        key: kms.IKey,
        queue: sqs.IQueue,
        dead_letter_queues: list[sqs.IQueue],
        functions: dict[str, lambda_.IFunction],
        state_machines: dict[str, sfn.StateMachine],
    ) -> None:
        super().__init__(scope, name)
        self.topic = sns.Topic(self, "Alarms", topic_name=f"{settings.prefix}-alarms", master_key=key, enforce_ssl=True)
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        notify = actions.SnsAction(self.topic)
        alarms: list[cloudwatch.Alarm] = []

        def alarm(
            alarm_id: str,
            metric: cloudwatch.Metric,
            threshold: float,
            description: str,
            comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        ) -> None:
            created = metric.create_alarm(
                self,
                alarm_id,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=comparison,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(notify)
            alarms.append(created)

        for dead_letters in dead_letter_queues:
            alarm(
                f"{dead_letters.node.id}Depth",
                dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
                0,
                "Events could not be processed and wait in a dead-letter queue: see docs/operations.md to redrive.",
            )
        alarm(
            "EventsDelayed",
            queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(5)),
            300,
            "Events wait more than 5 minutes for the profile function: profiles and journeys lag behind.",
        )
        for function_name, function in sorted(functions.items()):
            alarm(
                f"{function_name}Errors",
                function.metric_errors(period=Duration.minutes(5)),
                0 if settings.production else 5,
                f"The {function_name} function fails.",
            )
        for journey, machine in sorted(state_machines.items()):
            alarm(
                f"{journey}Failed",
                machine.metric_failed(period=Duration.minutes(15)),
                0,
                f"Runs of the {journey} journey fail: each is in the journey-runs table as failed, with its error.",
            )
        # The daily consistency audit (functions/analytics_audit): a guard bug becomes a page, not a surprise. A day
        # without an audit is not a breach here; the audit function's own error alarm tells of it.
        alarm(
            "ConsistencyBelowOne",
            _metric(CONSISTENCY_SCORE, statistic="Minimum", period=Duration.days(1)),
            1.0,
            "Yesterday's messages broke a consistency rule (docs/metrics.md): the audit function's log counts them by "
            "rule; docs/deploy.md shows how to list them in Athena.",
            cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        )
        # The hourly schedule counts the sends of an hour that no provider confirmed (runtime.ledger.newly_unconfirmed):
        # each may or may not have reached its customer, and the profile lists it for staff.
        alarm(
            "MessagesUnreconciled",
            _metric(UNRECONCILED, period=Duration.hours(1)),
            0,
            'Sends stayed pending: no provider confirmed them within 30 minutes (docs/operations.md, "Sends"). '
            "Each is on its customer's profile under pending_messages.",
        )
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{settings.prefix}")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Events accepted and rejected",
                left=[_metric("EventsAccepted")],
                right=[_metric(f"DeliveriesRejected{status}") for status in (400, 401, 404, 413, 503)],
            ),
            cloudwatch.GraphWidget(
                title="Messages sent, suppressed, deferred",
                left=[_metric("MessagesSent"), _metric("MessagesSuppressed"), _metric("MessagesDeferred")],
            ),
            cloudwatch.GraphWidget(
                title="Queue backlog (oldest message, s)",
                left=[queue.metric_approximate_age_of_oldest_message()],
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Journey runs started and failed",
                left=[machine.metric_started() for machine in state_machines.values()],
                right=[machine.metric_failed() for machine in state_machines.values()],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=12),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Consistency score (daily audit) and violations",
                left=[_metric(CONSISTENCY_SCORE, statistic="Minimum", period=Duration.days(1))],
                right=[_metric("ConsistencyViolations", period=Duration.days(1))],
            )
        )


def _metric(name: str, *, statistic: str = "Sum", period: Duration | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": "omnijourney"},
        statistic=statistic,
        period=period or Duration.minutes(5),
    )
