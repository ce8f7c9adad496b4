"""The cdk-nag AwsSolutions findings this design accepts, each with its reason. Anything else fails synth."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, DefaultStackSynthesizer, Stack, Validations
from constructs import IConstruct

from infra.analytics import ERRORS_PREFIX, FACTS_PREFIX, RESULTS_PREFIX, AnalyticsLake
from infra.staff import StaffScreen

PACK = "AwsSolutions::"
ACCEPTED = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
        "The AWS managed basic execution policy only lets a function write its own logs."
    ),
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
        "CDK's grant on the stack's one data key: encrypting queue messages and table items needs these actions."
    ),
    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "Part of CDK's encrypt/decrypt grant on the stack's one data key.",
    "AwsSolutions-IAM5[Resource::*]": (
        "Only actions that take no resource ARN: X-Ray PutTraceSegments, Step Functions log delivery, "
        "SNS Publish to a phone number (SMS) and SendTaskSuccess (task tokens name no resource)."
    ),
    "AwsSolutions-APIG4": (
        "Webhook routes are authenticated by each vendor's HMAC signature, verified by the ingest function "
        "(401 otherwise); the profile routes use IAM authorization."
    ),
    "AwsSolutions-L1": (
        "Python 3.13, not the newest runtime: its bytecode ships in the layer, compiled by a 3.13 interpreter, "
        "which saves every cold start compiling each module it imports (the build machines have no 3.14)."
    ),
    "AwsSolutions-S1": (
        "The quarantine bucket holds rejected deliveries only, the analytics lake only what Firehose and Athena write "
        "(facts, failed records, query results); data events on both are in CloudTrail."
    ),
    "AwsSolutions-SQS3": (
        "Dead-letter queues of EventBridge (journey status), EventBridge Scheduler and the SES events subscription: "
        "each is itself a dead-letter queue, with nothing behind it."
    ),
}


# The customer screen's distribution (on its own construct only).
SCREEN_EDGE = {
    "AwsSolutions-CFR1": (
        "Staff work wherever the shop has stores; every API call needs a signed-in member of staff, and the user "
        "pool's threat protection blocks sign-ins from unusual places."
    ),
    "AwsSolutions-CFR2": (
        "No WAF (from $5 a month per web ACL): the pages are static, every staff API call needs a signed-in member of "
        "staff's token, the API is throttled, and sign-in has Cognito's own threat protection."
    ),
    "AwsSolutions-CFR4": (
        "The distribution's own *.cloudfront.net name and certificate, with which CloudFront cannot refuse TLS 1.0; "
        "browsers that staff use speak TLS 1.2 or 1.3. A custom domain with its certificate would allow TLSv1.2_2021."
    ),
}


def acknowledge(
    stack: Stack,
    *,
    lake: AnalyticsLake,
    objects_of: list[IConstruct],
    versions_of: list[IConstruct],
    executions: str,
) -> None:
    """Acknowledge the accepted findings; the wildcards CDK writes for grants are named per resource."""
    reasons = dict(ACCEPTED)
    for bucket in objects_of:
        reasons[f"AwsSolutions-IAM5[Resource::<{_logical_id(stack, bucket)}.Arn>/*]"] = (
            "Objects of the quarantine bucket: one per rejected delivery, named by its hash."
        )
    for function in versions_of:
        reasons[f"AwsSolutions-IAM5[Resource::<{_logical_id(stack, function)}.Arn>:*]"] = (
            "Invoking any version of this one function (CDK grants the function and its versions)."
        )
    reasons[f"AwsSolutions-IAM5[Resource::{executions}]"] = (
        "Stopping executions of this stage's journeys only: execution names are made per customer at run time."
    )
    reasons |= _lake_objects(stack, lake)
    Validations.of(stack).acknowledge(
        *(Acknowledgment(id=f"{PACK}{finding}", reason=reason) for finding, reason in sorted(reasons.items()))
    )


def _logical_id(stack: Stack, construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return stack.get_logical_id(resource)


def _lake_objects(stack: Stack, lake: AnalyticsLake) -> dict[str, str]:
    """The analytics lake's object wildcards: Firehose and Athena name their objects as they write them."""
    objects = f"AwsSolutions-IAM5[Resource::<{_logical_id(stack, lake.bucket)}.Arn>/{{}}*]"
    return {
        objects.format(FACTS_PREFIX): (
            "The facts' Parquet files: Firehose writes them under kind=/day= partitions with names it makes, and the "
            "audit reads them; nothing else in the lake bucket."
        ),
        objects.format(ERRORS_PREFIX): "Records Firehose could not convert, written by Firehose under names it makes.",
        objects.format(RESULTS_PREFIX): "Athena's query results, one object per query id, in the workgroup's prefix.",
    }


