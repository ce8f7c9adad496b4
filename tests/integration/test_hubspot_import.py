"""`omnijourney import hubspot --stage` on moto: HubSpot's objects, read through its own client from the local HubSpot,
queued on the stage's events queue as the events the `hubspot` source makes of their webhooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnijourney_tools.cli import main
from omnijourney_tools.local import LocalBackend
from omnijourney_tools.local.hubspot import LocalHubSpot
from tests.conftest import RECEIVED_AT
from tests.integration.events_queue import queued_events


def test_an_import_to_a_stage_queues_each_contact_and_deal_as_the_hubspot_source_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "import.checkpoint"
    with LocalHubSpot() as crm, LocalBackend(stage="test", start=RECEIVED_AT) as backend:
        crm.add("contacts", "5101", email="lena.fischer@example.com", firstname="Lena")
        crm.add("line_items", "7101", hs_sku="SHOE-TRAIL-42", quantity=10, price="129.90")
        associations = {"contacts": ["5101"], "line_items": ["7101"]}
        crm.add("deals", "9101", associations, dealstage="closedwon", amount="1299.00")
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", crm.token)

        imported = main(["import", "hubspot", "--stage", "test", "--host", crm.url, "--checkpoint", str(checkpoint)])

        assert imported == 0
        events = queued_events(backend.queue_url)
    assert not checkpoint.exists()
    assert {event.source for event in events} == {"hubspot"}
    assert {event.received_at for event in events} == {RECEIVED_AT}
    contact = [identifier.key for event in events for identifier in event.identifiers if identifier.kind == "email"]
    assert contact == ["email#lena.fischer@example.com"]
    assert {event.deal.deal_id for event in events if event.deal} == {"9101"}
