"""Shopify's orders/updated on the local backend: the order's current state joins the profile's order (a void seen
only there voids it), and an update is never an order completed for journeys: it starts, converts and resumes
nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from omnijourney.runtime import runs as journey_runs
from tests.conftest import delivery, sample, signed
from tests.integration.conftest import Harness


def order(topic: str, **changes: Any) -> Any:
    """The voided sample's order, as Shopify delivers it under `topic`, with `changes`."""
    body = json.dumps(sample("shopify", "orders_updated_voided") | changes).encode()
    item = delivery("shopify", "orders_updated_voided", body=body)
    return signed(replace(item, headers=dict(item.headers) | {"X-Shopify-Topic": topic}))


def runs() -> dict[str, str]:
    return {run.journey: run.outcome for run in journey_runs.every_run()}


def test_an_order_update_completes_no_order_for_journeys_and_the_order_itself_does(harness: Harness) -> None:
    harness.deliver(signed(delivery("shopify", "checkouts_create")))
    assert runs() == {"abandoned_cart": "running"}

    # Shopify sends orders/updated as an order is paid, often before orders/create arrives.
    status, body = harness.deliver(order("orders/updated", financial_status="paid"))
    assert (status, body["accepted"]) == (202, 1)
    [record] = harness.live_profiles()
    assert [(kept.state, kept.total) for kept in record.profile.orders] == [("placed", Decimal("129.95"))]
    assert runs() == {"abandoned_cart": "running"}  # not converted, and no post-purchase journey started

    harness.deliver(order("orders/create", financial_status="paid", updated_at=None))
    assert runs() == {"abandoned_cart": "goal", "post_purchase": "running"}


def test_a_void_seen_only_on_orders_updated_takes_the_order_out_of_revenue(harness: Harness) -> None:
    placed = {"financial_status": "authorized", "updated_at": "2026-03-06T18:40:12+01:00"}
    harness.deliver(order("orders/create", **placed))
    [record] = harness.live_profiles()
    assert [kept.state for kept in record.profile.orders] == ["placed"]
    started = runs()

    harness.deliver(order("orders/updated"))  # the sample: financial_status voided
    [record] = harness.live_profiles()
    [voided] = record.profile.orders
    assert (voided.state, voided.revenue, record.profile.kept_orders) == ("voided", 0, ())
    assert runs() == started
    assert harness.backend.dead_letters() == []
