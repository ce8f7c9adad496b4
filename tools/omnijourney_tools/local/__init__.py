"""The whole backend on moto, in this process: tables from the models, queues, bucket, topic, secrets, and the
outbound channels' far ends (a webhook receiver and HubSpot, local/webhook_receiver.py).

Used by `omnijourney simulate`, `serve`, the demo and the tests, so they all run the same handlers the same way.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import sys
import uuid
import warnings
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from omnijourney.analytics import stream
from omnijourney.app import config
from omnijourney.app import profile_updates as pipeline
from omnijourney.app.storage import TTL_ATTRIBUTES, table_models
from omnijourney.channels import targets
from omnijourney.edge import ingest
from omnijourney.edge.sources import WEBHOOK_SOURCE_NAMES
from omnijourney.journeys.compiler import compile_journey
from omnijourney.platform import aws
from omnijourney.platform.settings import MAX_RECEIVE_COUNT, get_settings
from omnijourney_tools.local import webhook_receiver
from omnijourney_tools.local.hubspot import LocalHubSpot
from omnijourney_tools.local.lambdas import route_lambdas
from omnijourney_tools.local.moto_shortcuts import moto_shortcuts
from omnijourney_tools.local.ses_events import SEND, SendRecords
from omnijourney_tools.local.virtual_time import VirtualClock
from omnijourney_tools.stage_queue import events_queue_name

REGION = "us-east-1"
ACCOUNT = "123456789012"
LOCAL_HOST = "omnijourney.local"
# Secrets the local backend is configured with; the simulator signs deliveries with them. SES has none:
# it does not arrive as a webhook.
LOCAL_SECRETS = {name: f"local-{name}-secret" for name in WEBHOOK_SOURCE_NAMES}
FACTS_PREFIX = "firehose/"
RECEIVE_BATCH_SIZE = 10  # the most SQS returns per receive, as Lambda's event source mapping asks by default
FUNCTIONS_DIR = Path(__file__).resolve().parents[3] / "functions"
MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
    "core": {"reset_boto3_session": False},
}


def _json_text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _empty_zip() -> bytes:
    """moto wants code for a function; the in-process handlers answer instead."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


class _CurrentStdout:
    """sys.stdout as it is when a line is written. Powertools' logger keeps the stream of the first Logger made in
    the process, and a process that runs many backends (the tests, the studio) may since have swapped sys.stdout for
    another and closed it: each line would then fail, and logging prints the failure with the exception being
    handled, whose message may quote what a customer sent."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def load_handler(name: str) -> ModuleType:
    """functions/<name>/handler.py as a module (the functions are not a package, as in Lambda)."""
    module_name = f"omnijourney_function_{name}"
    spec = importlib.util.spec_from_file_location(module_name, FUNCTIONS_DIR / name / "handler.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(FUNCTIONS_DIR / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    logger = getattr(module, "logger", None)
    if isinstance(logger, Logger) and isinstance(logger.registered_handler, logging.StreamHandler):
        logger.registered_handler.setStream(_CurrentStdout())
    return module


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def http_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    query: Mapping[str, str] | None = None,
    host: str = LOCAL_HOST,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as Lambda receives it."""
    text_body = True
    try:
        body.decode()
    except UnicodeDecodeError:
        text_body = False
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {key.lower(): value for key, value in (headers or {}).items()} | {"host": host},
        "queryStringParameters": dict(query) if query else None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": host,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "local",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": body.decode() if text_body else base64.b64encode(body).decode(),
        "isBase64Encoded": not text_body,
    }


