"""HubSpot's webhook batches: its v3 signature, each subscription type as the profile reads it, deals on the profile
(a won deal is a purchase of its line items), and `omnijourney import hubspot` through HubSpot's own client against
the local HubSpot, resumed after an interruption."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.utils.signature import Signature

from omnijourney.app import config
from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.edge.sources.hubspot import SIGNATURE_HEADER, TIMESTAMP_HEADER
from omnijourney.events import CanonicalEvent, ConsentChannel, ConsentStatus, EventType
from omnijourney.platform.errors import BadSignature, MalformedPayload
from omnijourney.profiles.model import Profile, apply_event, new_profile
from omnijourney_tools.hubspot_import import (
    Backfill,
    NextPage,
    PageOfEvents,
    Skipped,
    backfill,
    canonical_events,
    open_checkpoint,
)
from omnijourney_tools.local import LOCAL_SECRETS
from omnijourney_tools.local.hubspot import LocalHubSpot
from omnijourney_tools.stage_queue import CheckpointRefused
from tests.conftest import RECEIVED_AT, delivery, sample, signed

HUBSPOT = get_source("hubspot")
SECRET = LOCAL_SECRETS["hubspot"]
TOLERANCE = 300


def parse(case: str) -> list[CanonicalEvent]:
    return HUBSPOT.parse(delivery("hubspot", case))


def keys(event: CanonicalEvent) -> list[str]:
    return [identifier.key for identifier in event.identifiers]


def body(batch: Any) -> Delivery:
    return delivery("hubspot", "contact_creation", body=json.dumps(batch).encode())


def profile_after(*cases: str, reverse: bool = False) -> Profile:
    events = [event for case in cases for event in parse(case)]
    profile = new_profile("cus_lena", RECEIVED_AT - timedelta(days=2))
    for event in reversed(events) if reverse else events:
        profile = apply_event(profile, event, config.lifecycle())
    return profile


# Signature -------------------------------------------------------------------------------------------------------


def test_the_signature_is_hubspots_own_v3_computation() -> None:
    item = signed(delivery("hubspot", "contact_property_change"))
    timestamp = item.header(TIMESTAMP_HEADER)
    assert timestamp == str(int(RECEIVED_AT.timestamp() * 1000))
    # HubSpot's client computes the signature it expects over method, URI, body and timestamp.
    expected = Signature.get_signature(SECRET, item.body.decode(), "v3", item.url, "POST", timestamp)
    assert item.header(SIGNATURE_HEADER) == expected
    HUBSPOT.verify(item, SECRET, RECEIVED_AT, TOLERANCE)


def test_percent_encoded_characters_hubspot_decodes_are_signed_decoded() -> None:
    called = "https://shop.example.com/webhooks/hubspot?portal=62515%3Amain&tag=a%20b"
    item = replace(delivery("hubspot", "contact_creation"), url=called)
    timestamp = str(int(RECEIVED_AT.timestamp() * 1000))
    # What HubSpot signs: %3A decoded to ':', %20 left as it is.
    decoded = "https://shop.example.com/webhooks/hubspot?portal=62515:main&tag=a%20b"
    signature = Signature.get_signature(SECRET, item.body.decode(), "v3", decoded, "POST", timestamp)
    from_hubspot = replace(item, headers={SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: timestamp})
    HUBSPOT.verify(from_hubspot, SECRET, RECEIVED_AT, TOLERANCE)


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda item: signed(item, "not-the-app-secret"), id="wrong secret"),
        pytest.param(lambda item: replace(signed(item), body=item.body.replace(b"5101", b"5102")), id="altered body"),
        pytest.param(
            lambda item: replace(signed(item), url=item.url.replace("/hubspot", "/hubspot2")), id="altered URI"
        ),
        pytest.param(lambda item: replace(signed(item), headers={}), id="unsigned"),
    ],
)
def test_a_forged_delivery_is_refused(forged: Any) -> None:
    with pytest.raises(BadSignature):
        HUBSPOT.verify(forged(delivery("hubspot", "contact_creation")), SECRET, RECEIVED_AT, TOLERANCE)


@pytest.mark.parametrize("age", [timedelta(minutes=5, seconds=1), timedelta(hours=-1)])
def test_a_signature_older_than_five_minutes_or_from_the_future_is_refused(age: timedelta) -> None:
    item = signed(delivery("hubspot", "contact_creation"), at=RECEIVED_AT - age)
    with pytest.raises(BadSignature) as refused:
        HUBSPOT.verify(item, SECRET, RECEIVED_AT, TOLERANCE)
    assert refused.value.field == TIMESTAMP_HEADER


def test_a_signature_of_four_minutes_ago_is_accepted() -> None:
    item = signed(delivery("hubspot", "contact_creation"), at=RECEIVED_AT - timedelta(minutes=4))
    HUBSPOT.verify(item, SECRET, RECEIVED_AT, TOLERANCE)


def test_a_timestamp_beyond_any_date_is_a_bad_signature_not_a_crash() -> None:
    item = delivery("hubspot", "contact_creation")
    beyond = replace(item, headers={TIMESTAMP_HEADER: "999999999999999"})
    with pytest.raises(BadSignature) as refused:
        HUBSPOT.verify(signed(beyond), SECRET, RECEIVED_AT, TOLERANCE)
    assert refused.value.field == TIMESTAMP_HEADER


# Each subscription type ------------------------------------------------------------------------------------------


def test_a_contact_creation_links_only_the_contact_id() -> None:
    [created] = parse("contact_creation")
    assert (created.type, keys(created)) == (EventType.identify, ["hubspot_contact_id#5101"])


def test_contact_property_changes_link_email_and_phone_and_set_names_and_owner() -> None:
    events = parse("contact_property_change")
    assert [keys(event) for event in events] == [
        ["hubspot_contact_id#5101", "email#lena.fischer@example.com"],
        ["hubspot_contact_id#5101", "phone#+4915123456789"],
        ["hubspot_contact_id#5101"],
        ["hubspot_contact_id#5101"],
        ["hubspot_contact_id#5101"],
    ]
    assert [event.traits for event in events[2:]] == [
        {"first_name": "Lena"},
        {"last_name": "Fischer"},
        {"hubspot_owner_id": "83712"},
    ]
    # Page views (the last event of the batch) are not the profile's: acknowledged, nothing recorded.
    assert len(events) == len(sample("hubspot", "contact_property_change")) - 1


def test_a_contact_merge_names_both_contacts_so_their_profiles_merge() -> None:
    [merged] = parse("contact_merge")
    assert (merged.type, keys(merged)) == (
        EventType.identify,
        ["hubspot_contact_id#5101", "hubspot_contact_id#5102"],
    )


def test_a_deletion_unlinks_and_a_privacy_deletion_erases() -> None:
    [deleted] = parse("contact_deletion")
    [forgotten] = parse("contact_privacy_deletion")
    assert (deleted.type, keys(deleted)) == (EventType.identifier_removed, ["hubspot_contact_id#5102"])
    assert (forgotten.type, keys(forgotten)) == (EventType.erasure_requested, ["hubspot_contact_id#5101"])


def test_deal_events_name_the_deal_and_carry_its_properties_as_the_profile_keeps_them() -> None:
    [created] = parse("deal_creation")
    changes = parse("deal_property_change")
    assert (created.type, keys(created), created.deal and created.deal.deal_id) == (
        EventType.deal_updated,
        ["hubspot_deal_id#9101"],
        "9101",
    )
    told = {name: value for event in changes if event.deal for name, value in event.deal.properties.items()}
    assert told == {
        "dealname": "Trail running kit for the club",
        "amount": "1299.00",
        "deal_currency_code": "EUR",
        "hubspot_owner_id": "83712",
        "closedate": "2026-03-04T10:29:16+00:00",
        "dealstage": "closedwon",
    }


def test_associations_link_the_deal_to_its_contact_and_its_line_items() -> None:
    to_contact, to_line_item = parse("deal_association_change")
    assert keys(to_contact) == ["hubspot_contact_id#5101", "hubspot_deal_id#9101"]
    assert keys(to_line_item) == ["hubspot_deal_id#9101", "hubspot_line_item_id#7101"]
    assert to_line_item.deal is not None
    assert to_line_item.deal.line_items_added == ("7101",)


def test_associations_as_hubspot_sends_them_name_their_ends_and_no_object() -> None:
    batch = sample("hubspot", "deal_association_change")
    assert all("objectId" not in item for item in batch)
    # HubSpot sends an association's other side as an event of its own, with the same eventId.
    other_side = batch[0] | {
        "subscriptionType": "contact.associationChange",
        "associationType": "CONTACT_TO_DEAL",
        "fromObjectId": 5101,
        "toObjectId": 9101,
    }
    events = HUBSPOT.parse(body([*batch, other_side]))
    assert [keys(event) for event in events] == [
        ["hubspot_contact_id#5101", "hubspot_deal_id#9101"],
        ["hubspot_deal_id#9101", "hubspot_line_item_id#7101"],
        ["hubspot_contact_id#5101", "hubspot_deal_id#9101"],
    ]
    assert len({event.event_id for event in events}) == 3


def test_the_generic_association_subscription_is_read_by_its_object_type_ids() -> None:
    [to_contact, to_line_item] = sample("hubspot", "deal_association_change")
    generic = [
        {key: value for key, value in told.items() if key != "associationType"}
        | {"subscriptionType": "object.associationChange", "fromObjectTypeId": "0-3", "toObjectTypeId": to_type}
        | {"associationTypeId": type_id, "associationCategory": "HUBSPOT_DEFINED"}
        for told, to_type, type_id in ((to_contact, "0-1", 3), (to_line_item, "0-8", 19))
    ]
    with_a_company = generic[0] | {"eventId": 4711, "toObjectTypeId": "0-2", "associationTypeId": 5}
    assert [keys(event) for event in HUBSPOT.parse(body([*generic, with_a_company]))] == [
        keys(event) for event in parse("deal_association_change")
    ]


def test_a_removed_line_item_association_takes_it_off_the_deal() -> None:
    batch = sample("hubspot", "deal_association_change")
    batch[1] |= {"associationRemoved": True, "eventId": 4711}
    [_, removed] = HUBSPOT.parse(body(batch))
    assert removed.deal is not None
    assert removed.deal.line_items_removed == ("7101",)


def test_every_event_of_a_batch_has_an_id_of_its_own_and_a_retry_the_same_one() -> None:
    batch = sample("hubspot", "deal_property_change")
    first = [event.event_id for event in HUBSPOT.parse(body(batch))]
    retried = [event.event_id for event in HUBSPOT.parse(body([item | {"attemptNumber": 3} for item in batch]))]
    assert len(set(first)) == len(first)
    assert retried == first


def test_an_unknown_subscription_type_is_acknowledged_without_events_beside_the_rest() -> None:
    batch = [*sample("hubspot", "contact_creation"), sample("hubspot", "contact_creation")[0] | {"eventId": 2}]
    batch[1]["subscriptionType"] = "company.creation"
    assert [keys(event) for event in HUBSPOT.parse(body(batch))] == [["hubspot_contact_id#5101"]]


@pytest.mark.parametrize(
    ("batch", "field"),
    [
        ({"subscriptionType": "contact.creation"}, "body"),
        ([{"subscriptionType": "contact.creation", "eventId": 1, "occurredAt": 1772620140000}], "[0].objectId"),
        ([{"subscriptionType": "contact.creation", "eventId": 1, "objectId": 1, "occurredAt": "yesterday"}], None),
        (["contact.creation"], "[0]"),
    ],
)
def test_a_malformed_batch_is_refused_naming_the_field(batch: Any, field: str | None) -> None:
    with pytest.raises(MalformedPayload) as refused:
        HUBSPOT.parse(body(batch))
    assert refused.value.field == (field or "[0].occurredAt")


def test_an_email_opt_out_in_hubspot_unsubscribes_the_customer_from_email_as_of_then() -> None:
    opted_out, back_to_default = (
        contact_property("hs_email_optout", "true"),
        contact_property("hs_email_optout", "false"),
    )
    [unsubscribed] = HUBSPOT.parse(body([opted_out]))
    assert HUBSPOT.parse(body([back_to_default])) == []
    [change] = unsubscribed.consent
    assert (unsubscribed.type, keys(unsubscribed)) == (EventType.consent_changed, ["hubspot_contact_id#5101"])
    assert (change.channel, change.status, change.at) == (
        ConsentChannel.email,
        ConsentStatus.unsubscribed,
        unsubscribed.occurred_at,
    )
    profile = apply_event(profile_after("contact_property_change"), unsubscribed, config.lifecycle())
    assert profile.consent_status(ConsentChannel.email) == ConsentStatus.unsubscribed


def contact_property(name: str, value: str) -> dict[str, Any]:
    [template, *_] = sample("hubspot", "contact_property_change")
    return template | {"eventId": 4711, "propertyName": name, "propertyValue": value}


def test_a_deal_amount_that_is_not_a_number_is_refused() -> None:
    batch = sample("hubspot", "deal_property_change")
    batch[1]["propertyValue"] = "a lot"
    with pytest.raises(MalformedPayload) as refused:
        HUBSPOT.parse(body(batch))
    assert refused.value.field == "[1].propertyValue"


# Deals on the profile --------------------------------------------------------------------------------------------

DEAL_STORY = ("deal_creation", "deal_property_change", "deal_association_change", "line_item_property_change")


def test_a_won_deal_is_a_purchase_of_its_line_items_and_revenue_in_its_currency() -> None:
    profile = profile_after(*DEAL_STORY)
    [deal] = profile.deals
    assert (deal.stage, deal.amount, deal.currency, deal.line_item_ids) == ("closedwon", 1299, "EUR", ("7101",))
    assert (profile.ordered_skus(), deal.is_won) == ({"SHOE-TRAIL-42"}, True)


def test_an_open_deal_is_no_purchase() -> None:
    batch = sample("hubspot", "deal_property_change")
    batch[-1]["propertyValue"] = "contractsent"
    profile = profile_after("deal_creation", "deal_association_change", "line_item_property_change")
    for event in HUBSPOT.parse(body(batch)):
        profile = apply_event(profile, event, config.lifecycle())
    [deal] = profile.deals
    assert (profile.ordered_skus(), deal.is_won) == (set(), False)


def test_deals_are_the_same_whatever_order_their_events_arrive_in() -> None:
    in_order, reversed_order = profile_after(*DEAL_STORY), profile_after(*DEAL_STORY, reverse=True)
    assert (in_order.deals, in_order.deal_line_items) == (reversed_order.deals, reversed_order.deal_line_items)


def test_a_later_stage_wins_over_an_older_one_that_arrives_late() -> None:
    batch = sample("hubspot", "deal_property_change")
    earlier = batch[-1] | {"eventId": 999, "occurredAt": batch[-1]["occurredAt"] - 60_000, "propertyValue": "qualified"}
    profile = profile_after(*DEAL_STORY)
    for event in HUBSPOT.parse(body([earlier])):
        profile = apply_event(profile, event, config.lifecycle())
    assert profile.deals[0].stage == "closedwon"


# The import ------------------------------------------------------------------------------------------------------


@pytest.fixture
def crm() -> Iterator[LocalHubSpot]:
    with LocalHubSpot() as hubspot:
        for number in range(5):
            hubspot.add("contacts", f"510{number}", email=f"customer{number}@shop.example", firstname=f"Kim{number}")
        hubspot.add("line_items", "7101", hs_sku="SHOE-TRAIL-42", quantity=10, price="129.90")
        hubspot.add(
            "deals",
            "9101",
            {"contacts": ["5101"], "line_items": ["7101"]},
            dealstage="closedwon",
            amount="1299.00",
            deal_currency_code="EUR",
            closedate="2026-03-04T10:29:16Z",
        )
        yield hubspot


class Interrupted(Exception):
    pass


def import_pages(crm: LocalHubSpot, checkpoint: Path, send: Callable[[PageOfEvents], None]) -> Backfill:
    """`omnijourney import hubspot`'s backfill, two objects a page, read at RECEIVED_AT."""
    client = HubSpot(access_token=crm.token, host=crm.url)
    return backfill(client, send, open_checkpoint(checkpoint, "stage test"), lambda: RECEIVED_AT, page_size=2)


