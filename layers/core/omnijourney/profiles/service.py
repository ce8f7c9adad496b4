"""Recording an event on the one profile it belongs to: identity resolution, merge, optimistic locking."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from omnijourney.events import CanonicalEvent
from omnijourney.identifiers import (
    CRM_RECORD_IDS,
    LINK_ONLY,
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    Refusal,
    canonical,
    masked,
)
from omnijourney.platform import clock
from omnijourney.platform.errors import MalformedPayload, NotFound, Unavailable
from omnijourney.profiles import store
from omnijourney.profiles.lifecycle import lifecycle as configured_lifecycle
from omnijourney.profiles.model import Profile, apply_event, merge_profiles, new_profile, without_identifiers
from omnijourney.profiles.view import name_of, profile_view

MAX_ATTEMPTS = 8
Written = TypeVar("Written")
# Customer ids derive from the event that created the customer: deterministic, and unique because event ids are.
CUSTOMER_NAMESPACE = uuid.UUID("6f1c0a4e-7d3b-4c55-9e0f-0b5a8c2d1e37")


@dataclass(frozen=True)
class ProfileUpdate:
    """What recording one event did: which customer, whether anything changed, stage transitions, merges."""

    customer_id: str
    profile: Profile
    changed: bool
    created: bool = False
    previous_stage: str | None = None
    merged: list[str] = field(default_factory=list)
    # Every id this event merged into the survivor: the merged profiles' and those they had absorbed before.
    absorbed: list[str] = field(default_factory=list)

    event_id: str = ""

    @property
    def stage_changed(self) -> bool:
        """This event moved the profile into its stage (also when it is being retried)."""
        return self.previous_stage != self.profile.lifecycle_stage or self.profile.stage_entered_by == self.event_id


class NamesErasedRecord(Exception):
    """The event names a CRM record erased for a GDPR request (its tombstone: app.removals): recorded nowhere."""


def customer_id_for(event: CanonicalEvent) -> str:
    return f"cus_{uuid.uuid5(CUSTOMER_NAMESPACE, event.event_id).hex[:20]}"


def identifier_keys(event: CanonicalEvent) -> list[str]:
    """The identity index's keys an event is recorded under (or links through)."""
    keys = [identifier.key for identifier in event.identifiers]
    # Segment's previousId may have been an anonymousId or a userId.
    for previous in event.previous_ids:
        keys += [
            f"{IdentifierKind.anonymous_id.value}#{previous}",
            f"{IdentifierKind.user_id.value}#{previous}",
        ]
    return list(dict.fromkeys(keys))


