"""One Standard state machine per journeys/*.yaml, compiled at synth time, and what drives them."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.functions import encrypted_log_group
from infra.pipeline import encrypted_queue
from infra.settings import DeploySettings
from omnijourney.app import config
from omnijourney.journeys.catalog import JourneySet
from omnijourney.journeys.compiler import STEP_FUNCTION, compile_journey
from omnijourney.journeys.segments import segments
from omnijourney.runtime.steps import FINAL_STATUSES

# The compiler leaves the step function's ARN as a substitution; CloudFormation fills it in.
STEP_FUNCTION_SUBSTITUTION = STEP_FUNCTION.removeprefix("${").removesuffix("}")


class Journeys(Construct):
    def __init__(
        self,
        scope: Construct,
        name: str,
        *,
        settings: DeploySettings,
        journeys: JourneySet,
        step_function: lambda_.IFunction,
        schedule_function: lambda_.IFunction,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, name)
        logs_group = encrypted_log_group(
            self,
            "ExecutionLogs",
            settings=settings,
            key=key,
            log_group_name=f"/aws/vendedlogs/states/{settings.prefix}-journeys",
        )
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for journey_name, journey in sorted(journeys.journeys.items()):
            machine = sfn.StateMachine(
                self,
                journey_name,
                state_machine_name=f"{settings.prefix}-{journey_name}",
                state_machine_type=sfn.StateMachineType.STANDARD,
                definition_body=sfn.DefinitionBody.from_string(json.dumps(compile_journey(journey))),
                definition_substitutions={STEP_FUNCTION_SUBSTITUTION: step_function.function_arn},
                # Execution data holds customers' ids and carts: it stays out of the logs.
                logs=sfn.LogOptions(destination=logs_group, level=sfn.LogLevel.ALL, include_execution_data=False),
                tracing_enabled=True,
            )
            step_function.grant_invoke(machine)
            self.state_machines[journey_name] = machine
        # How runs end (completed, holdout, failed) reaches the journey-step function; what it cannot
        # take after retries waits in a queue of its own (not the events DLQ, whose redrive feeds profiles).
        self.status_dead_letters = encrypted_queue(
            self, "StatusChangeDeadLetters", f"{settings.prefix}-journey-status-dlq", key
        )
        key.grant_encrypt_decrypt(iam.ServicePrincipal("events.amazonaws.com"))
        events.Rule(
            self,
            "ExecutionsEnd",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": ["SUCCEEDED", *FINAL_STATUSES],
                    "stateMachineArn": [machine.state_machine_arn for machine in self.state_machines.values()],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    step_function,
                    dead_letter_queue=self.status_dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        # EventBridge's retries and DLQ cover handing the event to Lambda; once Lambda took it (an asynchronous
        # invocation), Lambda's own retries decide, and past them it would drop the event and the run's `run_ended`
        # fact with it. What the function still fails goes to the same queue instead (an invocation record: the
        # status change is its `requestPayload`). Step Functions' Tasks invoke synchronously and are not affected.
        step_function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.status_dead_letters),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
        )
        self.schedule_dead_letters: sqs.Queue | None = None
        self._schedules(settings, journeys, schedule_function, key)

    def _schedules(
        self, settings: DeploySettings, journeys: JourneySet, schedule_function: lambda_.IFunction, key: kms.IKey
    ) -> None:
        scheduled = {name: journey for name, journey in journeys.journeys.items() if journey.entry.schedule}
        daily_segments = bool(segments().timed)
        if not scheduled and not daily_segments:
            return
        role = iam.Role(self, "SchedulerRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        schedule_function.grant_invoke(role)
        # A firing the function still failed after the retries waits here (alarmed); the scheduler sends it with the
        # schedule's role.
        self.schedule_dead_letters = encrypted_queue(
            self, "ScheduleDeadLetters", f"{settings.prefix}-schedule-dlq", key
        )
        self.schedule_dead_letters.grant_send_messages(role)
        dead_letters = scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.schedule_dead_letters.queue_arn)
        if daily_segments:
            # Every hour: each run evaluates the customers whose local midnight passed since their last evaluation,
            # so every timezone (Auckland's +13, Kathmandu's +5:45) has its day within the hour.
            scheduler.CfnSchedule(
                self,
                "DailySegmentsSchedule",
                name=f"{settings.prefix}-daily-segments",
                schedule_expression="rate(1 hour)",
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=schedule_function.function_arn,
                    role_arn=role.role_arn,
                    input=json.dumps({"segments": "daily"}),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3),
                    dead_letter_config=dead_letters,
                ),
            )
        for name, journey in sorted(scheduled.items()):
            scheduler.CfnSchedule(
                self,
                f"{name}Schedule",
                name=f"{settings.prefix}-{name}",
                schedule_expression=str(journey.entry.schedule),
                # The shop's time: `cron(0 9 1 * ? *)` means 09:00 where the shop is, summer and winter.
                schedule_expression_timezone=config.consistency().quiet_hours.default_timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=schedule_function.function_arn,
                    role_arn=role.role_arn,
                    input=json.dumps({"journey": name}),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3),
                    dead_letter_config=dead_letters,
                ),
            )
