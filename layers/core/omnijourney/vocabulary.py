"""The message vocabulary every layer from the profiles up speaks: on which channel a message goes, of what kind,
and why one was held, deferred or went without its offer, or why a run ended.

One set of `StrEnum`s for the journey language (and so its JSON Schema), the templates, the offers, the consistency
rules, the guards, the channel adapters, the ledger and the reports. A member is its string (`MessageChannel.email ==
"email"`, and it serialises as `"email"`), so what is stored and reported reads exactly as before.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

from omnijourney.events import ConsentChannel, EventType


class MessageChannel(StrEnum):
    """Where a journey's message goes: to an address (email, sms, push), as a note for staff, or out to another
    system (a webhook target, a sales task in the CRM)."""

    email = "email"
    sms = "sms"
    push = "push"
    in_store = "in_store"
    call_center = "call_center"
    webhook = "webhook"
    sales_task = "sales_task"


class Category(StrEnum):
    """What a message is, for the consent and consistency rules."""

    marketing = "marketing"
    transactional = "transactional"
    service = "service"


# The channels that deliver to an address under the customer's consent are exactly the channels consent is given
# for (the canonical event's `ConsentChannel`): the channel adapters and the consent rules are typed with it.
AddressedChannel = ConsentChannel
ADDRESSED: frozenset[MessageChannel] = frozenset(MessageChannel(channel.value) for channel in ConsentChannel)
# The channels handed to another system by an adapter (channels.targets): a webhook target named in
# config/webhooks.yaml, a task for the contact's owner in HubSpot. Whose consent, quiet hours and caps hold them is
# the target's to say.
OUTBOUND: frozenset[MessageChannel] = frozenset({MessageChannel.webhook, MessageChannel.sales_task})
# The channels that leave a note on the profile for staff (the store, the call centre) instead of sending.
NOTED: frozenset[MessageChannel] = frozenset(MessageChannel) - ADDRESSED - OUTBOUND
# What the shop's staff read, so always in the shop's own language: the notes, and the sales team's tasks.
READ_BY_STAFF: frozenset[MessageChannel] = NOTED | {MessageChannel.sales_task}


def addressed(channel: MessageChannel) -> AddressedChannel | None:
    """The consent channel a message on `channel` is delivered (and consented) on; None for a note."""
    return AddressedChannel(channel.value) if channel in ADDRESSED else None


class Reason(StrEnum):
    """Why a message was held (suppressed) or deferred, went without its offer, or why a run ended: the fixed
    reasons the ledger and the run records store and the reports count (`exited_on` and `undeliverable` compose
    the others)."""

    # The run ends (a send step that finds it so is written to the ledger with the reason too).
    customer_erased = "customer_erased"
    goal_reached = "goal_reached"
    merged = "merged"  # two customers merged into one were in the same journey: the later run stops
    control_group = "control group"  # a split's holdout group
    exit_condition = "exit_condition"  # one of the journey's `exit_when` conditions holds (an event: `exited_on`)
    # The guards hold the message (runtime.guards, in this order).
    no_address = "no_address"
    opted_out = "opted_out"
    no_consent = "no_consent"
    already_purchased = "already_purchased"  # also why an offer is not presented
    empty_cart = "empty_cart"
    open_ticket = "open_ticket"  # deferred, then held once the ticket has held it long enough
    quiet_hours = "quiet_hours"  # deferred
    frequency_cap = "frequency_cap"
    outranked = "outranked"
    # The offer is not presented (offers.present): the step's `without_offer` goes, or the message is held.
    offer_not_on_promoted_products = "offer_not_on_promoted_products"
    offer_conflict = "offer_conflict"
    bought_at_full_price = "bought_at_full_price"
    offer_not_open = "offer_not_open"
    offer_used = "offer_used"
    offer_expired = "offer_expired"
    # The template could not be filled in for this customer (a value it needs is missing): the message is held.
    template_failed = "template_failed"


class SkipReason(StrEnum):
    """Why an event (or a schedule's firing) that starts a journey did not start it for this customer."""

    running = "running"  # a run of the journey is already in progress: one at a time per customer
    re_entry = "re_entry"  # the journey's `re_entry` rule: never again, or not yet
    audience = "audience"  # the customer is not in the journey's audience


# A reason composed from another vocabulary (an event type, a provider's failure): made only by the functions below,
# the one place that spells these families. A NewType rather than plain `str`, so a field typed
# `Reason | ComposedReason` takes no other string; at run time it is the string itself.
ComposedReason = NewType("ComposedReason", str)


def exited_on(event: EventType) -> ComposedReason:
    """The run ended on one of the journey's `exit_when` events: `exit_<event type>`."""
    return ComposedReason(f"exit_{event.value}")


def undeliverable(provider_reason: str) -> ComposedReason:
    """The provider refused the message for good (a bad address, a rejected message): `undeliverable_<its reason>`,
    the channel adapter's short snake_case word (channels.SendFailed)."""
    return ComposedReason(f"undeliverable_{provider_reason}")
