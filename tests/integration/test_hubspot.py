"""HubSpot through the real handlers on moto: contacts link and merge profiles, a GDPR deletion erases the customer,
a plain deletion only unlinks the contact id, a deal associated with two contacts is on both (in any order) and
merges nobody, a rep's correction takes it off, and a deal won holds marketing about what it sold."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from omnijourney.edge.sources.hubspot import TIMESTAMP_HEADER
from omnijourney.identifiers import IdentifierKind
from omnijourney.profiles import service, store
from omnijourney.profiles.store import IdentityRecord
from omnijourney_tools.cli import main
from tests.conftest import EVENTS, delivery, sample, signed
from tests.integration.conftest import Harness

EMAIL = "lena.fischer@example.com"
PHONE = "+4915123456789"


def hubspot(harness: Harness, case: str, batch: Any = None) -> None:
    item = delivery("hubspot", case, body=None if batch is None else json.dumps(batch).encode())
    status, answer = harness.deliver(signed(item))
    assert status == 202, answer


def contact(object_id: int, event_id: int, **properties: str) -> list[dict[str, Any]]:
    """HubSpot's property-change events for one contact, one per property."""
    [template] = sample("hubspot", "contact_creation")
    return [
        template
        | {
            "eventId": event_id + index,
            "objectId": object_id,
            "subscriptionType": "contact.propertyChange",
            "propertyName": name,
            "propertyValue": value,
        }
        for index, (name, value) in enumerate(properties.items())
    ]


def identifiers(harness: Harness, **query: str) -> dict[str, list[str]]:
    status, profile = harness.lookup(**query)
    assert status == 200, profile
    return {kind: values for kind, values in profile["identifiers"].items() if values}


def test_a_hubspot_contact_merge_merges_the_two_profiles(harness: Harness) -> None:
    hubspot(harness, "contact_property_change", contact(5101, 1, email=EMAIL))
    hubspot(harness, "contact_property_change", contact(5102, 10, phone=PHONE))
    assert len(harness.live_profiles()) == 2
    hubspot(harness, "contact_merge")
    assert len(harness.live_profiles()) == 1
    assert identifiers(harness, phone=PHONE) == {
        "email": [EMAIL],
        "phone": [PHONE],
        "hubspot_contact_id": ["5101", "5102"],
    }


def test_a_plain_contact_deletion_only_unlinks_the_hubspot_id(harness: Harness) -> None:
    hubspot(harness, "contact_property_change", contact(5102, 1, email=EMAIL))
    hubspot(harness, "contact_deletion")
    assert identifiers(harness, email=EMAIL) == {"email": [EMAIL]}
    assert IdentityRecord.count("hubspot_contact_id#5102") == 0
    # The id links nobody now: a contact HubSpot makes with it later is someone new.
    hubspot(harness, "contact_creation", [sample("hubspot", "contact_creation")[0] | {"objectId": 5102}])
    assert len(harness.live_profiles()) == 2


def test_a_contact_deletion_nobody_holds_changes_nothing(harness: Harness) -> None:
    hubspot(harness, "contact_deletion")
    assert harness.live_profiles() == []


def test_a_hubspot_privacy_deletion_erases_the_customer(harness: Harness) -> None:
    hubspot(harness, "contact_property_change")
    status, _ = harness.lookup(email=EMAIL)
    assert status == 200
    hubspot(harness, "contact_privacy_deletion")
    assert harness.lookup(email=EMAIL)[0] == 404
    assert harness.live_profiles() == []
    assert IdentityRecord.count("hubspot_contact_id#5101") == 0


# The deal's own events name only the deal or its line item; Lena (5101) is associated first, her colleague (5102)
# at 09:29:20; the two deliveries are sent in either order.
DEAL_EVENTS = ("deal_creation", "deal_property_change", "deal_association_change", "line_item_property_change")


def associated(contact_id: int, event_id: int, *, removed: bool = False, at: int = 1772620160000) -> list[Any]:
    [to_contact, _] = sample("hubspot", "deal_association_change")
    return [
        to_contact | {"eventId": event_id, "toObjectId": contact_id, "occurredAt": at, "associationRemoved": removed}
    ]


