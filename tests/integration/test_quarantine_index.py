"""Quarantined deliveries are indexed by the identifiers they carry: erasure finds and deletes every version of a
customer's, and a replay leaves nothing behind, while another customer's stay."""

from __future__ import annotations

import json
from typing import Any

from omnijourney.edge.quarantine import INDEX_PREFIX, index_digest
from omnijourney.platform.aws import client
from omnijourney.platform.settings import get_settings
from omnijourney_tools.quarantine import list_quarantined, replay
from tests.conftest import delivery, sample, signed
from tests.integration.conftest import Harness

LENA_PHONE = "+4915123456789"


def stored_versions() -> list[str]:
    """Every version and delete marker in the quarantine bucket, by key."""
    pages = client("s3").get_paginator("list_object_versions").paginate(Bucket=get_settings().quarantine_bucket)
    return sorted(
        version["Key"] for page in pages for version in page.get("Versions", []) + page.get("DeleteMarkers", [])
    )


def quarantine_broken_order(harness: Harness, order: dict[str, object]) -> str:
    """A signed order whose first line names no product: 400, kept under the key answered."""
    order["line_items"][0] |= {"sku": None, "variant_id": None, "id": None}  # type: ignore[index]
    status, body = harness.post(signed(delivery("shopify", "orders_create_pos", body=json.dumps(order).encode())))
    assert status == 400, body
    return str(body["quarantine_id"])


def someone_elses_order() -> dict[str, object]:
    order: dict[str, Any] = sample("shopify", "orders_create_pos")
    order["contact_email"] = order["email"] = order["customer"]["email"] = "jonas.weber@example.org"
    order["phone"] = order["customer"]["phone"] = order["billing_address"] = order["shipping_address"] = None
    order["customer"]["id"] = 7390999999999
    return order


def test_a_delivery_is_indexed_by_each_identifier_it_carries(harness: Harness) -> None:
    key = quarantine_broken_order(harness, sample("shopify", "orders_create_pos"))

    for identifier in ("email#lena.fischer@example.com", f"phone#{LENA_PHONE}"):
        assert f"{INDEX_PREFIX}{index_digest(identifier)}/{key}" in stored_versions()
    assert list_quarantined() == [key]  # the index is not listed as quarantined


def test_erasure_deletes_every_version_of_the_customers_quarantined_deliveries_and_keeps_the_others(
    harness: Harness,
) -> None:
    assert harness.deliver(signed(delivery("shopify", "orders_create_pos")))[0] == 202
    # Shopify sends the broken order again: a second version of the same object.
    lenas = [quarantine_broken_order(harness, sample("shopify", "orders_create_pos")) for _ in range(2)]
    jonas = quarantine_broken_order(harness, someone_elses_order())
    assert lenas[0] == lenas[1]
    assert stored_versions().count(lenas[0]) == 2
    status, lena = harness.lookup(phone=LENA_PHONE)
    assert status == 200

    assert harness.erase(lena["customer_id"])[0] == 200

    left = stored_versions()
    assert lenas[0] not in left
    assert all(not key.endswith(lenas[0]) for key in left)  # nor any index entry leading to it
    assert list_quarantined() == [jonas]
    assert f"{INDEX_PREFIX}{index_digest('email#jonas.weber@example.org')}/{jonas}" in left


def test_a_replayed_delivery_leaves_no_version_and_no_index_entry(harness: Harness) -> None:
    fixed = delivery("shopify", "orders_create_pos").body
    _, body = harness.post(signed(delivery("shopify", "orders_create_pos", body=fixed[:-5])))
    assert stored_versions()

    replay(body["quarantine_id"], fixed)

    assert stored_versions() == []


def test_a_hubspot_batch_that_does_not_parse_is_indexed_by_the_contacts_it_names(harness: Harness) -> None:
    [merge] = sample("hubspot", "contact_merge")
    broken = [merge | {"occurredAt": None}]
    status, body = harness.post(signed(delivery("hubspot", "contact_merge", body=json.dumps(broken).encode())))
    assert status == 400, body

    for contact in (5101, 5102):
        entry = f"{INDEX_PREFIX}{index_digest(f'hubspot_contact_id#{contact}')}/{body['quarantine_id']}"
        assert entry in stored_versions()
