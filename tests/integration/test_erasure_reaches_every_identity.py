"""Erasure deletes every identifier a customer ever claimed: past the profile's caps and on merged-away ids too."""

from __future__ import annotations

import json

from omnijourney.identifiers import IdentifierKind
from omnijourney.profiles import store
from omnijourney.profiles.model import MAX_IDENTIFIERS, MAX_IDENTIFIERS_DEFAULT
from tests.conftest import delivery, sample, signed
from tests.integration.conftest import Harness

# More addresses than a profile lists: the identities table holds them all, the profile only the capped subset.
EMAILS_EACH = MAX_IDENTIFIERS.get(IdentifierKind.email, MAX_IDENTIFIERS_DEFAULT) + 3
LENA = [f"lena.{n:02}@example.com" for n in range(EMAILS_EACH)]
LENA_AT_WORK = [f"l.fischer.{n:02}@work.example.com" for n in range(EMAILS_EACH)]


def identify(harness: Harness, anonymous_id: str, message_id: str, email: str) -> None:
    message = sample("segment", "identify_app") | {"anonymousId": anonymous_id, "messageId": message_id}
    message |= {"userId": None, "traits": {"email": email}}
    status, body = harness.deliver(signed(delivery("segment", "identify_app", body=json.dumps(message).encode())))
    assert status == 202, body


def identities() -> dict[str, str]:
    return {record.identifier: record.customer_id for record in store.IdentityRecord.scan()}


def lena_on_two_devices_then_merged(harness: Harness) -> tuple[store.ProfileRecord, str]:
    """Lena gives many addresses in the app and many on her work laptop; then one address links the two."""
    for n, email in enumerate(LENA):
        identify(harness, "phone-of-lena", f"phone-{n}", email)
    for n, email in enumerate(LENA_AT_WORK):
        identify(harness, "laptop-of-lena", f"laptop-{n}", email)
    assert len(harness.live_profiles()) == 2
    identify(harness, "laptop-of-lena", "laptop-links-phone", LENA[0])
    [winner] = harness.live_profiles()
    [merged_away] = winner.profile.merged_from
    return winner, merged_away


def test_erasure_deletes_identities_past_the_cap_and_on_merged_away_ids(harness: Harness) -> None:
    winner, merged_away = lena_on_two_devices_then_merged(harness)
    held = identities()
    assert len(held) == 2 * EMAILS_EACH + 2  # every address and both devices
    # What makes it hard: the profile lists only some of them, and some still name the merged-away id.
    assert set(held) - set(winner.profile.identifier_keys)
    assert merged_away in held.values()

    status, body = harness.erase(winner.customer_id)

    assert status == 200
    assert sorted(body["erased"]) == sorted([winner.customer_id, merged_away])
    assert identities() == {}
    for email in LENA + LENA_AT_WORK:
        assert harness.lookup(email=email)[0] == 404, email
    assert list(store.ProfileRecord.scan()) == []


def test_an_address_given_again_after_erasure_belongs_to_the_new_customer(harness: Harness) -> None:
    winner, _ = lena_on_two_devices_then_merged(harness)
    assert harness.erase(winner.customer_id)[0] == 200
    past_the_cap = LENA_AT_WORK[-1]

    identify(harness, "new-phone-of-lena", "after-erasure", past_the_cap)

    [returning] = harness.live_profiles()
    assert returning.customer_id != winner.customer_id
    assert identities() == {
        f"email#{past_the_cap}": returning.customer_id,
        "anonymous_id#new-phone-of-lena": returning.customer_id,
    }
    status, profile = harness.lookup(email=past_the_cap)
    assert status == 200
    assert profile["customer_id"] == returning.customer_id
