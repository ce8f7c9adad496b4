"""Every model's table is the one settings name, bound on first use: no caller binds anything by hand.

A model derives from `Table` and names the setting that holds its table's name (`Meta =
table_meta("ledger_table")`). pynamodb reads `Meta.table_name` each time it needs the table, so the
name comes from the current settings; the first use in a process (and the first after the settings change)
connects the model through the one shared DynamoDB connection. Which models exist is the stores' business:
this module imports none of them (omnijourney.app.storage lists them for the CDK stack and the local backend).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection, TableConnection
from pynamodb.models import Model

from omnijourney.platform.settings import Settings, get_settings


class TableName:
    """A model's `Meta.table_name`: the value of one setting, read when pynamodb asks for it (never at import)."""

    def __init__(self, setting: str) -> None:
        self.setting = setting

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return str(getattr(get_settings(), self.setting))


def named_by(setting: str) -> TableName:
    """`Meta.table_name` for a table named by `setting` (a field of Settings, e.g. "ledger_table")."""
    if setting not in Settings.model_fields:
        raise AttributeError(f"no setting {setting!r} names a table")
    return TableName(setting)


def table_meta(setting: str) -> Any:
    """A model's Meta (`Meta = table_meta("ledger_table")`): its table named by `setting`, billed per request.
    A class of its own per model, as pynamodb writes its defaults (region, host) onto it."""
    return type("Meta", (), {"table_name": named_by(setting), "billing_mode": "PAY_PER_REQUEST"})


def setting_of(model: type[Model]) -> str:
    """The setting that names `model`'s table."""
    name = vars(model.Meta).get("table_name")
    if not isinstance(name, TableName):
        raise TypeError(f"{model.__name__}'s table is not named by a setting")
    return name.setting


@lru_cache(maxsize=1)
def connection() -> Connection:
    """One DynamoDB connection for every model and transaction: each costs a botocore session and client."""
    from omnijourney.platform.aws import session  # lazy: boto3 loads on the first AWS call, not at cold start

    return Connection(region=session().region_name or "us-east-1")


class Table(Model):
    """A pynamodb model whose table settings name: connected on first use through the shared connection, and
    again whenever the configured name changes (tests and the local backend change the environment)."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        current = cls._connection
        if current is not None and current.table_name == cls.Meta.table_name:
            return current
        shared = connection()
        cls.Meta.region = shared.region
        cls._connection = None
        table = super()._get_connection()
        table.connection = shared
        return table
