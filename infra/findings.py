"""The cdk-nag AwsSolutions findings this design accepts, each with its reason. Anything else fails synth."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

PACK = "AwsSolutions::"
ACCEPTED = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
        "The AWS managed basic execution policy only lets a function write its own logs."
    ),
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
        "CDK's grant on the stack's one data key: encrypting queue messages and table items needs these actions."
    ),
    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "Part of CDK's encrypt/decrypt grant on the stack's one data key.",
    "AwsSolutions-IAM5[Action::s3:Abort*]": "Ingest may abort its own multipart uploads into the quarantine bucket.",
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
    "AwsSolutions-S1": "The quarantine bucket holds rejected deliveries only; data events on it are in CloudTrail.",
    "AwsSolutions-SQS3": "The journey status DLQ is itself a dead-letter queue (EventBridge's target DLQ).",
}


def acknowledge(
    stack: Stack,
    *,
    objects_of: list[IConstruct],
    versions_of: list[IConstruct],
    indexes_of: list[IConstruct],
    executions: str,
) -> None:
    """Acknowledge the accepted findings; the wildcards CDK writes for grants are named per resource."""
    reasons = dict(ACCEPTED)
    for table in indexes_of:
        reasons[f"AwsSolutions-IAM5[Resource::<{_logical_id(stack, table)}.Arn>/index/*]"] = (
            "The indexes of this one table, each declared on its pynamodb model (CDK grants a table and its indexes)."
        )
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
    Validations.of(stack).acknowledge(
        *(Acknowledgment(id=f"{PACK}{finding}", reason=reason) for finding, reason in sorted(reasons.items()))
    )


def _logical_id(stack: Stack, construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return stack.get_logical_id(resource)
