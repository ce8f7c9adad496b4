"""Journey → Amazon States Language (JSONPath), one Standard state machine per journey.

Every decision that needs the live profile runs in the journey-step function (a Task), so the
consistency guards run at every send; Step Functions only waits, routes and retries. Each step
costs as few state transitions as it can (Standard workflows are priced per transition).
"""

from __future__ import annotations

from typing import Any

from omnijourney.journeys.contract import (
    AwaitTask,
    BranchTask,
    PlanWaitTask,
    RecordFailureTask,
    SendTask,
    SplitTask,
    TaskInput,
    UpdateProfileTask,
)
from omnijourney.journeys.language import Journey, Step

STEP_FUNCTION = "${JourneyStepFunctionArn}"
INVOKE = "arn:aws:states:::lambda:invoke"
INVOKE_AND_WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"
# Step ids are lower_snake_case, so these never collide with a step's state.
COMPLETED, GOAL, EXITED, HOLDOUT, FAILED, RECORD_FAILURE = (
    "Completed",
    "GoalReached",
    "Exited",
    "Holdout",
    "Failed",
    "RecordFailure",
)
OUTCOMES = {COMPLETED: "completed", GOAL: "goal", EXITED: "exited", HOLDOUT: "holdout"}
RETRY = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            # The function timed out or its sandbox died: every Task finds what an earlier attempt did (a send its
            # ledger entry), so trying again is safe, and failing the journey for it would lose the rest of it.
            "Sandbox.Timedout",
            "Retryable",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 5,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL",
    }
]
CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RECORD_FAILURE}]


class Compiler:
    def __init__(self, journey: Journey, function_arn: str = STEP_FUNCTION) -> None:
        self.journey = journey
        self.function_arn = function_arn
        self.states: dict[str, dict[str, Any]] = {}

    def task(self, step: Step, task: type[TaskInput], next_state: str, **payload: Any) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {"FunctionName": self.function_arn, "Payload": self.payload(step, task, **payload)},
            "ResultSelector": {"result.$": "$.Payload"},
            "ResultPath": "$.last",
            "Retry": RETRY,
            "Catch": CATCH_ALL,
            "Next": next_state,
        }

    def payload(self, step: Step | None, task: type[TaskInput], **fields: Any) -> dict[str, Any]:
        """A Task's Payload, as the contract's model for it accepts once Step Functions fills in its paths."""
        return task.compiled(self.journey.journey, step.id if step else None, **fields)

    def to(self, target: str) -> str:
        """`target` as a Next: an outcome's terminal state is added the first time something goes there."""
        if target in OUTCOMES and target not in self.states:
            self.states[target] = {
                "Type": "Pass",
                "Result": {"outcome": OUTCOMES[target]},
                "ResultPath": "$.outcome",
                "End": True,
            }
        return target

    def compile(self) -> dict[str, Any]:
        steps = self.journey.steps
        for index, step in enumerate(steps):
            following = steps[index + 1].id if index + 1 < len(steps) else COMPLETED
            self.step(step, step.next or following)
        self.states[RECORD_FAILURE] = {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {
                "FunctionName": self.function_arn,
                "Payload": self.payload(None, RecordFailureTask),
            },
            "ResultPath": None,
            "Retry": RETRY,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": FAILED}],
            "Next": FAILED,
        }
        self.states[FAILED] = {"Type": "Fail", "Error": "JourneyStepFailed", "Cause": "a journey step kept failing"}
        return {
            "Comment": f"omnijourney journey {self.journey.journey}: {self.journey.description}".strip(": "),
            "QueryLanguage": "JSONPath",
            "StartAt": steps[0].id,
            "TimeoutSeconds": 366 * 86_400,
            "States": self.states,
        }

    def step(self, step: Step, next_state: str) -> None:
        """The states of one step; `next_state` is where it goes when it is done."""
        name = step.id
        if step.wait is not None:
            if step.wait.until is None:
                self.states[name] = {"Type": "Wait", "Seconds": step.wait.seconds, "Next": self.to(next_state)}
                return
            same_day = {"same_day": True} if step.wait.same_day else {}
            self.states[name] = self.task(
                step, PlanWaitTask, f"{name}.wait", until=step.wait.until, days=step.wait.days, **same_day
            )
            self.states[f"{name}.wait"] = {
                "Type": "Wait",
                "SecondsPath": "$.last.result.seconds",
                "Next": self.to(next_state),
            }
        elif step.send is not None:
            send = step.send.model_dump(mode="json")
            policy = self.journey.policy.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
            # The contract adds the visit: the state's EnteredTime, the same on every retry, new on every visit.
            self.states[name] = self.task(step, SendTask, f"{name}.route", send=send, policy=policy)
            self.states[f"{name}.route"] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.last.result.outcome", "StringEquals": "deferred", "Next": f"{name}.defer"},
                    {"Variable": "$.last.result.outcome", "StringEquals": "goal", "Next": self.to(GOAL)},
                    {"Variable": "$.last.result.outcome", "StringEquals": "exited", "Next": self.to(EXITED)},
                ],
                "Default": self.to(next_state),
            }
            self.states[f"{name}.defer"] = {"Type": "Wait", "SecondsPath": "$.last.result.defer_seconds", "Next": name}
        elif step.wait_for is not None:
            wait_for = step.wait_for
            awaited = wait_for.model_dump(mode="json", include={"event", "name", "where"}, exclude_none=True)
            self.states[name] = {
                "Type": "Task",
                "Resource": INVOKE_AND_WAIT,
                "Parameters": {
                    "FunctionName": self.function_arn,
                    "Payload": self.payload(step, AwaitTask, awaited=awaited),
                },
                "TimeoutSeconds": wait_for.timeout.seconds,
                "ResultPath": "$.last",
                "Retry": RETRY,
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timed_out", "Next": wait_for.on_timeout},
                    *CATCH_ALL,
                ],
                "Next": wait_for.on_event or self.to(next_state),
            }
        elif step.branch is not None:
            cases = [case.when.model_dump(mode="json", exclude_none=True) for case in step.branch.cases]
            self.states[name] = self.task(step, BranchTask, f"{name}.route", cases=cases)
            self.states[f"{name}.route"] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.last.result.case", "NumericEquals": n, "Next": case.goto}
                    for n, case in enumerate(step.branch.cases)
                ],
                "Default": step.branch.otherwise,
            }
        elif step.split is not None:
            groups = [group.model_dump(mode="json", exclude_none=True) for group in step.split]
            targets = [group.goto or self.to(HOLDOUT) for group in step.split]
            self.states[name] = self.task(step, SplitTask, f"{name}.route", groups=groups)
            # The step function always answers a group's index; the first group is the Choice's Default.
            self.states[f"{name}.route"] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.last.result.group", "NumericEquals": n, "Next": target}
                    for n, target in enumerate(targets)
                    if n
                ],
                "Default": targets[0],
            }
        elif step.update_profile is not None:
            update = step.update_profile.model_dump(mode="json")
            self.states[name] = self.task(step, UpdateProfileTask, self.to(next_state), update=update)
        else:
            self.states[name] = {
                "Type": "Pass",
                "Result": {"outcome": "exited", "reason": step.exit},
                "ResultPath": "$.outcome",
                "End": True,
            }


def compile_journey(journey: Journey, function_arn: str = STEP_FUNCTION) -> dict[str, Any]:
    return Compiler(journey, function_arn).compile()
