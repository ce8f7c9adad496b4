"""The stack's template, synthesised once per test session, and how the infra tests read it."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import cx_api

from infra.app import build

STAGE = "test"
STACK = f"omnijourney-{STAGE}"


def synthesize() -> cx_api.CloudAssembly:
    """The cloud assembly (template and assets); synth itself fails on any cdk-nag AwsSolutions finding not
    acknowledged."""
    return build({"stage": STAGE}).synth()


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def policy_actions(template: dict[str, Any], function_name: str) -> set[str]:
    """Every action the function's role may take (its inline policies)."""
    actions: set[str] = set()
    for statement in function_statements(template, function_name):
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def policy_resources(template: dict[str, Any], function_name: str, action: str) -> list[Any]:
    """Every resource the function's role may take `action` on (its inline policies)."""
    found: list[Any] = []
    for statement in function_statements(template, function_name):
        listed = statement["Action"]
        if action in ([listed] if isinstance(listed, str) else listed):
            named = statement.get("Resource", [])
            found += named if isinstance(named, list) else [named]
    return found


def function_statements(template: dict[str, Any], function_name: str) -> list[dict[str, Any]]:
    [function] = [
        body
        for body in resources(template, "AWS::Lambda::Function").values()
        if body["Properties"].get("FunctionName") == f"omnijourney-{STAGE}-{function_name}"
    ]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
