"""A HubSpot deal shared by its contacts (profiles/model.py, "Deals"): each contact's association is stamped, so a
rep's correction takes the deal off a customer in any arrival order, a customer holding two of the deal's contacts
(HubSpot merged them) has it as their latest association says, a contact's copy of the holder's deals brings what
was told before it was associated, and an erasure leaves no trace of the contact on the holder."""

from __future__ import annotations

import json
from itertools import permutations
from typing import Any

from omnijourney.app import config
from omnijourney.edge.sources import get_source
from omnijourney.events import CanonicalEvent
from omnijourney.profiles.model import (
    MAX_DEAL_CONTACTS,
    Profile,
    apply_event,
    new_profile,
    with_holders_deals,
    without_deal_contacts,
)
from tests.conftest import RECEIVED_AT, delivery, sample

SKU = "SHOE-TRAIL-42"
WON = ["deal_creation", "deal_property_change", "line_item_property_change"]


def parsed(batch: list[dict[str, Any]]) -> list[CanonicalEvent]:
    return get_source("hubspot").parse(delivery("hubspot", "deal_creation", body=json.dumps(batch).encode()))


def association(contact_id: int, event_id: int, at: int, *, removed: bool = False) -> dict[str, Any]:
    [to_contact, _] = sample("hubspot", "deal_association_change")
    return to_contact | {"eventId": event_id, "toObjectId": contact_id, "occurredAt": at, "associationRemoved": removed}


def told(events: list[CanonicalEvent], profile: Profile | None = None) -> Profile:
    profile = profile or new_profile("cus_x", RECEIVED_AT)
    for event in events:
        profile = apply_event(profile, event, config.lifecycle())
    return profile


def holder(*associations: CanonicalEvent) -> Profile:
    """The deal's holder after the won deal's own events, its line item's association and `associations`, as
    app.crm_deals records them: without the contact's id, which the holder never claims."""
    [_, to_line_item] = sample("hubspot", "deal_association_change")
    won = parsed([*(item for case in WON for item in sample("hubspot", case)), to_line_item])
    held = [event.model_copy(update={"identifiers": event.identifiers[1:]}) for event in associations]
    return told([*won, *held]).model_copy(update={"crm_holder": True})


def copied(events: list[CanonicalEvent]) -> Profile:
    """A contact's profile after the association events naming them, each with a copy of the holder's deals."""
    profile = new_profile("cus_x", RECEIVED_AT)
    for index, event in enumerate(events):
        profile = with_holders_deals(told([event], profile), holder(*events[: index + 1]))
    return profile


def test_a_correction_takes_the_deal_off_in_any_arrival_order() -> None:
    at = 1772620200000
    events = parsed(
        [association(5102, 1, at), association(5102, 2, at + 10, removed=True), association(5102, 3, at - 5)]
    )

    for order in permutations(events):
        colleague = copied(list(order))
        assert colleague.own_deals == (), [event.event_id for event in order]
        assert SKU not in colleague.ordered_skus()


def test_a_contact_associated_late_gets_everything_told_before() -> None:
    lena = copied(parsed([association(5101, 1, 1772620200000)]))

    [deal] = lena.own_deals
    assert (deal.stage, deal.amount, deal.is_won) == ("closedwon", 1299, True)
    assert SKU in lena.ordered_skus()


def test_a_customer_with_two_of_the_deals_contacts_has_it_as_their_latest_association_says() -> None:
    at = 1772620200000
    events = parsed([association(5101, 1, at), association(5102, 2, at + 10, removed=True)])
    assert copied(events).own_deals == ()

    added_again = parsed([association(5101, 3, at + 20)])
    assert [deal.deal_id for deal in copied([*events, *added_again]).own_deals] == ["9101"]


def test_a_holder_names_nobody_and_forgets_an_erased_contact() -> None:
    held = holder(*parsed([association(5101, 1, 1772620200000), association(5102, 2, 1772620200000)]))
    assert held.crm_holder
    assert held.own_deals == ()

    forgotten = without_deal_contacts(held, ["5101"])

    assert [sorted(deal.contacts) for deal in forgotten.deals] == [["5102"]]


def test_a_contacts_copy_holds_its_own_association_only() -> None:
    at = 1772620200000
    events = parsed([association(5101, 1, at), association(5102, 2, at + 10)])
    lena = copied(events[:1])
    lena = with_holders_deals(lena, holder(*events))

    assert [sorted(deal.contacts) for deal in lena.deals] == [["5101"]]


def test_a_holder_with_too_many_contacts_drops_those_taken_off_then_the_earliest_associated() -> None:
    at = 1772620200000
    on = [association(6000 + n, n, at + n) for n in range(MAX_DEAL_CONTACTS)]
    taken_off = association(5101, 900, at + 5000, removed=True)
    newcomer = association(5102, 901, at + 6000)

    [deal] = holder(*parsed([*on, taken_off, newcomer])).deals

    assert len(deal.contacts) == MAX_DEAL_CONTACTS
    # The contact taken off went, and the earliest of those still on, for the newcomer.
    assert ("5101" in deal.contacts, "6000" in deal.contacts) == (False, False)
    assert {"5102", str(6000 + MAX_DEAL_CONTACTS - 1)} <= set(deal.contacts)
