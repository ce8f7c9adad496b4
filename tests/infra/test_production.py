"""A production deployment (`-c omnijourney='{"production": true}'`) keeps its data: nothing deletes a table."""

from __future__ import annotations

from typing import Any

import pytest

from infra.app import build
from tests.infra.synthesized import resources

PRODUCTION = "prod"


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    assembly = build({"stage": PRODUCTION, "production": True}).synth()
    return dict(assembly.get_stack_by_name(f"omnijourney-{PRODUCTION}").template)


def test_no_table_can_be_deleted_in_production_by_a_call_or_by_the_stack(production: dict[str, Any]) -> None:
    tables = resources(production, "AWS::DynamoDB::Table").values()
    assert len(tables) == 6
    for table in tables:
        assert table["Properties"]["DeletionProtectionEnabled"] is True  # DeleteTable is refused
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"  # cdk destroy leaves it


def test_the_data_key_and_the_quarantine_outlive_the_stack_in_production(production: dict[str, Any]) -> None:
    [key] = resources(production, "AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Retain"
    [quarantine] = [
        bucket
        for bucket in resources(production, "AWS::S3::Bucket").values()
        if bucket["Properties"].get("VersioningConfiguration") == {"Status": "Enabled"}
    ]
    assert quarantine["DeletionPolicy"] == "Retain"
