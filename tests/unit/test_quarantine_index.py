"""What a quarantined delivery is indexed by, so that erasure finds it: the identifiers it carries, read as far as
a body that did not parse can be read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from omnijourney.edge.quarantine import MAX_INDEXED, identifier_keys_in
from omnijourney.edge.sources import get_source
from omnijourney.events import CanonicalEvent
from tests.conftest import sample

LENA_EMAIL = "email#lena.fischer@example.com"
LENA_PHONE = "phone#+4915123456789"


def test_a_shopify_order_is_indexed_by_its_customers_address_and_phone_wherever_they_are() -> None:
    order = json.dumps(sample("shopify", "orders_create_pos")).encode()

    assert {LENA_EMAIL, LENA_PHONE} <= set(identifier_keys_in(order))


def test_a_body_cut_off_mid_json_is_still_indexed_by_the_email_and_phone_in_its_text() -> None:
    whole = json.dumps(sample("shopify", "orders_create_pos"))
    cut = whole[: whole.index("line_items")].encode()

    keys = identifier_keys_in(cut)

    assert LENA_EMAIL in keys
    assert LENA_PHONE in keys


def test_a_segment_message_is_indexed_by_its_anonymous_and_user_ids() -> None:
    message = sample("segment", "identify_app")

    keys = identifier_keys_in(json.dumps(message).encode())

    assert f"anonymous_id#{message['anonymousId']}" in keys
    assert f"user_id#{message['userId']}" in keys


def test_a_twilio_form_is_indexed_by_the_senders_phone() -> None:
    form = urlencode(sample("twilio", "inbound_stop")).encode()

    assert LENA_PHONE in identifier_keys_in(form)


def test_a_queued_event_is_indexed_by_its_identifiers_of_every_kind() -> None:
    event = CanonicalEvent.model_validate(
        {
            "event_id": "shopify:refunds/create:1",
            "source": "shopify",
            "type": "order_refunded",
            "name": "refunds/create",
            "channel": "web",
            "occurred_at": datetime(2026, 3, 4, tzinfo=UTC),
            "received_at": datetime(2026, 3, 4, tzinfo=UTC),
            "identifiers": [{"kind": "shopify_order_id", "value": "5820009876543"}],
        }
    )

    assert identifier_keys_in(event.to_message().encode()) == ["shopify_order_id#5820009876543"]


def test_values_that_name_nobody_are_not_indexed() -> None:
    body = json.dumps({"email": "test@test.com", "phone": "123", "note": "call me @ noon", "total": "129.95"})

    assert identifier_keys_in(body.encode()) == []


def test_a_batch_of_many_visitors_is_indexed_by_its_first_ones_only() -> None:
    batch = {"batch": [{"anonymousId": f"visitor-{n}"} for n in range(MAX_INDEXED + 50)]}

    assert len(identifier_keys_in(json.dumps(batch).encode())) == MAX_INDEXED


def test_a_hubspot_batch_is_indexed_by_every_contact_id_it_names() -> None:
    [merge] = sample("hubspot", "contact_merge")
    [to_contact, to_line_item] = sample("hubspot", "deal_association_change")
    generic_creation = sample("hubspot", "contact_creation")[0] | {
        "subscriptionType": "object.creation",
        "objectTypeId": "0-1",
        "objectId": 5103,
    }
    # A contact's side of an association, the contact first; the deal's creation names no contact.
    contact_side = to_contact | {"associationType": "CONTACT_TO_COMPANY", "fromObjectId": 5104, "toObjectId": 301}
    # Whatever else is wrong with the batch (here, an event without occurredAt), the contacts are found.
    broken = merge | {"occurredAt": None, "mergedObjectIds": [5102, 5105], "newObjectId": 5106}
    batch = [broken, to_contact, to_line_item, generic_creation, contact_side, *sample("hubspot", "deal_creation")]

    keys = identifier_keys_in(json.dumps(batch).encode(), get_source("hubspot"))

    assert sorted(key for key in keys if key.startswith("hubspot")) == [
        f"hubspot_contact_id#{contact}" for contact in (5101, 5102, 5103, 5104, 5105, 5106)
    ]
