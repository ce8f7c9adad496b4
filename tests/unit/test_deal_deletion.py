"""Issue 21 (review, item 3): a deal or line item deleted in HubSpot is a stamped tombstone on the profile. Whatever
order the deal's events arrive in, a deleted won deal is no purchase and a deleted line item sells nothing; an
event older than the deletion arriving after it does not bring it back, and a restore later than it does."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from omnijourney.app import config
from omnijourney.edge.sources import get_source
from omnijourney.events import CanonicalEvent
from omnijourney.profiles.model import Profile, apply_event
from tests.conftest import delivery, lena, sample

SKU = "SHOE-TRAIL-42"
DEAL_ID, LINE_ITEM_ID = 9101, 7101


def parsed(batch: list[dict[str, Any]]) -> list[CanonicalEvent]:
    """The canonical events of a HubSpot batch, as the source parses HubSpot's."""
    return get_source("hubspot").parse(delivery("hubspot", "deal_creation", body=json.dumps(batch).encode()))


def told(profile: Profile, events: list[CanonicalEvent]) -> Profile:
    for event in events:
        profile = apply_event(profile, event, config.lifecycle())
    return profile


def won_deal() -> list[dict[str, Any]]:
    """The sample won deal (1,299 €, stage closedwon) with its line item SKU-TRAIL-42, associated with Lena."""
    return [
        *sample("hubspot", "deal_creation"),
        *sample("hubspot", "deal_property_change"),
        *sample("hubspot", "deal_association_change"),
        *sample("hubspot", "line_item_property_change"),
    ]


def deleted(kind: str, object_id: int, event_id: int, at: int, change: str = "deletion") -> dict[str, Any]:
    """HubSpot's `<kind>.deletion` (or `.restore`) of one object, `at` milliseconds since 1970."""
    [template] = sample("hubspot", "deal_creation")
    event: dict[str, Any] = template | {
        "eventId": event_id,
        "subscriptionType": f"{kind}.{change}",
        "objectId": object_id,
        "occurredAt": at,
        "changeFlag": change.upper(),
    }
    return event


def latest_of(batch: list[dict[str, Any]]) -> int:
    return max(int(item["occurredAt"]) for item in batch)


def test_a_deleted_deal_and_line_item_are_tombstones_of_their_properties() -> None:
    [deal_deleted, item_deleted] = parsed(
        [deleted("deal", DEAL_ID, 1, 1772620200000), deleted("line_item", LINE_ITEM_ID, 2, 1772620200000)]
    )

    assert deal_deleted.deal is not None
    assert deal_deleted.deal.properties == {"archived": "true"}
    assert item_deleted.line_item is not None
    assert item_deleted.line_item.properties == {"archived": "true"}
    assert [identifier.key for identifier in item_deleted.identifiers] == [f"hubspot_line_item_id#{LINE_ITEM_ID}"]


def test_the_generic_object_deletion_of_a_deal_deletes_it() -> None:
    generic = deleted("object", DEAL_ID, 1, 1772620200000) | {"objectTypeId": "0-3"}

    [event] = parsed([generic])

    assert event.deal is not None
    assert event.deal.properties == {"archived": "true"}


@settings(derandomize=True, max_examples=200, deadline=None)
@given(data=st.data())
def test_a_deleted_won_deal_is_no_purchase_in_any_arrival_order(data: st.DataObject) -> None:
    deal = won_deal()
    # Deleted after everything else was told of it; a property change older than the deletion is among the events.
    late_amount = deal[2] | {"eventId": 90, "propertyValue": "1500.00", "occurredAt": latest_of(deal) - 1}
    events = parsed([*deal, late_amount, deleted("deal", DEAL_ID, 91, latest_of(deal) + 1)])
    in_order = told(lena(), events)

    arrived = told(lena(), data.draw(st.permutations(events), label="arrival order"))

    assert arrived.deals == in_order.deals
    assert arrived.deal_line_items == in_order.deal_line_items
    assert not arrived.deals[0].is_won
    assert SKU not in arrived.ordered_skus()


@settings(derandomize=True, max_examples=200, deadline=None)
@given(data=st.data())
def test_a_deleted_line_item_sells_nothing_in_any_arrival_order(data: st.DataObject) -> None:
    deal = won_deal()
    events = parsed([*deal, deleted("line_item", LINE_ITEM_ID, 91, latest_of(deal) + 1)])

    arrived = told(lena(), data.draw(st.permutations(events), label="arrival order"))

    assert arrived.deals[0].is_won
    assert SKU not in arrived.ordered_skus()


def test_a_deal_restored_after_its_deletion_is_won_again_and_an_older_restore_does_not_undo_it() -> None:
    deal = won_deal()
    at = latest_of(deal)
    deletion = deleted("deal", DEAL_ID, 91, at + 10)
    older_restore, later_restore = (
        deleted("deal", DEAL_ID, n, at + offset, "restore") for n, offset in ((92, 5), (93, 20))
    )

    still_deleted = told(lena(), parsed([*deal, deletion, older_restore]))
    restored = told(lena(), parsed([*deal, later_restore, deletion]))

    assert SKU not in still_deleted.ordered_skus()
    assert SKU in restored.ordered_skus()
    assert restored.deals[0].is_won
