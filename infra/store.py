"""The DynamoDB tables, built from the pynamodb models: the models are the one definition of every key."""

from __future__ import annotations

from inspect import getmembers

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct
from pynamodb.attributes import Attribute
from pynamodb.indexes import GlobalSecondaryIndex, Index
from pynamodb.models import Model

from infra.settings import DeploySettings
from omnijourney.app.storage import TTL_ATTRIBUTES, table_models

ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
PROJECTION_TYPES = {
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
    "ALL": dynamodb.ProjectionType.ALL,
}


def key_schema(model: type[Model] | type[Index[Model]]) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
    """The partition and sort key of a pynamodb model (or of one of its indexes), as CDK attributes."""
    attributes: dict[str, Attribute[object]] = (
        model.get_attributes() if issubclass(model, Model) else model.Meta.attributes
    )
    partition = next(attribute for attribute in attributes.values() if attribute.is_hash_key)
    sort = next((attribute for attribute in attributes.values() if attribute.is_range_key), None)

    def as_cdk(attribute: Attribute[object]) -> dynamodb.Attribute:
        return dynamodb.Attribute(name=attribute.attr_name, type=ATTRIBUTE_TYPES[attribute.attr_type])

    return as_cdk(partition), as_cdk(sort) if sort is not None else None


def secondary_indexes(model: type[Model]) -> list[dynamodb.GlobalSecondaryIndexProps]:
    """The global secondary indexes a pynamodb model declares, as CDK index properties."""
    found = []
    for name, index in getmembers(model, lambda member: isinstance(member, Index)):
        if not isinstance(index, GlobalSecondaryIndex):
            # A local index can only be made with the table: refuse rather than deploy a table the model disagrees with.
            raise TypeError(f"{model.__name__}.{name}: only global secondary indexes are built from the models")
        partition, sort = key_schema(type(index))
        projection = index.Meta.projection
        found.append(
            dynamodb.GlobalSecondaryIndexProps(
                index_name=index.Meta.index_name,
                partition_key=partition,
                sort_key=sort,
                projection_type=PROJECTION_TYPES[projection.projection_type],
                non_key_attributes=projection.non_key_attributes,
            )
        )
    return found


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
            for index in secondary_indexes(model):
                self.tables[setting].add_global_secondary_index(
                    index_name=index.index_name,
                    partition_key=index.partition_key,
                    sort_key=index.sort_key,
                    projection_type=index.projection_type,
                    non_key_attributes=index.non_key_attributes,
                )

    def environment(self) -> dict[str, str]:
        """The settings that name the tables (OMNIJOURNEY_<SETTING>), for every function."""
        return {f"OMNIJOURNEY_{setting.upper()}": table.table_name for setting, table in self.tables.items()}