def test_the_import_backfills_contacts_and_deals_through_hubspots_client_paged(
    crm: LocalHubSpot, tmp_path: Path
) -> None:
    sent: list[PageOfEvents] = []
    done = import_pages(crm, tmp_path / "checkpoint", sent.append)
    assert (done.read, done.skipped) == (7, [])
    # Three pages of contacts, one of line items, one of deals.
    assert crm.requests.count("GET /crm/v3/objects/contacts") == 3
    # A stage is sent the events a scenario's line of the page makes.
    assert all(page.events == canonical_events(page.told, page.read_at) for page in sent)
    events = [event for page in sent for event in page.events]
    profile = new_profile("cus_kim", RECEIVED_AT)
    for event in events:
        if "hubspot_contact_id#5101" in keys(event) or not any(k.startswith("hubspot_contact") for k in keys(event)):
            profile = apply_event(profile, event, config.lifecycle())
    assert profile.ordered_skus() == {"SHOE-TRAIL-42"}
    assert profile.identifiers_seen.keys() >= {"email#customer1@shop.example", "hubspot_contact_id#5101"}


def test_an_interrupted_import_resumes_after_the_last_page_sent(crm: LocalHubSpot, tmp_path: Path) -> None:
    whole: list[PageOfEvents] = []
    import_pages(crm, tmp_path / "whole", whole.append)

    checkpoint_file = tmp_path / "checkpoint"
    sent: list[PageOfEvents] = []

    def fails_on_the_second_page(page: PageOfEvents) -> None:
        if len(sent) == 1:
            raise Interrupted
        sent.append(page)

    with pytest.raises(Interrupted):
        import_pages(crm, checkpoint_file, fails_on_the_second_page)
    assert json.loads(checkpoint_file.read_text())["object_type"] == "contacts"
    import_pages(crm, checkpoint_file, sent.append)
    assert sent == whole


