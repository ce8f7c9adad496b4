"""The DynamoDB tables, built from the pynamodb models: the models are the one definition of every key."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct
from pynamodb.models import Model

from infra.settings import DeploySettings
from omnijourney.tables import TTL_ATTRIBUTES, table_models

ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def key_schema(model: type[Model]) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
    """The partition and sort key of a pynamodb model, as CDK attributes."""
    attributes = model.get_attributes()
    partition = next(attribute for attribute in attributes.values() if attribute.is_hash_key)
    sort = next((attribute for attribute in attributes.values() if attribute.is_range_key), None)

    def as_cdk(attribute: object) -> dynamodb.Attribute:
        return dynamodb.Attribute(name=attribute.attr_name, type=ATTRIBUTE_TYPES[attribute.attr_type])  # type: ignore[attr-defined]

    return as_cdk(partition), as_cdk(sort) if sort is not None else None


class ProfileStore(Construct):
    """Every table, encrypted with the stack's key, point-in-time recoverable, on-demand."""

    def __init__(self, scope: Construct, name: str, *, settings: DeploySettings, key: kms.IKey) -> None:
        super().__init__(scope, name)
        self.tables: dict[str, dynamodb.Table] = {}
        for setting, model in table_models().items():
            partition, sort = key_schema(model)
            self.tables[setting] = dynamodb.Table(
                self,
                setting.removesuffix("_table").replace("_", "-").title().replace("-", ""),
                table_name=f"{settings.prefix}-{setting.removesuffix('_table').replace('_', '-')}",
                partition_key=partition,
                sort_key=sort,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                encryption_key=key,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=TTL_ATTRIBUTES.get(setting),
                deletion_protection=settings.production,
                removal_policy=RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY,
            )

    def environment(self) -> dict[str, str]:
        """The settings that name the tables (OMNIJOURNEY_<SETTING>), for every function."""
        return {f"OMNIJOURNEY_{setting.upper()}": table.table_name for setting, table in self.tables.items()}