def deals(harness: Harness, **query: str) -> list[tuple[str, str, list[str | None]]]:
    status, profile = harness.lookup(**query)
    assert status == 200, profile
    return [
        (deal["deal_id"], deal["status"], [item["sku"] for item in deal["line_items"]]) for deal in profile["deals"]
    ]


@pytest.mark.parametrize("order", ["deal_first", "colleague_first"])
def test_a_deal_shared_by_two_contacts_is_on_both_whatever_the_order_and_merges_neither(
    harness: Harness, order: str
) -> None:
    hubspot(harness, "contact_property_change", contact(5101, 1, email=EMAIL))
    hubspot(harness, "contact_property_change", contact(5102, 10, phone=PHONE))
    colleague = [lambda: hubspot(harness, "deal_association_change", associated(5102, 77))]
    the_deal = [lambda case=case: hubspot(harness, case) for case in DEAL_EVENTS]
    for deliver in [*the_deal, *colleague] if order == "deal_first" else [*colleague, *the_deal]:
        deliver()

    won = [("9101", "won", ["SHOE-TRAIL-42"])]
    assert deals(harness, email=EMAIL) == deals(harness, phone=PHONE) == won
    assert len(harness.live_profiles()) == 2
    # The deal's holder is nobody: no scheduled journey's audience or segments' turn reads it.
    assert len(list(store.live_profiles())) == 2
    assert identifiers(harness, phone=PHONE) == {"phone": [PHONE], "hubspot_contact_id": ["5102"]}


def test_a_deal_taken_off_a_contact_is_theirs_no_more_and_an_older_association_does_not_bring_it_back(
    harness: Harness,
) -> None:
    hubspot(harness, "contact_property_change", contact(5101, 1, email=EMAIL))
    hubspot(harness, "contact_property_change", contact(5102, 10, phone=PHONE))
    for case in DEAL_EVENTS:
        hubspot(harness, case)
    hubspot(harness, "deal_association_change", associated(5102, 77))
    assert deals(harness, phone=PHONE) == [("9101", "won", ["SHOE-TRAIL-42"])]

    # The rep's correction, then the original association delivered again late.
    hubspot(harness, "deal_association_change", associated(5102, 78, removed=True, at=1772620170000))
    hubspot(harness, "deal_association_change", associated(5102, 77))

    assert deals(harness, phone=PHONE) == []
    # Still Lena's.
    assert deals(harness, email=EMAIL) == [("9101", "won", ["SHOE-TRAIL-42"])]


def test_a_request_timestamp_beyond_any_date_is_401_and_changes_nothing(harness: Harness) -> None:
    item = delivery("hubspot", "contact_property_change")
    status, answer = harness.deliver(signed(replace(item, headers={TIMESTAMP_HEADER: "999999999999999"})))
    assert (status, answer["field"]) == (401, TIMESTAMP_HEADER)
    assert harness.live_profiles() == []


def test_a_contact_who_opts_out_of_all_email_in_hubspot_is_unsubscribed(harness: Harness) -> None:
    hubspot(harness, "contact_property_change", contact(5101, 1, email=EMAIL))
    hubspot(harness, "contact_property_change", contact(5101, 10, hs_email_optout="true"))
    status, profile = harness.lookup(email=EMAIL)
    assert (status, profile["consent"]["email"]) == (200, "unsubscribed"), profile


# A deal won holds marketing about what it sold --------------------------------------------------------------------

STORY = [
    {"at": "2026-03-04T09:00:01Z", "source": "segment", "file": "segment/page.json"},
    {"at": "2026-03-04T09:01:11Z", "source": "segment", "file": "segment/product_added.json"},
    {"at": "2026-03-04T09:02:01Z", "source": "segment", "file": "segment/identify_app.json"},
    {"at": "2026-03-04T09:03:01Z", "source": "segment", "file": "segment/checkout_started.json"},
    {"at": "2026-03-04T09:10:00Z", "source": "hubspot", "file": "hubspot/contact_property_change.json"},
    {"at": "2026-03-04T09:11:00Z", "source": "hubspot", "file": "hubspot/deal_creation.json"},
    {"at": "2026-03-04T09:12:00Z", "source": "hubspot", "body": "deal_property_change"},
    {"at": "2026-03-04T09:13:00Z", "source": "hubspot", "file": "hubspot/deal_association_change.json"},
    {"at": "2026-03-04T09:14:00Z", "source": "hubspot", "file": "hubspot/line_item_property_change.json"},
    {"at": "2026-03-05T12:00:00Z", "lookup": {"email": EMAIL}},
]


