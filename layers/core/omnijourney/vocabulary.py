"""The message vocabulary every layer from the profiles up speaks: on which channel a message goes, and of what kind.

One set of `StrEnum`s for the journey language (and so its JSON Schema), the templates, the offers, the consistency
rules, the guards, the channel adapters, the ledger and the reports. A member is its string (`MessageChannel.email ==
"email"`, and it serialises as `"email"`), so what is stored and reported reads exactly as before.
"""

from __future__ import annotations

from enum import StrEnum

from omnijourney.events import ConsentChannel


class MessageChannel(StrEnum):
    """Where a journey's message goes: to an address (email, sms, push), or as a note for staff."""

    email = "email"
    sms = "sms"
    push = "push"
    in_store = "in_store"
    call_center = "call_center"


class Category(StrEnum):
    """What a message is, for the consent and consistency rules."""

    marketing = "marketing"
    transactional = "transactional"
    service = "service"


# The channels that deliver to an address under the customer's consent are exactly the channels consent is given
# for (the canonical event's `ConsentChannel`): the channel adapters and the consent rules are typed with it.
AddressedChannel = ConsentChannel
ADDRESSED: frozenset[MessageChannel] = frozenset(MessageChannel(channel.value) for channel in ConsentChannel)
# The channels that leave a note on the profile for staff (the store, the call centre) instead of sending.
NOTED: frozenset[MessageChannel] = frozenset(MessageChannel) - ADDRESSED


def addressed(channel: MessageChannel) -> AddressedChannel | None:
    """The consent channel a message on `channel` is delivered (and consented) on; None for a note."""
    return AddressedChannel(channel.value) if channel in ADDRESSED else None