def test_the_checkpoint_of_an_import_into_another_stage_is_refused(tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint"
    open_checkpoint(checkpoint, "stage prod").save(NextPage("deals", "after-4"))

    with pytest.raises(CheckpointRefused, match="HubSpot into stage prod"):
        open_checkpoint(checkpoint, "stage test")
    assert open_checkpoint(checkpoint, "stage prod").place == NextPage("deals", "after-4")


def test_an_object_the_source_cannot_read_is_skipped_and_named_and_the_import_goes_on(
    crm: LocalHubSpot, tmp_path: Path
) -> None:
    crm.add("deals", "9102", {"contacts": ["5102"]}, dealstage="closedwon", amount="a lot")
    crm.add("deals", "9103", {"contacts": ["5103"]}, dealstage="closedwon", amount="80")
    crm.add("contacts", "5199", email="opted.out@shop.example", hs_email_optout="true")
    sent: list[PageOfEvents] = []
    done = import_pages(crm, tmp_path / "checkpoint", sent.append)
    assert done.skipped == [Skipped("deals", "9102", "amount")]
    assert str(done.skipped[0]) == "HubSpot deals 9102: amount cannot be read (skipped)"
    deals = {event.deal.deal_id for page in sent for event in page.events if event.deal}
    assert deals == {"9101", "9103"}
    opted_out = [event for page in sent for event in page.events if event.consent]
    assert [keys(event) for event in opted_out] == [["hubspot_contact_id#5199"]]


def test_the_local_hubspot_wants_the_private_apps_token(crm: LocalHubSpot) -> None:
    from hubspot.crm.contacts import ApiException

    with pytest.raises(ApiException) as refused:
        HubSpot(access_token="pat-wrong", host=crm.url).crm.contacts.basic_api.get_page()
    assert refused.value.status == 401