def _retrying(write: Callable[[], Written], what: str) -> Written:
    """`write` again (it reloads) while a concurrent writer got there first, with jittered backoff."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return write()
        except store.ConcurrentUpdate:
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security
    raise Unavailable(f"{what} kept changing under us; {MAX_ATTEMPTS} attempts")


# What the profile derives from its events beyond apply_event, given (before, after, event): segment membership,
# which the journey runtime computes (runtime.triggers.with_segments), handed in so profiles need not know journeys.
Derive = Callable[[Profile | None, Profile, CanonicalEvent], Profile]


def _as_applied(before: Profile | None, after: Profile, event: CanonicalEvent) -> Profile:
    return after


def record_event(
    event: CanonicalEvent, derive: Derive = _as_applied, keep_properties: Collection[str] = (), *, history: bool = True
) -> ProfileUpdate:
    """Apply the event to its customer's profile (and what `derive` adds, in the same write), retrying when a
    concurrent writer got there first; its history entry keeps the properties in `keep_properties`. An event naming
    a CRM record erased for a GDPR request is recorded nowhere (NamesErasedRecord), checked in the same read as its
    identifiers' owners.

    The history entry is written before the profile: an event processed at the same time for the same customer
    then either sees it, or loses the profile write to this one and, computing again, sees it (segments count
    the history). Written once per customer id an attempt writes to; none with `history` False (a profile that is
    nobody's, which nothing reads the history of)."""
    written: set[str] = set()

    def remember(customer_id: str) -> None:
        if history and customer_id not in written:
            store.append_history(customer_id, event, keep_properties)
            written.add(customer_id)

    return _retrying(lambda: _record_once(event, derive, remember), f"profile for {event.event_id}")


def amend(customer_id: str, change: Callable[[Profile], Profile]) -> Profile | None:
    """Apply a journey's change (tags, traits, a note) to the live profile; None if the customer is gone."""

    def once() -> Profile | None:
        record = store.load(customer_id)
        if record is None:
            return None
        after = change(record.profile)
        if after != record.profile:
            store.save(record, after, [])
        return after

    return _retrying(once, f"profile {customer_id}")


_LINKING = tuple(f"{kind.value}#" for kind in LINK_ONLY)


def _linked(keys: list[str], owned: dict[str, str]) -> dict[str, store.ProfileRecord]:
    """The live profiles the event's identifiers (`owned`: key → its owner) lead to, by customer id.

    An event that names a person (any key not link-only) links through its link-only keys (an order) only to a
    profile that names nobody yet, made by such keys alone: a record shared by two people must not merge them (a
    HubSpot deal's events never name a person with the deal: app.crm_deals keeps them apart)."""
    live: dict[str, store.ProfileRecord] = {}
    for customer_id in dict.fromkeys(owned.values()):
        record = store.load(customer_id)
        if record is not None:
            live[customer_id] = record
    people = {live[owner].customer_id for key, owner in owned.items() if not key.startswith(_LINKING) and owner in live}
    if any(not key.startswith(_LINKING) for key in keys):
        owned = {
            key: owner
            for key, owner in owned.items()
            if owner in live and (live[owner].customer_id in people or not live[owner].profile.identifiers)
        }
    return {live[owner].customer_id: live[owner] for owner in owned.values() if owner in live}


def _record_once(event: CanonicalEvent, derive: Derive, remember: Callable[[str], None]) -> ProfileUpdate:
    lifecycle = configured_lifecycle()
    keys = identifier_keys(event)
    erasable = [identifier.key for identifier in event.identifiers if identifier.kind in CRM_RECORD_IDS]
    everyone, erased = store.owners_unless_erased(keys, erasable)
    if erased:
        raise NamesErasedRecord(f"{len(erased)} of the event's identifiers erased")
    records = _linked(keys, everyone)
    # Previous ids only link to customers that exist; they are not identifiers of their own. A link-only key another
    # person holds stays theirs.
    claimable = [identifier.key for identifier in event.identifiers if identifier.key not in everyone]
    if not records:
        profile = derive(
            None, apply_event(new_profile(customer_id_for(event), event.occurred_at), event, lifecycle), event
        )
        remember(profile.customer_id)
        store.create(profile, claimable)
        return ProfileUpdate(
            profile.customer_id, profile, changed=True, created=True, previous_stage=None, event_id=event.event_id
        )
    ordered = sorted(records.values(), key=lambda record: (record.profile.created_at, record.customer_id))
    winner, losers = ordered[0], ordered[1:]
    before = winner.profile
    merged = before
    for loser in losers:
        merged = merge_profiles(merged, loser.profile)
    after = derive(before, apply_event(merged, event, lifecycle), event)
    # Read before the merge writes: it empties the merged profiles' records.
    absorbed = [customer_id for loser in losers for customer_id in (loser.customer_id, *loser.profile.merged_from)]
    remember(winner.customer_id)
    if losers:
        store.merge(winner, after, losers, claimable)
    elif after != before or claimable:
        store.save(winner, after, claimable)
    return ProfileUpdate(
        winner.customer_id,
        after,
        changed=after != before,
        previous_stage=before.lifecycle_stage,
        event_id=event.event_id,
        merged=[loser.customer_id for loser in losers],
        absorbed=absorbed,
    )


def unlink(identifiers: Collection[Identifier]) -> list[Profile]:
    """Unlink identifiers from whoever holds them (the CRM deleted the record they named: a duplicate contact); the
    customers stay, with everything else they are known by, and each identifier stays as an alias that only an erasure
    naming it reads (store.unlinked_key). The profiles they were unlinked from, as they are now, by customer id."""
    keys = [identifier.key for identifier in identifiers]

    def once(owner: str) -> Profile | None:
        # Read again on each attempt: a merge meanwhile re-points the identity to the survivor.
        owned = {key: held_by for key, held_by in store.owners(keys).items() if held_by == owner}
        record = store.load(owner)
        if record is None or not owned:
            return None
        after = without_identifiers(record.profile, identifiers)
        store.unlink(record, after, owned)
        return after

    # A customer's own id and one merged into it may both hold some: one customer, listed once.
    unlinked = [
        _retrying(partial(once, owner), f"profile {owner}") for owner in dict.fromkeys(store.owners(keys).values())
    ]
    by_customer = {profile.customer_id: profile for profile in unlinked if profile is not None}
    return [by_customer[customer_id] for customer_id in sorted(by_customer)]


def find(kind: IdentifierKind, value: str) -> store.ProfileRecord:
    """The customer an identifier belongs to, given in any form it is written in (normalised as events are)."""
    try:
        identifier = Identifier.checked(kind, value)
    except InvalidIdentifier as refused:
        # Refused on the way in too, so nobody can have it; the answer says why, not the value.
        raise NotFound(f"no customer has this {kind.value}: {refused.reason.value}", field=kind.value) from None
    customer_id = store.owners([identifier.key]).get(identifier.key)
    record = store.load(customer_id) if customer_id else None
    if record is None:
        raise NotFound(f"no customer has {kind.value} {identifier.value}", field=kind.value)
    return record


def get(customer_id: str) -> store.ProfileRecord:
    record = store.load(customer_id)
    if record is None:
        raise NotFound(f"no customer {customer_id}", field="customer_id")
    return record


def view_of(
    record: store.ProfileRecord, with_activity: bool = True, pending_messages: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The profile view as of now, with the newest activity across merged ids (and `pending_messages`, the
    unconfirmed sends app.profile_views reads from the ledger, when given)."""
    profile = record.profile
    activity = store.history([record.customer_id, *profile.merged_from]) if with_activity else None
    return profile_view(profile, configured_lifecycle(), clock.now(), activity, pending_messages=pending_messages)


class Orphaned(StrEnum):
    """Why a stored identifier today's rules accept is still a finding."""

    # Today's rules write the value differently (`email#lena@xn--bcher-kva.de` is now `lena@bücher.de`): events
    # carrying it claim the new key, so the stored one links nobody new, and the same person may have a second profile.
    renormalised = "renormalised"


@dataclass(frozen=True)
class RefusedIdentity:
    """A stored identifier today's rules refuse or write differently, and the customer it links
    (`omnijourney identities audit`)."""

    customer_id: str
    kind: IdentifierKind
    reason: Refusal | Orphaned
    masked_value: str
    merged_profiles: int  # how many other profiles were merged into this one, possibly through it


def refused_identities() -> list[RefusedIdentity]:
    """Every identity the rules in force refuse, or normalise to another key (both stored before the rules were), by
    customer: the profiles to review."""
    found = []
    kinds = {kind.value for kind in IdentifierKind}
    for identity in store.IdentityRecord.scan():
        kind, _, value = identity.identifier.partition("#")
        if kind not in kinds:  # an unlinked identifier's alias or an erased one's tombstone: it links nobody
            continue
        reason: Refusal | Orphaned
        try:
            if canonical(IdentifierKind(kind), value) == value:
                continue
            reason = Orphaned.renormalised
        except InvalidIdentifier as refused:
            reason = refused.reason
        record = store.load(identity.customer_id)
        if record is None:  # erased since
            continue
        merged = len(record.profile.merged_from)
        found.append(RefusedIdentity(record.customer_id, IdentifierKind(kind), reason, masked(value), merged))
    return sorted(found, key=lambda finding: (finding.customer_id, finding.kind, finding.masked_value))


LOOKUP_KEYS = (IdentifierKind.phone, IdentifierKind.email, IdentifierKind.loyalty_id)


def looked_up(query: Mapping[str, str]) -> store.ProfileRecord:
    """`?phone=` | `?email=` | `?loyalty_id=`: exactly one of them."""
    given = [kind for kind in LOOKUP_KEYS if query.get(kind.value)]
    if len(given) != 1:
        names = ", ".join(kind.value for kind in LOOKUP_KEYS)
        raise MalformedPayload(f"give exactly one of {names}", field="query")
    return find(given[0], query[given[0].value])


def named(first_name: str, last_name: str) -> dict[str, Any]:
    """`?first_name=&last_name=`: every customer with that name, each listed apart (a name links nobody)."""
    given = {"first_name": first_name.strip(), "last_name": last_name.strip()}
    if missing := [name for name, value in given.items() if not value]:
        raise MalformedPayload("give both first_name and last_name", field=missing[0])
    return _listed(store.named(first_name, last_name))


def search(wanted: Mapping[str, str | None]) -> dict[str, Any]:
    """Staff's search: exactly one of phone, email and loyalty id, or a first and last name. Every customer found is
    listed (none, one, or namesakes); the customer's page is then read by id."""
    keys = [kind for kind in LOOKUP_KEYS if wanted.get(kind.value)]
    first_name, last_name = (wanted.get("first_name") or "").strip(), (wanted.get("last_name") or "").strip()
    by_name = bool(first_name or last_name)
    if len(keys) + by_name != 1:
        names = ", ".join(kind.value for kind in LOOKUP_KEYS)
        raise MalformedPayload(f"give exactly one of {names}, or a first_name and last_name", field="body")
    if by_name:
        return named(first_name, last_name)
    kind, value = keys[0], wanted[keys[0].value] or ""
    try:
        Identifier.checked(kind, value)
    except InvalidIdentifier as refused:
        # Said, not answered with nobody: staff retype a mistyped phone rather than conclude it is a new customer.
        raise MalformedPayload(f"{kind.value} is not valid ({refused.reason.value})", field=kind.value) from None
    try:
        return _listed([find(kind, value)])
    except NotFound:
        return _listed([])


def _listed(records: Iterable[store.ProfileRecord]) -> dict[str, Any]:
    lifecycle = configured_lifecycle()
    now = clock.now()
    return {
        "customers": [
            {
                "customer_id": record.customer_id,
                **name_of(record.profile),
                "lifecycle_stage": lifecycle.stage_of(record.profile, now),
                # Enough for staff to tell two namesakes apart, no more: the rest is on the customer's page.
                "identifiers": {kind.value: list(record.profile.identifiers.get(kind, ())) for kind in LOOKUP_KEYS},
            }
            for record in records
        ]
    }
