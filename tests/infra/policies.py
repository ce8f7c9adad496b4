"""Each function's synthesized IAM policy, its resources named as the call recorder names them
(omnijourney_tools.local.recording): `table/profiles`, `bucket/quarantine/*`, `execution/*`, `key/DataKey…`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from omnijourney_tools.local import ACCOUNT, REGION
from omnijourney_tools.local.recording import resource_name
from tests.infra.synthesized import STAGE, function_statements, resources

PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
# The property holding a resource's physical name, which `Ref` returns.
NAME_PROPERTIES = ("TableName", "QueueName", "DeliveryStreamName", "StateMachineName", "EmailIdentity", "Name")
ARN_FORMATS = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::KinesisFirehose::DeliveryStream": "arn:aws:firehose:{region}:{account}:deliverystream/{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
}


@dataclass(frozen=True)
class Grant:
    """One action on one resource (patterns, as IAM matches them) an Allow statement gives a function."""

    action: str
    resource: str

    def covers(self, action: str, resource: str) -> bool:
        return fnmatchcase(action, self.action) and fnmatchcase(resource, self.resource)


class Policies:
    """The functions' policies in `template`; a bucket, which has no name in the template, is named by the setting
    that tells the functions about it (`OMNIJOURNEY_QUARANTINE_BUCKET`), as `settings` (the local backend's) name it."""

    def __init__(self, template: dict[str, Any], settings: Mapping[str, str]) -> None:
        self._resources: dict[str, dict[str, Any]] = template["Resources"]
        self._template = template
        self._bucket_names = {
            value["Ref"]: settings[variable]
            for function in resources(template, "AWS::Lambda::Function").values()
            for variable, value in function["Properties"].get("Environment", {}).get("Variables", {}).items()
            if isinstance(value, dict) and "Ref" in value and variable in settings
        }

    def statements(self, function: str) -> list[dict[str, Any]]:
        return function_statements(self._template, function)

    def grants(self, function: str) -> list[Grant]:
        """Every (action, resource) the function's Allow statements give, resources named as the recorder does."""
        return [
            Grant(action, resource_name(self.text(resource), STAGE))
            for statement in self.statements(function)
            if statement["Effect"] == "Allow"
            for action in _listed(statement["Action"])
            for resource in _listed(statement["Resource"])
        ]

    def text(self, value: Any) -> str:
        """A policy's resource with its intrinsic functions resolved, as it would read deployed."""
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return PSEUDO_PARAMETERS.get(value["Ref"]) or self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn", value
            return self._arn(logical_id)
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(self.text(part) for part in parts)
        raise ValueError(f"cannot resolve {value}")

    def _name(self, logical_id: str) -> str:
        body = self._resources[logical_id]
        if body["Type"] == "AWS::KMS::Key":
            return logical_id
        properties = body.get("Properties", {})
        found = next((properties[key] for key in NAME_PROPERTIES if key in properties), None)
        # A bucket no function is told about (the analytics lake, which Athena reads for the audit) by its logical id.
        return str(found) if found is not None else self._bucket_names.get(logical_id, logical_id)

    def _ref(self, logical_id: str) -> str:
        # A state machine's and a topic's Ref is their ARN; every other resource's, its name.
        if self._resources[logical_id]["Type"] in ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return self._arn(logical_id)
        return self._name(logical_id)

    def _arn(self, logical_id: str) -> str:
        template = ARN_FORMATS[self._resources[logical_id]["Type"]]
        return template.format(region=REGION, account=ACCOUNT, name=self._name(logical_id))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
