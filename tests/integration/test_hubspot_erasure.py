"""A HubSpot GDPR deletion erases the customer whatever the order its events are processed in, and a retry finishes an
erasure that failed part way; a plain deletion unlinks a contact id wherever the merges left it. Through the real
handlers on moto."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from omnijourney.profiles import service
from omnijourney.profiles.store import IdentityRecord, ProfileRecord
from tests.conftest import sample
from tests.integration.conftest import Harness
from tests.integration.test_hubspot import EMAIL, PHONE, contact, hubspot

LENA = 5101


def changes(object_id: int, event_id: int, **properties: str) -> list[dict[str, Any]]:
    """HubSpot's property-change events for one contact, one per property, a second apart."""
    told = contact(object_id, event_id, **properties)
    return [event | {"occurredAt": event["occurredAt"] + 1000 * event["eventId"]} for event in told]


def gdpr_deletion(object_id: int, event_id: int) -> list[dict[str, Any]]:
    return [sample("hubspot", "contact_privacy_deletion")[0] | {"objectId": object_id, "eventId": event_id}]


def plain_deletion(object_id: int, event_id: int) -> list[dict[str, Any]]:
    return [sample("hubspot", "contact_deletion")[0] | {"objectId": object_id, "eventId": event_id}]


def identities() -> list[str]:
    """Every identity record left, tombstones aside."""
    return sorted(record.identifier for record in IdentityRecord.scan() if not record.identifier.startswith("erased#"))


def test_a_gdpr_deletion_after_a_plain_deletion_of_the_same_contact_still_erases_the_customer(
    harness: Harness,
) -> None:
    hubspot(harness, "contact_property_change", changes(LENA, 1, email=EMAIL, firstname="Lena"))
    hubspot(harness, "contact_deletion", plain_deletion(LENA, 10))
    assert harness.lookup(email=EMAIL)[0] == 200
    # `omnijourney identities audit` reads past the alias the unlinked id left.
    assert service.refused_identities() == []

    hubspot(harness, "contact_privacy_deletion", gdpr_deletion(LENA, 11))

    assert harness.lookup(email=EMAIL)[0] == 404
    assert harness.live_profiles() == []
    assert identities() == []


def test_contact_events_processed_after_its_gdpr_deletion_make_no_profile(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The queue, a HubSpot retry or a redrive delivers the contact's events after its GDPR deletion.
    hubspot(harness, "contact_privacy_deletion", gdpr_deletion(LENA, 20))
    counted: list[str] = []
    monkeypatch.setattr(Metrics, "add_metric", lambda _, name, **__: counted.append(name))
    caplog.set_level(logging.INFO, logger="omnijourney")

    hubspot(harness, "contact_property_change", changes(LENA, 1, email=EMAIL, phone=PHONE, firstname="Lena"))

    assert harness.live_profiles() == []
    assert harness.lookup(email=EMAIL)[0] == 404
    assert identities() == []
    # Counted, one per event, and logged without what the events carry.
    assert counted.count("EventsDroppedAsErased") == 3
    dropped = [record for record in caplog.records if record.getMessage() == "event dropped"]
    assert len(dropped) == 3
    assert not [record for record in caplog.records if EMAIL in str(record.__dict__) or "5101" in str(record.__dict__)]


def test_another_contact_is_recorded_after_a_gdpr_deletion(harness: Harness) -> None:
    hubspot(harness, "contact_privacy_deletion", gdpr_deletion(LENA, 20))
    hubspot(harness, "contact_property_change", changes(5102, 1, email=EMAIL))
    assert harness.lookup(email=EMAIL)[0] == 200


def throttled_once(monkeypatch: pytest.MonkeyPatch, model: type[ProfileRecord]) -> None:
    """The model's next batch write refused as DynamoDB refuses one over its throughput; the one after goes through."""
    batch_write = model.batch_write
    refusals = [PutError("Failed to batch write items", cause=_throughput_exceeded())]

    def once(*args: Any, **kwargs: Any) -> Any:
        if refusals:
            raise refusals.pop()
        return batch_write(*args, **kwargs)

    monkeypatch.setattr(model, "batch_write", once)


def _throughput_exceeded() -> ClientError:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds"}
    return ClientError({"Error": error}, "BatchWriteItem")


def test_a_gdpr_erasure_throttled_after_its_identities_went_is_finished_by_the_retry(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    hubspot(harness, "contact_property_change", changes(LENA, 1, email=EMAIL, firstname="Lena"))
    # The identities and the history go, then the profiles' delete is throttled: the queue delivers the event again.
    throttled_once(monkeypatch, ProfileRecord)

    hubspot(harness, "contact_privacy_deletion", gdpr_deletion(LENA, 20))

    assert harness.live_profiles() == []
    assert list(ProfileRecord.scan()) == []
    assert identities() == []


def test_a_plain_deletion_of_a_contact_id_left_on_a_merged_away_customer_unlinks_it(harness: Harness) -> None:
    hubspot(harness, "contact_property_change", changes(LENA, 1, email=EMAIL))
    # One person, eleven duplicate contacts: the profile lists ten contact ids (the cap), the index holds all eleven.
    duplicates = list(range(5201, 5212))
    hubspot(harness, "contact_property_change", [e for n in duplicates for e in changes(n, 100 + n, phone=PHONE)])
    merge = sample("hubspot", "contact_merge")[0] | {"eventId": 30, "mergedObjectIds": [5201], "newObjectId": LENA}
    hubspot(harness, "contact_merge", [merge])
    assert len(harness.live_profiles()) == 1
    # 5211 was capped off the merged-away profile: its identity still names that customer id.
    assert IdentityRecord.count("hubspot_contact_id#5211") == 1

    hubspot(harness, "contact_deletion", plain_deletion(5211, 40))

    assert IdentityRecord.count("hubspot_contact_id#5211") == 0
    assert harness.lookup(email=EMAIL)[0] == 200
    # Unlinked, it still finds the customer for HubSpot's GDPR deletion of that contact.
    hubspot(harness, "contact_privacy_deletion", gdpr_deletion(5211, 41))
    assert harness.live_profiles() == []
    assert identities() == []
