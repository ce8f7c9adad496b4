"""Every DynamoDB table of the system: the setting that names it → the pynamodb model that defines its keys.

The CDK stack and the local moto backend build the tables from these models; nothing retypes a key schema.
The models bind themselves (platform.tables.Table); this list only gathers them, from the stores that own them.
"""

from __future__ import annotations

from omnijourney.platform.tables import Table, setting_of
from omnijourney.profiles.store import HistoryRecord, IdempotencyRecord, IdentityRecord, ProfileRecord
from omnijourney.runtime.ledger_records import LedgerRecord
from omnijourney.runtime.runs import JourneyRunRecord

_MODELS: tuple[type[Table], ...] = (
    ProfileRecord,
    IdentityRecord,
    HistoryRecord,
    IdempotencyRecord,
    LedgerRecord,
    JourneyRunRecord,
)

# Expiring tables and their TTL attribute.
TTL_ATTRIBUTES = {
    "history_table": "expires_at",
    "idempotency_table": "expiration",
    "ledger_table": "expires_at",
    "journey_runs_table": "expires_at",
    # Only erasure tombstones of CRM ids carry one (app/removals.py): identities themselves never expire.
    "identities_table": "expires_at",
}


def table_models() -> dict[str, type[Table]]:
    return {setting_of(model): model for model in _MODELS}
