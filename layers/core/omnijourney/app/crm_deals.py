"""A CRM deal's events on every customer it is shared by (profiles/model.py, "Deals").

A deal's own events (its stage, amount, line items, deletion) name only the deal or its line items, and a deal may
have several contacts (a buying committee), each its own customer. So a profile that names nobody, the deal's
holder, records every event naming a deal or line item, and then each contact the deal was ever associated with
(on or taken off since) gets a copy of the holder's deals: in whatever order the events come, every contact's copy
ends up the holder's, and the latest association event among a customer's own contact ids says
whether the deal is theirs. The holder is nobody's profile: no segments, journeys or facts (its deals count through
its contacts' copies). An association is the contact's event (their history, facts and journeys); the deal's own
events are the deal's, joined into each contact's copy.

Written holder first: an event that changes the deal meanwhile writes the holder after this one, and copies the
holder with both changes to every contact; so each contact converges to the holder whichever order they are written
in. A contact named only by the holder's deals (not by the event) gets a copy only while a profile holds it: a contact
deleted in the CRM (unlinked) or erased is not brought back by its deal's next event.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnijourney.events import CanonicalEvent, DealChange, event_digest
from omnijourney.identifiers import SHARED_CRM_RECORDS, Identifier, IdentifierKind
from omnijourney.profiles import service, store
from omnijourney.profiles.model import Profile, with_holders_deals, without_deal_contacts

# The holder's copy of an event is known by a digest of the event's id: its own id, so a holder and a contact created
# by one event get different customer ids, and one that names no contact (an association's id names both ends), so
# an erased contact's id stays nowhere on the holder. Its stamps are what every contact's copy of the deal holds.
HOLDER_EVENT_PREFIX = "holder:"


@dataclass(frozen=True)
class SharedDeal:
    """A deal's event recorded on its holder: what to record on each contact it names (an association), and the
    customers holding its other contacts, whose copy of the deal follows the holder's."""

    holder: Profile
    told: list[CanonicalEvent]
    others: list[str]

    def joined(self, profile: Profile) -> Profile:
        """The profile with its copy of the holder's deals."""
        return with_holders_deals(profile, self.holder)

    def copied_to_others(self) -> list[Profile]:
        """Each other contact's profile with its copy of the holder's deals (none for a customer gone since)."""
        return [profile for customer_id in self.others if (profile := service.amend(customer_id, self.joined))]


def shared(event: CanonicalEvent) -> SharedDeal:
    """Record a deal's event on its holder. An event naming a contact (an association) is theirs, recorded on their
    profile like any event; the deal's own events are the deal's, in each contact's copy of it but not their
    activity: so what a customer's history and facts count does not depend on when they were associated."""
    held = event.model_copy(
        update={
            "event_id": f"{HOLDER_EVENT_PREFIX}{event_digest(event.event_id)}",
            "identifiers": [identifier for identifier in event.identifiers if identifier.kind in SHARED_CRM_RECORDS],
        }
    )
    named = [
        identifier.value for identifier in event.identifiers if identifier.kind is IdentifierKind.hubspot_contact_id
    ]
    # An association naming a contact erased for a GDPR request is recorded nowhere, the holder included.
    if store.owners_unless_erased((), (_contact_key(contact) for contact in named)).erased:
        raise service.NamesErasedRecord("the event names an erased contact")
    holder = service.record_event(held).profile
    # The deal as the holder knows it is all a contact is told of it (the deal's id alone says which deal changed):
    # one source of stamps, so a contact's copy is the same whenever they were associated.
    deal = DealChange(deal_id=event.deal.deal_id) if event.deal is not None else None
    told = [
        event.model_copy(
            update={
                "identifiers": [Identifier(kind=IdentifierKind.hubspot_contact_id, value=contact)],
                "deal": deal,
                "line_item": None,
            }
        )
        for contact in named
    ]
    return SharedDeal(holder, told, _holders_of(_contacts_of(holder, event), exclude=named))


def _contacts_of(holder: Profile, event: CanonicalEvent) -> list[str]:
    """Every contact of the deals the event changed (a line item's: the deals it is on or was taken off)."""
    deal_id = event.deal.deal_id if event.deal is not None else None
    item_id = event.line_item.line_item_id if event.line_item is not None else None
    touched = [deal for deal in holder.deals if deal.deal_id == deal_id or item_id in deal.line_items]
    return sorted({contact for deal in touched for contact in deal.contacts})


def _holders_of(contacts: list[str], exclude: list[str]) -> list[str]:
    """The customers holding `contacts` now (not deleted in the CRM nor erased), but for those in `exclude`."""
    return sorted(set(store.owners(_contact_key(contact) for contact in contacts if contact not in exclude).values()))


def _contact_key(contact_id: str) -> str:
    return Identifier(kind=IdentifierKind.hubspot_contact_id, value=contact_id).key


def forget_contacts(profile: Profile) -> None:
    """The holders of an erased customer's deals forget the customer's contact ids."""
    contact_ids = profile.identifiers.get(IdentifierKind.hubspot_contact_id, ())
    if not contact_ids:
        return
    deals = [Identifier(kind=IdentifierKind.hubspot_deal_id, value=deal.deal_id).key for deal in profile.deals]
    for holder in sorted(set(store.owners(deals).values())):
        service.amend(holder, lambda held: without_deal_contacts(held, contact_ids))