def acknowledge_staff_screen(stack: Stack, screen: StaffScreen) -> None:
    """The customer screen's accepted findings, on the constructs they concern."""
    Validations.of(screen.distribution).acknowledge(
        *(Acknowledgment(id=f"{PACK}{finding}", reason=reason) for finding, reason in sorted(SCREEN_EDGE.items()))
    )
    Validations.of(screen.logs).acknowledge(
        Acknowledgment(id=f"{PACK}AwsSolutions-S1", reason="The screen's log bucket: CloudFront's access logs.")
    )
    Validations.of(screen.site).acknowledge(
        Acknowledgment(
            id=f"{PACK}AwsSolutions-S1",
            reason="Only CloudFront reads the screen's files, and its access logs record every request for them; "
            "the deploy's writes are in CloudTrail.",
        )
    )
    # CDK's BucketDeployment: one function (a singleton in the stack) that copies the screen's files from the CDK
    # asset bucket into the site bucket, deletes those a build no longer has, and invalidates CloudFront's copies.
    copier = screen.files.handler_role.node.scope
    assert copier is not None
    assets = f"cdk-{DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-<AWS::AccountId>-<AWS::Region>"
    copying = {
        "AwsSolutions-L1": "CDK's own function for BucketDeployment, on the runtime CDK chooses for it.",
        "AwsSolutions-IAM5[Action::s3:GetObject*]": "Reading the asset archives and the site's files.",
        "AwsSolutions-IAM5[Action::s3:GetBucket*]": "Reading the asset and site buckets' locations and settings.",
        "AwsSolutions-IAM5[Action::s3:List*]": "Listing the site's files, to delete those a build no longer has.",
        "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "Deleting the site's files a build no longer has.",
        "AwsSolutions-IAM5[Action::s3:Abort*]": "Aborting its own multipart uploads into the site bucket.",
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{assets}/*]": "The asset archives in CDK's bucket.",
        f"AwsSolutions-IAM5[Resource::<{_logical_id(stack, screen.site)}.Arn>/*]": "The customer screen's files.",
        "AwsSolutions-IAM5[Resource::*]": "CloudFront's CreateInvalidation and GetInvalidation name no resource.",
    }
    Validations.of(copier).acknowledge(
        *(Acknowledgment(id=f"{PACK}{finding}", reason=reason) for finding, reason in sorted(copying.items()))
    )


# Permissions a function holds that no recorded call uses (tests/infra/test_least_privilege.py), each with its reason:
# (function, action, resource), patterns as fnmatch reads them, resources named as the call recorder names them
# (omnijourney_tools.local.recording).
UNRECORDED_GRANTS: dict[tuple[str, str, str], str] = {
    ("*", "xray:*", "*"): "X-Ray: the Lambda runtime sends each traced function's segments (tracing is off locally).",
    ("journey_step", "sqs:*", "queue/journey-status-dlq"): (
        "Lambda sends a status change the function still failed after its asynchronous retries to the status DLQ "
        "with the function's role (its on_failure destination, infra/journeys.py; CDK's grant adds "
        "GetQueueAttributes and GetQueueUrl): a failure path no scenario takes."
    ),
    ("*", "kms:*", "key/DataKey*"): (
        "The stack's data key: DynamoDB, SQS and S3 use it on the function's behalf when it reads or writes an "
        "encrypted item, message or object; no call of the function names it."
    ),
    ("profile", "sqs:*", "queue/events"): (
        "Lambda's event source mapping receives, deletes and returns the profile function's batches with the "
        "function's role (CDK's SqsEventSource grant, GetQueueUrl included)."
    ),
    ("profile", "dynamodb:DeleteItem", "table/idempotency"): (
        "Powertools idempotency deletes the in-progress record of an event that failed, so that SQS's redelivery runs "
        "it again: a failure path (tests/integration/test_chaos.py injects such failures)."
    ),
    ("journey_schedule", "states:StopExecution", "execution/*"): (
        "The hourly segment evaluation ends the runs whose exit or goal time has made true (runtime.segments); no "
        "shipped scenario has one."
    ),
    ("journey_schedule", "dynamodb:UpdateItem", "table/journey-runs"): "Recording a run the hourly evaluation ended.",
    ("journey_schedule", "states:StartExecution", "stateMachine/browse_abandonment"): (
        "The hourly evaluation starts it for a customer whose cart update leaves the segment's 3-day window while "
        "their product views stay in it (browsed_not_bought changes with time); no shipped scenario waits for that."
    ),
    ("profile", "dynamodb:*", "table/ledger"): (
        "SES's Send and Delivery records confirm a pending ledger entry (runtime.ledger.confirm_sent, "
        'docs/operations.md "Sends"): the local backend publishes no SES record after a send, so no scenario '
        "reaches it (tests/integration/test_reconcile.py covers it)."
    ),
    ("analytics_audit", "glue:*", "*"): (
        "Athena reads the facts table's definition with the caller's permissions (infra/analytics.py, grant_query)."
    ),
    ("analytics_audit", "s3:*", "bucket/AnalyticsBucket*"): (
        "Athena reads the facts and writes the query results with the caller's permissions (grant_query)."
    ),
}
