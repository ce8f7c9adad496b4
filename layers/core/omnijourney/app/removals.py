"""What a CRM's deletions do to the customers they name: a GDPR deletion (HubSpot's `contact.privacyDeletion`)
erases them as `DELETE /profiles/{id}` does, and leaves a tombstone of the record's id that drops the events naming it
later, in whatever order they come; a plain deletion (a rep removing a duplicate contact) only unlinks the deleted
record's id, and the customer stays with everything else they are known by (docs/operations.md, "Erasure")."""

from __future__ import annotations

from typing import Any

from omnijourney.analytics import stream
from omnijourney.app.crm_deals import unlinked_facts
from omnijourney.app.erasure import erase_profile
from omnijourney.events import CanonicalEvent, EventType
from omnijourney.platform import clock
from omnijourney.profiles import service, store

# The outcome's `dropped` for an event naming an erased record's id (the profile function counts and logs it).
DROPPED_AS_ERASED = "names_erased_record"


def removed(event: CanonicalEvent) -> dict[str, Any]:
    """The profile function's outcome of a removal (no journey reacts to one: nothing started, resumed or stopped
    but by an erasure's own stop). An identifier nobody holds changes nothing."""
    if event.type is EventType.identifier_removed:
        profiles = service.unlink(event.identifiers)
        # A deal the unlinked record was their only association with is theirs no more, in the lake as on the profile.
        stream.emit(*(fact for profile in profiles for fact in unlinked_facts(profile, event)))
        stream.flush()
        customer_ids = [profile.customer_id for profile in profiles]
        return _outcome(customer_ids, unlinked=customer_ids)
    customer_ids, erased = _erase(event)
    return _outcome(customer_ids, erased=erased)


def dropped_as_erased() -> dict[str, Any]:
    """The outcome of an event recorded nowhere: it names an erased CRM record (profiles.service.NamesErasedRecord)."""
    return _outcome([], dropped=DROPPED_AS_ERASED)


def _erase(event: CanonicalEvent) -> tuple[list[str], list[str]]:
    """Erase whoever the request's identifiers name, linked or unlinked since; the live customer ids found and every
    id erased with them."""
    from omnijourney.edge import quarantine  # lazy: as app.erasure's

    keys = [identifier.key for identifier in event.identifiers]
    found = store.owners_unless_erased([*keys, *map(store.unlinked_key, keys)], keys)
    unfinished = {customer_id for tombstone in found.erased.values() for customer_id in tombstone.erasing or ()}
    erasing = sorted({*found.owners.values(), *unfinished})
    now = clock.now()
    # Before anything goes: a retry after a failure part way (the identities gone, the profile not yet) still knows
    # whom to erase, and from now on no event naming the record is recorded.
    store.entomb(keys, erasing, now)
    # Each live profile loaded once, whichever of the ids (merged ones too) led to it.
    records = {record.customer_id: record for customer_id in erasing if (record := store.load(customer_id)) is not None}
    live = sorted(records)
    erased = [erased_id for customer_id in live for erased_id in erase_profile(records[customer_id])]
    # Deliveries naming the record that linked nobody yet (the erasure came first) or that nobody else names now.
    quarantine.erase_carrying(keys)
    # Done: the tombstone no longer names the customers.
    store.entomb(keys, (), now)
    return live, erased


def _outcome(customer_ids: list[str], **what: Any) -> dict[str, Any]:
    return what | {
        "customer_id": customer_ids[0] if customer_ids else None,
        "changed": bool(customer_ids),
        "merged": [],
        "started": [],
        "resumed": [],
        "stopped": [],
        "skipped": [],
    }
