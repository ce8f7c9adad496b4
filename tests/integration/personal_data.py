"""The personal data in a scenario's payloads, for the tests that search for it where it must not be (after erasure,
in the logs)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from omnijourney.identifiers import normalise_phone
from omnijourney_tools.simulation.scenario import DeliveryLine, EraseLine, LookupLine, ScenarioLine

# Payload fields that hold what names a person (an address, a name, a vendor's or a device's id for them). Product,
# shop and app names are left out: `name` is all of those too.
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "contact_email",
        "phone",
        "first_name",
        "last_name",
        "address1",
        "address2",
        "anonymousId",
        "userId",
        "external_id",
        "loyalty_id",
        "requester_id",
        "ip",
        "From",  # Twilio's sender
    }
)
# Objects whose own `id` is the person's id at the vendor.
PERSON_OBJECTS = frozenset({"customer", "requester", "user"})


def personal_values(value: Any, within: str = "") -> Iterator[str]:
    """Every value of a payload a person is known by, as the payload spells it."""
    if isinstance(value, dict):
        for key, item in value.items():
            named = key in PERSONAL_FIELDS or (key == "id" and within in PERSON_OBJECTS)
            if named and isinstance(item, str | int) and not isinstance(item, bool) and item != "":
                yield str(item)
            yield from personal_values(item, key)
        first, last = value.get("first_name"), value.get("last_name")
        if isinstance(first, str) and isinstance(last, str):
            yield f"{first} {last}"
    elif isinstance(value, list):
        for item in value:
            yield from personal_values(item, within)


def needles(lines: Iterable[ScenarioLine]) -> set[str]:
    """What to search for: each personal value as delivered, looked up or erased by, and as the backend normalises
    it. Values with no letter or digit in them ("@") name nobody."""
    found: set[str] = set()
    for line in lines:
        if isinstance(line, DeliveryLine):
            found.update(personal_values(line.body if line.form is None else line.form))
        elif isinstance(line, LookupLine):
            found.update(line.lookup.values())
        elif isinstance(line, EraseLine):
            found.update(line.erase.values())
    phones = {normalise_phone(value) for value in found if value.startswith("+")}
    emails = {value.lower() for value in found if "@" in value}
    return {value for value in found | emails | phones if value and any(char.isalnum() for char in value)}