def story(tmp_path: Path, stage: str) -> dict[str, Any]:
    """The report of the story, the deal ending in `stage`."""
    deal = sample("hubspot", "deal_property_change")
    deal[-1]["propertyValue"] = stage
    lines = [
        line | ({"file": str(EVENTS / line["file"])} if "file" in line else {})
        for line in STORY
        if line.get("body") is None
    ]
    lines.insert(6, {"at": "2026-03-04T09:12:00Z", "source": "hubspot", "body": deal})
    scenario, report = tmp_path / "deal_won.jsonl", tmp_path / "report.json"
    scenario.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["simulate", str(scenario), "--report", str(report), "--quiet"]) == 0
    return dict(json.loads(report.read_text()))


def cart_emails(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(m["status"], m["reason"]) for m in report["messages"] if m["step"] == "cart_email"]


@pytest.mark.parametrize(
    ("stage", "expected"), [("closedwon", ("suppressed", "already_purchased")), ("contractsent", ("sent", None))]
)
def test_a_deal_closed_won_stops_the_cart_reminder_for_what_it_sold(
    tmp_path: Path, stage: str, expected: tuple[str, str | None]
) -> None:
    report = story(tmp_path, stage)
    assert [entry["status"] for entry in report["inputs"]] == [202] * 9
    assert cart_emails(report) == [expected]
    [lookup] = report["lookups"]
    assert lookup["profile"]["identifiers"]["hubspot_contact_id"] == ["5101"]


def test_an_erased_contact_leaves_no_trace_on_the_deals_holder_nor_on_its_other_contacts(harness: Harness) -> None:
    from omnijourney.profiles.store import ProfileRecord

    hubspot(harness, "contact_property_change", contact(5101, 1, email=EMAIL))
    hubspot(harness, "contact_property_change", contact(5102, 10, phone=PHONE))
    for case in DEAL_EVENTS:
        hubspot(harness, case)
    hubspot(harness, "deal_association_change", associated(5102, 77))
    hubspot(harness, "contact_privacy_deletion")

    stored = [record.profile for record in ProfileRecord.scan() if not record.merged_into]
    [holder] = [profile for profile in stored if profile.crm_holder]
    assert [sorted(deal.contacts) for deal in holder.deals] == [["5102"]]
    assert all("5101" not in profile.model_dump_json() for profile in stored)
    assert deals(harness, phone=PHONE) == [("9101", "won", ["SHOE-TRAIL-42"])]


def test_a_contact_taken_off_a_deal_after_its_deletion_is_not_made_again(harness: Harness) -> None:
    hubspot(harness, "contact_property_change", contact(5102, 10, phone=PHONE))
    for case in DEAL_EVENTS:
        hubspot(harness, case)
    hubspot(harness, "deal_association_change", associated(5102, 77))
    hubspot(harness, "contact_deletion")  # 5102, a duplicate the rep removes

    hubspot(harness, "deal_association_change", associated(5102, 78, removed=True, at=1772620170000))

    # Lena (made by the deal's own association) and the phone's customer, who no longer has the deal.
    assert len(harness.live_profiles()) == 2
    assert deals(harness, phone=PHONE) == []


def test_a_contact_made_by_an_association_gets_the_change_another_event_made_meanwhile(harness: Harness) -> None:
    from omnijourney.app.crm_deals import shared
    from omnijourney.app.profile_updates import recorded_on_profile
    from omnijourney.edge.sources import get_source

    hubspot(harness, "deal_creation")
    [tom_associated] = get_source("hubspot").parse(
        delivery("hubspot", "deal_association_change", body=json.dumps(associated(5102, 77)).encode())
    )
    # Tom's association is on the holder, his profile not made yet, when the deal is won: that event finds no Tom.
    deal = shared(tom_associated)
    hubspot(harness, "deal_property_change")
    for told in deal.told:
        recorded_on_profile(told, deal.joined)
    deal.copied()

    [tom] = service.find(IdentifierKind.hubspot_contact_id, "5102").profile.own_deals
    assert (tom.stage, tom.is_won) == ("closedwon", True)
