"""What each function does on AWS, recorded from its botocore clients: the proof of its IAM policy.

`RecordingBackend` is the local backend with a hook on every client the functions use (botocore's
`before-parameter-build`, once per API call, retries aside): each call becomes the IAM action it needs and the
resource it names, charged to the function running at the time. tests/infra/test_least_privilege.py compares what
was recorded with each function's synthesized policy.

A resource is named as the stack names it, without the stage: `table/profiles`, `table/identities/index/by-customer`,
`queue/events`, `bucket/quarantine` (the bucket: listing its versions) or `bucket/quarantine/<key>` (an object),
`parameter/<secrets prefix>/<source>`, `stateMachine/<journey>`, `execution/<journey>`, `identity/<address>`,
`configuration-set/<name>`, `deliverystream/facts`, `workgroup/<name>`; `*` for an action that names none (SMS to a
phone number, SendTaskSuccess).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from omnijourney.platform import aws
from omnijourney.platform.tables import connection
from omnijourney_tools.local import LocalBackend
from omnijourney_tools.local.hooks import hooked

# Every service the functions call, through omnijourney.platform.aws (pynamodb's client is added apart).
FUNCTION_SERVICES = ("dynamodb", "sqs", "sns", "s3", "ssm", "sesv2", "stepfunctions", "firehose", "athena")
# botocore's service names that are not IAM's prefixes.
IAM_PREFIX = {"sesv2": "ses", "stepfunctions": "states"}
# Operations whose IAM action has another name (a batch is authorised as its single action).
IAM_ACTION = {
    "s3.ListObjectsV2": "ListBucket",
    "s3.ListObjects": "ListBucket",
    "s3.ListObjectVersions": "ListBucketVersions",
    "s3.HeadObject": "GetObject",
    "sqs.SendMessageBatch": "SendMessage",
    "sqs.DeleteMessageBatch": "DeleteMessage",
}
# A versioned object's own action: reading or deleting one version is authorised apart from the object.
VERSIONED_ACTION = {
    "GetObject": "GetObjectVersion",
    "HeadObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
}
TRANSACT_ACTION = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def resource_name(arn: str, stage: str) -> str:
    """What an ARN names, as the recorder writes it: `table/profiles/index/by-customer`, `bucket/quarantine/<key>`,
    `execution/<journey>`, `endpoint/GCM/<app>/<id>`; `*` stays `*`, and so does anything that is not an ARN."""
    if not arn.startswith("arn:"):
        return arn
    service, resource = arn.split(":", 5)[2::3]
    prefix = f"omnijourney-{stage}-"
    if service in ("s3", "sqs") or (service == "sns" and "/" not in resource):
        kind, name = {"s3": "bucket", "sqs": "queue", "sns": "topic"}[service], resource
    elif service == "states":
        kind, name = resource.split(":", 2)[:2]  # an execution's own name is made at run time: its journey names it
    else:
        kind, _, name = resource.partition("/")
    return f"{kind}/{name.removeprefix(prefix)}"


@dataclass(frozen=True, order=True)
class Call:
    """One permission a function used: the IAM action and the resource it named."""

    function: str
    action: str
    resource: str


class CallRecorder:
    """botocore hooks that turn every API call into the `Call`s it needs, charged to the function running then."""

    def __init__(self, stage: str) -> None:
        self._stage = stage
        self._prefix = f"omnijourney-{stage}-"
        self._running = threading.local()  # moto may run a state machine's Task on a thread of its own
        self.calls: set[Call] = set()
        self._query_workgroups: dict[str, str] = {}  # Athena names a query by its id, authorised on its workgroup

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        stack: list[str] = self._running.__dict__.setdefault("stack", [])
        stack.append(function)
        try:
            yield
        finally:
            stack.pop()

    def installed(self, clients: list[Any]) -> AbstractContextManager[None]:
        return hooked(
            clients,
            {"before-parameter-build": self._record, "after-call.athena.StartQueryExecution": self._query_started},
        )

    def _query_started(self, parsed: Mapping[str, Any], context: Mapping[str, Any], **_: Any) -> None:
        if "workgroup" in context:
            self._query_workgroups[parsed["QueryExecutionId"]] = context["workgroup"]

    def _record(self, model: Any, params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        if model.name == "StartQueryExecution":
            context["workgroup"] = params.get("WorkGroup", "primary")
        stack: list[str] = self._running.__dict__.get("stack", [])
        if not stack:  # the backend's own calls: Lambda's event source mapping, SES publishing to SNS
            return
        service = model.service_model.service_name
        for action, resource in self._permissions(service, model.name, params):
            self.calls.add(Call(stack[-1], f"{IAM_PREFIX.get(service, service)}:{action}", resource))

    def _permissions(self, service: str, operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        action = IAM_ACTION.get(f"{service}.{operation}", operation)
        if service == "dynamodb":
            return self._dynamodb(action, params)
        if service == "s3":
            return self._s3(action, params)
        if service == "sesv2":
            return self._ses(action, params)
        if service == "sqs":
            resource = f"queue/{self._short(urlparse(params['QueueUrl']).path.rsplit('/', 1)[-1])}"
        elif service == "sns":
            # A phone number is no resource IAM can name (the adapter sends SMS to it directly).
            resource = (
                "*"
                if "PhoneNumber" in params
                else resource_name(params.get("TargetArn") or params["TopicArn"], self._stage)
            )
        elif service == "ssm":
            resource = f"parameter{params['Name']}"
        elif service == "stepfunctions":
            # Task tokens name no resource.
            resource = (
                "*"
                if "taskToken" in params
                else resource_name(params.get("stateMachineArn") or params["executionArn"], self._stage)
            )
        elif service == "firehose":
            resource = f"deliverystream/{self._short(params['DeliveryStreamName'])}"
        else:  # athena: a query is authorised on the workgroup it runs in
            workgroup = params.get("WorkGroup") or self._query_workgroups[params["QueryExecutionId"]]
            resource = f"workgroup/{self._short(workgroup)}"
        return [(action, resource)]

    def _short(self, name: str) -> str:
        return name.removeprefix(self._prefix)

    def _table(self, params: Mapping[str, Any]) -> str:
        # The stack names a table by its setting with hyphens (infra/store.py), the local backend with underscores.
        table = f"table/{self._short(params['TableName']).replace('_', '-')}"
        return f"{table}/index/{params['IndexName']}" if params.get("IndexName") else table

    def _dynamodb(self, action: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if action in ("BatchGetItem", "BatchWriteItem"):
            return [(action, self._table({"TableName": table})) for table in params["RequestItems"]]
        if action == "TransactWriteItems":
            return [
                (TRANSACT_ACTION[kind], self._table(item))
                for transaction in params["TransactItems"]
                for kind, item in transaction.items()
            ]
        return [(action, self._table(params))]

    def _s3(self, action: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        bucket = f"bucket/{self._short(params['Bucket'])}"
        if action == "DeleteObjects":
            return [
                ("DeleteObjectVersion" if item.get("VersionId") else "DeleteObject", f"{bucket}/{item['Key']}")
                for item in params["Delete"]["Objects"]
            ]
        if "Key" not in params:
            return [(action, bucket)]
        versioned = VERSIONED_ACTION.get(action) if params.get("VersionId") else None
        return [(versioned or action, f"{bucket}/{params['Key']}")]

    def _ses(self, action: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        sender = str(params.get("FromEmailAddress", "")).rsplit("<", 1)[-1].rstrip(">")
        resources = [f"identity/{sender}"]
        if params.get("ConfigurationSetName"):
            resources.append(f"configuration-set/{self._short(params['ConfigurationSetName'])}")
        return [(action, resource) for resource in resources]


class RecordingBackend(LocalBackend):
    """The local backend recording each function's AWS calls in `recorder.calls`."""

    def __init__(self, stage: str = "local", start: datetime | None = None) -> None:
        super().__init__(stage=stage, start=start)
        self.recorder = CallRecorder(stage)
        self._recording = ExitStack()
        clients = [aws.client(service) for service in FUNCTION_SERVICES] + [connection().client]
        self._recording.enter_context(self.recorder.installed(clients))

    def call_function(self, function: str, event: dict[str, Any]) -> Any:
        with self.recorder.running(function):
            return super().call_function(function, event)

    def stop(self) -> None:
        self._recording.close()
        super().stop()
