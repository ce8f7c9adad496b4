"""The local backend with faults armed while the functions run, and each caller retrying as it does on AWS.

- ingest: a 5xx (or a function error, which API Gateway answers 500) has the vendor deliver the same webhook again,
  until it is accepted; the profile API's callers (a store's POS, erasure) ask again the same way.
- profile: the event source mapping leaves failed records on the queue and receives them again, five times at most,
  then SQS moves them to the DLQ (LocalBackend.drain); a crashed invocation fails its whole batch.
- journey-step Tasks: Step Functions retries per the state machine's Retry (moto runs it, on the virtual clock);
  a crash is reported as Lambda reports a killed sandbox, `Sandbox.Timedout`.
- status changes and schedules: EventBridge and EventBridge Scheduler invoke again until the function succeeds.

SQS redelivers a failed record once its visibility timeout, at least the function's timeout, has passed; the
harness receives it again at once, so the function's context says its time is up: an in-progress idempotency record
a crash left behind has expired by then on AWS, and does here too.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import ExitStack
from datetime import datetime
from typing import Any
from unittest import mock

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from omnijourney.platform import aws
from omnijourney.platform.tables import connection
from omnijourney_tools.chaos.crashes import Crash, Crashes, CrashPoint
from omnijourney_tools.chaos.faults import FaultInjector, FaultPlan
from omnijourney_tools.local import LambdaContext, LocalBackend

# Every service the functions call, through the factory in omnijourney.platform.aws.
FUNCTION_SERVICES = ("dynamodb", "sqs", "sns", "s3", "ssm", "sesv2", "stepfunctions", "firehose")
# A caller that retries until the call succeeds still gives up somewhere: past this, the work counts as lost.
MAX_CALLER_ATTEMPTS = 25
STATUS_CHANGE = "Step Functions Execution Status Change"
# Who retries each function's failed invocations until they succeed, as the tally names them.
RETRIED_BY = {
    "ingest": "vendor redelivery",
    "profile_api": "client asks again",
    "journey_schedule": "scheduler retry",
    "status_change": "EventBridge retry",
}
SQS_REDELIVERY = "SQS redelivery"
TASK_RETRY = "Step Functions Retry"

# What Lambda reports to Step Functions for a sandbox that died (the name Step Functions matches on).
SandboxTimedOut = type("Sandbox.Timedout", (Exception,), {"__doc__": "The function's sandbox died mid-invocation."})


class ChaosBackend(LocalBackend):
    """LocalBackend under a fault plan and crash points. Counted by retrier: `failures` (invocations or records that
    failed, each retried unless given up), `recoveries` (units of work that failed and later succeeded), and
    `unrecovered()` (those that never did: a record in the DLQ, a Task its Catch took)."""

    def __init__(
        self,
        plan: FaultPlan,
        crash_points: tuple[CrashPoint, ...] = (),
        stage: str = "chaos",
        start: datetime | None = None,
    ) -> None:
        super().__init__(stage=stage, start=start)
        self.faults = FaultInjector(plan)
        self.crashes = Crashes(crash_points)
        self.failures: Counter[str] = Counter()
        self.recoveries: Counter[str] = Counter()
        self._failing: dict[str, str] = {}  # unit of work that failed and is not done yet → its retrier
        self._chaos = ExitStack()
        clients = [aws.client(service) for service in FUNCTION_SERVICES] + [connection().client]
        self._chaos.enter_context(self.faults.installed(clients))
        self._chaos.enter_context(self.crashes.installed(self.handler("profile")))
        self._chaos.enter_context(mock.patch.object(LambdaContext, "get_remaining_time_in_millis", return_value=0))

    def stop(self) -> None:
        self._chaos.close()
        super().stop()

    def unrecovered(self) -> Counter[str]:
        return Counter(self._failing.values())

    def call_function(self, function: str, event: dict[str, Any]) -> Any:
        caller = "status_change" if event.get("detail-type") == STATUS_CHANGE else function
        retrier = RETRIED_BY.get(caller)
        if retrier is None:
            return self._invoke(function, event)
        unit = f"{caller}:{json.dumps(event, sort_keys=True, default=str)}"
        for _ in range(MAX_CALLER_ATTEMPTS):
            try:
                answer = self._invoke(function, event)
            except Exception:  # noqa: BLE001 - a function error: the caller sees a failure, whatever it was
                answer = None
            if answer is not None and int(answer.get("statusCode", 200)) < 500:
                self._done(unit)
                return answer
            self._failed(unit, retrier)
        raise RuntimeError(f"{retrier} gave up after {MAX_CALLER_ATTEMPTS} attempts ({function})")

    def journey_step(self, event: dict[str, Any]) -> Any:
        """A Task's failure goes back to Step Functions, whose Retry decides; status changes come from EventBridge."""
        if event.get("detail-type") == STATUS_CHANGE:
            return self.call_function("journey_step", event)
        unit = f"task:{json.dumps(event, sort_keys=True, default=str)}"
        try:
            answer = self._invoke("journey_step", event)
        except Exception:
            self._failed(unit, TASK_RETRY)
            raise
        self._done(unit)
        return answer

    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        """One invocation with faults armed; a crash as Lambda reports it to the function's caller."""
        records = [record["messageId"] for record in event.get("Records", [])] if function == "profile" else []
        try:
            with self.faults.armed():
                answer = super().call_function(function, event)
        except Crash as crash:
            if function != "profile":
                raise SandboxTimedOut(str(crash)) from None
            # The invocation failed: every record of the batch is received again.
            self._records_failed(records)
            raise BatchProcessingError(f"the sandbox died: {crash}", []) from None
        except BatchProcessingError:  # every record failed
            self._records_failed(records)
            raise
        if records:
            failed = {failure["itemIdentifier"] for failure in answer.get("batchItemFailures", [])}
            self._records_failed([record for record in records if record in failed])
            for record in records:
                if record not in failed:
                    self._done(f"record:{record}")
        return answer

    def _records_failed(self, records: list[str]) -> None:
        for record in records:
            self._failed(f"record:{record}", SQS_REDELIVERY)

    def _failed(self, unit: str, retrier: str) -> None:
        self._failing[unit] = retrier
        self.failures[retrier] += 1

    def _done(self, unit: str) -> None:
        retrier = self._failing.pop(unit, None)
        if retrier is not None:
            self.recoveries[retrier] += 1
