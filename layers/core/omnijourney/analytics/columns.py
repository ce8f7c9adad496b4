"""The facts table's columns, defined once as plain data: name → Glue type.

The local lake's Arrow schema is derived from these (omnijourney_tools.lake), and so is the Glue table Firehose converts
records with. Their meaning is in docs/analytics.md.
"""

from __future__ import annotations

from typing import Final

# The partition keys: in every record (Firehose's dynamic partitioning reads them), in the path, not in the files.
PARTITION_KEYS: Final = {"kind": "string", "day": "string"}

COLUMNS: Final = {
    "fact_id": "string",
    "occurred_at": "timestamp",
    "customer_id": "string",
    "event_id": "string",
    "event_type": "string",
    "channel": "string",
    "source": "string",
    "status": "string",
    "order_id": "string",
    "order_state": "string",
    "amount": "decimal(18,4)",
    "currency": "string",
    "skus": "array<string>",
    "refund_id": "string",
    "ticket_id": "string",
    "journey": "string",
    "step": "string",
    "execution": "string",
    "category": "string",
    "template": "string",
    "reason": "string",
    "offer_code": "string",
    "offer_skus": "array<string>",
    "offer_instead_of": "string",
    "timezone": "string",
    "run_group": "string",
    "outcome": "string",
    "transitions": "bigint",
    "merged_id": "string",
    # Added since the first table: new columns go last, so files and tables written before read as they did.
    "expires_at": "timestamp",
    "known": "boolean",
    "deal_id": "string",
    "deal_property": "string",
}
