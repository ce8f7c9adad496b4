"""What a CRM's deletions do to the customers they name: a GDPR deletion (HubSpot's `contact.privacyDeletion`)
erases them as `DELETE /profiles/{id}` does; a plain deletion (a rep removing a duplicate contact) only unlinks the
deleted record's id, and the customer stays with everything else they are known by."""

from __future__ import annotations

from typing import Any

from omnijourney.app.erasure import erase_customer
from omnijourney.events import CanonicalEvent, EventType
from omnijourney.profiles import service, store


def removed(event: CanonicalEvent) -> dict[str, Any]:
    """The profile function's outcome of a removal (no journey reacts to one: nothing started, resumed or stopped
    but by an erasure's own stop). An identifier nobody holds changes nothing."""
    if event.type is EventType.identifier_removed:
        customer_ids = service.unlink(event.identifiers)
        outcome: dict[str, Any] = {"unlinked": customer_ids}
    else:
        owners = store.owners(identifier.key for identifier in event.identifiers)
        live = {record.customer_id for owner in owners.values() if (record := store.load(owner)) is not None}
        customer_ids = sorted(live)
        outcome = {"erased": [erased for customer_id in customer_ids for erased in erase_customer(customer_id)]}
    return outcome | {
        "customer_id": customer_ids[0] if customer_ids else None,
        "changed": bool(customer_ids),
        "merged": [],
        "started": [],
        "resumed": [],
        "stopped": [],
        "skipped": [],
    }
