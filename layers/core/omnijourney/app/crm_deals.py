"""A CRM deal's events on every customer it is shared by (profiles/model.py, "Deals").

A deal's own events (its stage, amount, line items, deletion) name only the deal or its line items, and a deal may
have several contacts (a buying committee), each its own customer. So a profile that names nobody, the deal's
holder (`crm_holder`), records every event naming a deal or line item, and then each contact the deal was ever
associated with (on or taken off since) gets a copy of the holder's deals with its own associations: in whatever
order the events come, every contact's copy ends up the holder's, and the latest association event among a
customer's own contact ids says whether the deal is theirs. The holder is nobody's profile: no segments, journeys or
facts (its deals count through its contacts' copies). An association adding a contact is the contact's event (their
history, facts and journeys); the deal's own events, and a contact taken off, are the deal's, joined into each
contact's copy.

Written holder first, then the contacts the event adds, then the copies from the holder read again: an event that
changes the deal meanwhile writes the holder after this one and copies it to every contact it finds, and a contact
this event made after that event looked gets the change from the holder read again; so each contact converges to the
holder whichever order they are written in. A contact gets a copy only while a profile holds it and is made only by
an association adding it: a contact deleted in the CRM (unlinked) or erased is not brought back by its deal's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnijourney.analytics import facts
from omnijourney.analytics.facts import Fact
from omnijourney.events import CanonicalEvent, DealChange, event_digest
from omnijourney.identifiers import SHARED_CRM_RECORDS, Identifier, IdentifierKind
from omnijourney.profiles import service, store
from omnijourney.profiles.model import (
    Profile,
    as_crm_holder,
    stamp_of,
    with_holders_deals,
    without_deal_contacts,
)

# The holder's copy of an event is known by a digest of the event's id: its own id, so a holder and a contact created
# by one event get different customer ids, and one that names no contact (an association's id names both ends), so
# an erased contact's id stays nowhere on the holder. Its stamps are what every contact's copy of the deal holds.
HOLDER_EVENT_PREFIX = "holder:"


@dataclass(frozen=True)
class SharedDeal:
    """A deal's event recorded on its holder, and what to record on each contact it associates with the deal."""

    event: CanonicalEvent
    holder: Profile
    told: list[CanonicalEvent]

    def joined(self, profile: Profile) -> Profile:
        """The profile with its copy of the holder's deals."""
        return with_holders_deals(profile, self.holder)

    def copied(self) -> list[Profile]:
        """Each profile holding a contact of the deals the event changed, with its copy of the holder's deals as
        they are now: read again after the contacts the event told were recorded, so a contact made by it meanwhile
        misses no change another event made to the holder (that event looked for the contact before it existed)."""
        # Only a contact this event made can have missed another event's change; else the holder is as written.
        record = store.load(self.holder.customer_id) if self.told else None
        holder = record.profile if record is not None else self.holder
        contacts = _contacts_of(holder, self.event)
        customers = sorted(set(store.owners(_contact_key(contact) for contact in contacts).values()))
        return [
            profile
            for customer_id in customers
            if (profile := service.amend(customer_id, lambda profile: with_holders_deals(profile, holder)))
        ]


def shared(event: CanonicalEvent) -> SharedDeal:
    """Record a deal's event on its holder. An association adding a contact is theirs, recorded on their profile
    like any event (made for a contact not seen yet); the deal's own events, and a contact taken off, are the deal's:
    in each contact's copy of it, not in their activity, so what a customer's history and facts count does not
    depend on when they were associated."""
    named = [
        identifier.value for identifier in event.identifiers if identifier.kind is IdentifierKind.hubspot_contact_id
    ]
    keys = {contact: _contact_key(contact) for contact in named}
    # One read: whether a contact it names was erased for a GDPR request (then the event is recorded nowhere, the
    # holder included), or deleted in the CRM (then no profile is made for it again).
    found = store.owners_unless_erased((store.unlinked_key(key) for key in keys.values()), keys.values())
    if found.erased:
        raise service.NamesErasedRecord("the event names an erased contact")
    held = event.model_copy(
        update={
            "event_id": f"{HOLDER_EVENT_PREFIX}{event_digest(event.event_id)}",
            "identifiers": [identifier for identifier in event.identifiers if identifier.kind in SHARED_CRM_RECORDS],
        }
    )
    holder = service.record_event(held, as_crm_holder, history=False).profile
    added = event.deal.contacts_added if event.deal is not None else ()
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
        if contact in added and store.unlinked_key(keys[contact]) not in found.owners
    ]
    return SharedDeal(event, holder, told)


def deal_facts(profile: Profile, deal_id: str) -> list[Fact]:
    """The customer's copy of the deal as the facts tell it: each property of its value as its latest event told it,
    and the customer's association with it (by their own contact ids)."""
    deal = next((deal for deal in profile.deals if deal.deal_id == deal_id), None)
    if deal is None:  # one of the oldest deals, beyond the profile's bound
        return []
    tellings = [
        facts.DealTelling(name, deal.properties.get(name), at, by) for name, (at, by) in deal.properties_set.items()
    ]
    association = profile.association_with(deal)
    if association is not None:
        at, by, on = association
        tellings.append(facts.DealTelling(facts.ASSOCIATED, str(on).lower(), at, by))
    return facts.deal_facts(profile.customer_id, deal_id, tellings)


def unlinked_facts(profile: Profile, event: CanonicalEvent) -> list[Fact]:
    """The customer's deals that the CRM record the event unlinked was their only association with: theirs no more
    as of the deletion, as the profile now says."""
    at, by = stamp_of(event.occurred_at, event.event_id)
    return [
        fact
        for deal in profile.deals
        if deal.contacts and profile.association_with(deal) is None
        for fact in facts.deal_facts(
            profile.customer_id, deal.deal_id, [facts.DealTelling(facts.ASSOCIATED, "false", at, by)]
        )
    ]


def _contacts_of(holder: Profile, event: CanonicalEvent) -> list[str]:
    """Every contact of the deals the event changed (a line item's: the deals it is on or was taken off)."""
    deal_id = event.deal.deal_id if event.deal is not None else None
    item_id = event.line_item.line_item_id if event.line_item is not None else None
    touched = [deal for deal in holder.deals if deal.deal_id == deal_id or item_id in deal.line_items]
    return sorted({contact for deal in touched for contact in deal.contacts})


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
