"""Every DynamoDB table: the setting that names it → the pynamodb model that defines its keys.

The CDK stack and the local moto backend build the tables from these models; nothing retypes a key schema.
"""

from __future__ import annotations

from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.models import Model

from omnijourney.settings import Settings, get_settings


def table_models() -> dict[str, type[Model]]:
    from omnijourney.profiles.store import HistoryRecord, IdempotencyRecord, IdentityRecord, ProfileRecord
    from omnijourney.runtime.records import JourneyRunRecord, LedgerRecord

    return {
        "profiles_table": ProfileRecord,
        "identities_table": IdentityRecord,
        "history_table": HistoryRecord,
        "idempotency_table": IdempotencyRecord,
        "ledger_table": LedgerRecord,
        "journey_runs_table": JourneyRunRecord,
    }


# Expiring tables and their TTL attribute.
TTL_ATTRIBUTES = {"history_table": "expires_at", "idempotency_table": "expiration", "ledger_table": "expires_at"}


@lru_cache(maxsize=1)
def connection() -> Connection:
    """One DynamoDB connection for every model and transaction: each costs a botocore session and client."""
    from omnijourney.aws import session

    return Connection(region=session().region_name or "us-east-1")


@lru_cache(maxsize=1)
def bind() -> Settings:
    """Point the models at the configured tables (once per process, on first use)."""
    settings = get_settings()
    shared = connection()
    for setting, model in table_models().items():
        model.Meta.table_name = getattr(settings, setting)
        model.Meta.region = shared.region
        model._connection = None
        model._get_connection().connection = shared
    return settings