class LocalBackend:
    """moto started and provisioned; `stop()` ends it. Environment variables point the settings at it.

    Journeys run on moto's Step Functions executor on a virtual clock that starts at `start` (default: now)
    and moves only when told (`clock.advance_to`); their Lambda tasks are answered by the journey-step
    handler in this process, and moto takes the shortcuts of local/moto_shortcuts.py (same answers, less work).
    Their webhooks go to `webhook_receiver` and their sales tasks to `hubspot`, in process: nothing is dialled, and
    retries wait on no clock, so a run stays deterministic.
    """

    def __init__(self, stage: str = "local", start: datetime | None = None) -> None:
        from moto import mock_aws

        self._saved_env = dict(os.environ)
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "POWERTOOLS_SERVICE_NAME": "omnijourney",
                "POWERTOOLS_METRICS_NAMESPACE": "omnijourney",
                # Locally, metrics would only be EMF lines on stdout.
                "POWERTOOLS_METRICS_DISABLED": "true",
                # No X-Ray daemon listens locally (Powertools also turns tracing off outside Lambda).
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR"),
                "OMNIJOURNEY_STAGE": stage,
            }
        )
        # The functions' logger keeps the level of the first backend in the process (Powertools sets it once):
        # this backend's, as each Lambda reads it.
        logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"]).setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
        # moto logs every error a state raises, even one the state machine catches (a wait_for timing out
        # is the journey's normal path); failures that matter end the execution and reach the ledger.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        self._forget_clients()
        self.stage = stage
        self._provision(stage)
        self._handlers: dict[str, ModuleType] = {}
        # Executions that were running when status_changes() last looked, and how many of each machine's it saw.
        self._running: list[Any] = []
        self._executions_seen: dict[str, int] = {}
        self.state_machines = self._provision_journeys(stage)
        self._installed = ExitStack()
        self.clock = self._installed.enter_context(VirtualClock(start or datetime.now(UTC).replace(microsecond=0)))
        self._installed.enter_context(route_lambdas({self.journey_step_function: self.journey_step}))
        self._installed.enter_context(moto_shortcuts())
        self.send_records = SendRecords()
        self._installed.enter_context(self.send_records.installed())
        self.webhook_receiver = webhook_receiver.WebhookReceiver()
        self.hubspot = LocalHubSpot()
        webhook_receiver.install(self.webhook_receiver, self.hubspot)
        self._installed.callback(webhook_receiver.uninstall)
        self._installed.enter_context(warnings.catch_warnings())
        # Flushing disabled metrics, Powertools warns that there are none, at every invocation that added none.
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)

    def _provision(self, stage: str) -> None:

        models = table_models()
        names = {setting: f"omnijourney-{stage}-{setting.removesuffix('_table')}" for setting in models}
        for setting, name in names.items():
            os.environ[f"OMNIJOURNEY_{setting.upper()}"] = name
        sqs = aws.client("sqs")
        dlq_url = sqs.create_queue(QueueName=f"{events_queue_name(stage)}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
        self.queue_url = sqs.create_queue(QueueName=events_queue_name(stage), Attributes={"RedrivePolicy": redrive})[
            "QueueUrl"
        ]
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.dlq_url = dlq_url
        sns = aws.client("sns")
        self.ses_topic_arn = sns.create_topic(Name=f"omnijourney-{stage}-ses-events")["TopicArn"]
        sns.subscribe(TopicArn=self.ses_topic_arn, Protocol="sqs", Endpoint=self.queue_arn)
        configuration_set = self._provision_configuration_set(stage, self.ses_topic_arn)
        bucket = f"omnijourney-{stage}-quarantine"
        aws.client("s3").create_bucket(Bucket=bucket)
        # As the stack keeps it: erasure deletes every version of a customer's quarantined deliveries.
        aws.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        prefix = f"/omnijourney/{stage}/webhook-secrets"
        for source, secret in LOCAL_SECRETS.items():
            aws.client("ssm").put_parameter(Name=f"{prefix}/{source}", Value=secret, Type="SecureString")
        self.facts_bucket = f"omnijourney-{stage}-facts"
        facts_stream = self._provision_facts_stream(stage, self.facts_bucket)
        os.environ.update(
            {
                "OMNIJOURNEY_EVENTS_QUEUE_URL": self.queue_url,
                "OMNIJOURNEY_QUARANTINE_BUCKET": bucket,
                "OMNIJOURNEY_SECRETS_PREFIX": prefix,
                "OMNIJOURNEY_FACTS_STREAM": facts_stream,
                "OMNIJOURNEY_EMAIL_CONFIGURATION_SET": configuration_set,
            }
        )
        self._forget_clients()
        dynamodb = aws.client("dynamodb")
        for setting, model in models.items():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            if setting in TTL_ATTRIBUTES:
                dynamodb.update_time_to_live(
                    TableName=names[setting],
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTES[setting]},
                )

    @staticmethod
    def _provision_configuration_set(stage: str, topic_arn: str) -> str:
        """The email sending's configuration set, publishing Send records to the SES topic as the stack's publishes its
        records (local/ses_events.py); named apart from the stack's `-messages`, which a test may set up itself."""
        name = f"omnijourney-{stage}-local-messages"
        aws.client("sesv2").create_configuration_set(ConfigurationSetName=name)
        # SES v1's API: moto's SES v2 has no event destinations. Send is the one record moto's SES can give.
        aws.client("ses").create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestination={
                "Name": "Feedback",
                "Enabled": True,
                "MatchingEventTypes": [SEND],
                "SNSDestination": {"TopicARN": topic_arn},
            },
        )
        return name

    @staticmethod
    def _provision_facts_stream(stage: str, bucket: str) -> str:
        """The analytics facts' Firehose delivery stream: moto writes each put's records to the bucket, as one object
        of newline-delimited JSON under FACTS_PREFIX (omnijourney_tools.lake reads them)."""
        aws.client("s3").create_bucket(Bucket=bucket)
        # As the stack keeps it: erasure deletes every version of a customer's quarantined deliveries.
        aws.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        name = f"omnijourney-{stage}-facts"
        aws.client("firehose").create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/omnijourney-{stage}-facts",
                "BucketARN": f"arn:aws:s3:::{bucket}",
                "Prefix": FACTS_PREFIX,
            },
        )
        return name

    def fact_records(self) -> list[bytes]:
        """Every object the facts' delivery stream wrote (each put's records, newline-delimited JSON)."""
        s3 = aws.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.facts_bucket, Prefix=FACTS_PREFIX)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return [s3.get_object(Bucket=self.facts_bucket, Key=key)["Body"].read() for key in keys]

    def _provision_journeys(self, stage: str) -> dict[str, str]:
        """The journey-step function and one state machine per journey, compiled as `cdk deploy` compiles them."""

        role = aws.client("iam").create_role(
            RoleName=f"omnijourney-{stage}-local",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        function_arn = aws.client("lambda").create_function(
            FunctionName=self.journey_step_function,
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": _empty_zip()},
        )["FunctionArn"]
        prefix = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:omnijourney-{stage}-"
        os.environ["OMNIJOURNEY_STATE_MACHINE_PREFIX"] = prefix
        aws.client("sesv2").create_email_identity(EmailIdentity=get_settings().email_from_address)
        machines = {}
        for name, journey in config.journeys().journeys.items():
            definition = json.dumps(compile_journey(journey, function_arn))
            machines[name] = aws.client("stepfunctions").create_state_machine(
                name=f"omnijourney-{stage}-{name}", definition=definition, roleArn=role, type="STANDARD"
            )["stateMachineArn"]
        self._forget_clients()
        return machines

    @property
    def journey_step_function(self) -> str:
        return f"omnijourney-{self.stage}-journey-step"

    def journey_step(self, event: dict[str, Any]) -> Any:
        """The journey-step function as Lambda would run it (moto's Step Functions invoke it through this)."""
        return self.call_function("journey_step", event)

    def status_changes(self) -> None:
        """What EventBridge does on AWS: each execution that ended since the last call goes to the journey-step
        function as a "Step Functions Execution Status Change" event (moto's EventBridge cannot target Lambda).

        Reads moto's executions in this process: ListExecutions pages 100 at a time and costs a serialised
        response per call, which a simulation checking after every timer cannot afford.
        """
        from moto.stepfunctions.responses import get_backend

        machines = set(self.state_machines.values())
        for machine in get_backend(ACCOUNT, REGION).state_machines:
            if machine.arn in machines:
                # moto appends new executions to the list: those not seen yet join the running ones watched.
                seen = self._executions_seen.get(machine.arn, 0)
                self._running.extend(machine.executions[seen:])
                self._executions_seen[machine.arn] = len(machine.executions)
        watched, self._running = self._running, []
        ended: list[Any] = []
        for execution in watched:
            (self._running if execution.status == "RUNNING" else ended).append(execution)
        for execution in ended:
            detail = {
                "name": execution.name,
                "stateMachineArn": execution.state_machine_arn,
                "status": execution.status,
                # As the API returns them: JSON text (moto keeps some of them parsed).
                "input": _json_text(execution.execution_input),
                "output": _json_text(execution.output),
            }
            self.journey_step({"detail-type": "Step Functions Execution Status Change", "detail": detail})

    def call_function(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke a function as Lambda would; what it returns."""
        from aws_lambda_powertools import Metrics

        context = LambdaContext(function_name=f"omnijourney-{self.stage}-{function.replace('_', '-')}")
        try:
            return self.handler(function).lambda_handler(event, context)
        finally:
            # Lambda would have flushed them to CloudWatch. With metrics disabled Powertools keeps them, and
            # prints them once a hundred pile up (aws-lambda-powertools 3.x), so they are dropped here.
            Metrics().clear_metrics()

    @staticmethod
    def _forget_clients() -> None:
        """Settings, clients, bound tables and cached secrets all follow the environment just set."""
        from aws_lambda_powertools.utilities import parameters

        get_settings.cache_clear()
        stream.discard()
        ingest.secrets.cache_clear()
        config.clear()
        pipeline._idempotent_record.cache_clear()
        pipeline._idempotency_config.cache_clear()
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        # The outbound channels' secret stores, which cache what they read (another backend's secrets).
        targets._ssm.cache_clear()
        targets._secrets_manager.cache_clear()

    def stop(self) -> None:
        self._installed.close()
        self._mock.stop()
        os.environ.clear()
        os.environ.update(self._saved_env)
        self._forget_clients()

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def handler(self, name: str) -> ModuleType:
        if name not in self._handlers:
            self._handlers[name] = load_handler(name)
        return self._handlers[name]

    def call_http(self, function: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Invoke an HTTP function; its status and decoded JSON body."""
        response = self.call_function(function, event)
        body = response.get("body") or "{}"
        if response.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return int(response["statusCode"]), json.loads(body)

    def publish_ses_event(self, record: Mapping[str, Any]) -> None:
        """SES → SNS → the events queue, as event publishing delivers it."""
        message = record["Message"] if "Message" in record else json.dumps(record)
        aws.client("sns").publish(TopicArn=self.ses_topic_arn, Message=message)

    def drain(self, max_rounds: int = 1000) -> int:
        """Run the profile function over the queue as Lambda's event source mapping does, until it is empty.

        Failed records stay on the queue and are received again; after MAX_RECEIVE_COUNT receives SQS moves
        them to the DLQ. Returns how many records were processed successfully.

        A batch smaller than the most a receive returns, all of it processed, means the queue is empty: moto
        answers a receive with every visible message up to that number, and nothing here enqueues while the
        profile function runs but the Send records of the emails the journeys it started sent, which are received
        too.
        """
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        sqs = aws.client("sqs")
        processed = 0
        for _ in range(max_rounds):
            messages = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=RECEIVE_BATCH_SIZE,
                VisibilityTimeout=30,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return processed
            event = {"Records": [self._sqs_record(message) for message in messages]}
            published = self.send_records.published
            try:
                result = self.call_function("profile", event)
                failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
            except BatchProcessingError:  # every record failed: Lambda retries the whole batch
                failed = {message["MessageId"] for message in messages}
            for message in messages:
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                    processed += 1
            if len(messages) < RECEIVE_BATCH_SIZE and not failed and self.send_records.published == published:
                return processed
        raise RuntimeError(f"the events queue did not drain in {max_rounds} rounds")

    def _sqs_record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }

    def dead_letters(self) -> list[str]:
        messages = aws.client("sqs").receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [message["Body"] for message in messages.get("Messages", [])]
