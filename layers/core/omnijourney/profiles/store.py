"""Where profiles live: pynamodb models (the one definition of each table) and the reads and writes on them.

Tables: profiles (one item per customer, optimistic locking by `version`), identities (identifier → customer; also
an unlinked identifier's alias and an erased one's tombstone), history (a bounded, expiring event trail per customer)
and idempotency (Powertools' records); each is a platform.tables.Table, bound to the table its setting names on first
use.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute, VersionAttribute
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.transactions import TransactWrite

from omnijourney.events import CanonicalEvent
from omnijourney.platform.errors import OmnijourneyError
from omnijourney.platform.settings import get_settings
from omnijourney.platform.tables import Table, connection, table_meta
from omnijourney.profiles.model import Profile

HISTORY_READ_LIMIT = 50
# Whatever else a transaction holds, identities are written in chunks that fit DynamoDB's 100 actions.
TRANSACTION_ACTIONS = 100
# How long an erased identifier's tombstone drops the events naming it: longer than the latest such an event can come
# (HubSpot retries for a day; the queue keeps a message 4 days, the DLQ 14, the quarantine a delivery 30).
TOMBSTONE_RETENTION = timedelta(days=60)
# A tombstone's owner: no customer id, so erasing a customer (by the by-customer index) never finds and deletes it.
TOMBSTONE_OWNER = "erased"


class ProfilesByName(GlobalSecondaryIndex["ProfileRecord"]):  # type: ignore[no-untyped-call]  # pynamodb's hook
    """The name index, for staff who know a customer only by name: a digest of the normalised first and last name →
    customer ids.

    Apart from the identities table on purpose: a name is shared by strangers, so it never links or merges anyone;
    a lookup lists every customer with it. Sparse (only live profiles with a first and a last name carry the key),
    and an attribute of the profile's own item, so erasing the profile erases its entry. Keys only: each result is
    then read from the table."""

    class Meta:
        index_name = "by-name"
        projection = KeysOnlyProjection()

    name_key = UnicodeAttribute(hash_key=True)


def name_key(first_name: str, last_name: str) -> str | None:
    """A digest of `first last` as staff may type it: accents stripped (NFKD without combining marks: "Müller" is
    "muller", not "mueller"), case folded ("ß" is "ss"), spaces collapsed. None without both names.

    A digest, not the name: a GSI key is at most 2048 bytes (a longer name would make the profile's write refused),
    and the index then holds no names in plain text."""

    def normal(name: str) -> str:
        decomposed = unicodedata.normalize("NFKD", name)
        bare = "".join(char for char in decomposed if not unicodedata.combining(char))
        return " ".join(bare.casefold().split())

    first, last = normal(first_name), normal(last_name)
    if not (first and last):
        return None
    return hashlib.sha256(f"{first}#{last}".encode()).hexdigest()


def _name_key_of(profile: Profile) -> str | None:
    traits = profile.traits
    first = traits.get("first_name") or traits.get("firstName")
    last = traits.get("last_name") or traits.get("lastName")
    return name_key(first, last) if isinstance(first, str) and isinstance(last, str) else None


class ProfileRecord(Table):
    Meta = table_meta("profiles_table")

    customer_id = UnicodeAttribute(hash_key=True)
    version = VersionAttribute()
    # Set on a profile that was merged into another; lookups follow it.
    merged_into = UnicodeAttribute(null=True)
    document = UnicodeAttribute(null=True)
    # The profile's name as the name index keys it (name_key); None on merged-away and nameless profiles.
    name_key = UnicodeAttribute(null=True)
    by_name = ProfilesByName()

    def hold(self, profile: Profile) -> None:
        """Store `profile` in this record, with its name index key."""
        self.document = _document(profile)
        self.name_key = _name_key_of(profile)

    @property
    def profile(self) -> Profile:
        return Profile.model_validate_json(self.document or "{}")


def _document(profile: Profile) -> str:
    """The stored JSON, without the fields that hold their defaults (they load as they were): write units go by
    the item's size, and a new profile's empty lists are a sixth of it."""
    return profile.model_dump_json(exclude_defaults=True)


class IdentitiesOfCustomer(GlobalSecondaryIndex["IdentityRecord"]):  # type: ignore[no-untyped-call]  # pynamodb's hook
    """Every identifier a customer id holds, those their capped profile no longer lists included: what erasure
    must delete. Keys only: the identifier is all a delete needs."""

    class Meta:
        index_name = "by-customer"
        projection = KeysOnlyProjection()

    customer_id = UnicodeAttribute(hash_key=True)


class IdentityRecord(Table):
    """An identifier → its customer (`email#lena@example.com`); an unlinked identifier's alias
    (`unlinked#hubspot_contact_id#5102` → the customer it was unlinked from: an erasure naming it still finds them,
    nothing else reads it); or an erased identifier's tombstone (`erased#<SHA-256 of the identifier key>`)."""

    Meta = table_meta("identities_table")

    identifier = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    by_customer = IdentitiesOfCustomer()
    # A tombstone's: the customer ids its erasure has still to erase (a retry finishes them); none once it is done.
    erasing = UnicodeSetAttribute(null=True)
    # A tombstone's: when it expires (TOMBSTONE_RETENTION after the erasure).
    expires_at = TTLAttribute(null=True)


def unlinked_key(identifier_key: str) -> str:
    """The alias an unlinked identifier leaves with its customer: it finds them for an erasure, and links nobody
    (events are recorded under `kind#value` keys only)."""
    return f"unlinked#{identifier_key}"


def tombstone_key(identifier_key: str) -> str:
    """An erased identifier's tombstone: a digest of the key, never the value."""
    return f"erased#{hashlib.sha256(identifier_key.encode()).hexdigest()}"


class HistoryRecord(Table):
    Meta = table_meta("history_table")

    customer_id = UnicodeAttribute(hash_key=True)
    # `<occurred_at>#<event_id>`: sorts by time, unique per event, so a replay rewrites the same item.
    entry = UnicodeAttribute(range_key=True)
    event_type = UnicodeAttribute()
    name = UnicodeAttribute()
    channel = UnicodeAttribute()
    source = UnicodeAttribute()
    # Consent the event gave or withdrew, {channel: {status, at}}: audits need what was allowed when.
    consent = UnicodeAttribute(null=True)
    # The event's properties a segment's `did`/`did_not` tests (journeys.segments), {name: value}; no others.
    properties = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self.entry.split("#", 1)[0])

    @property
    def event_id(self) -> str:
        return self.entry.split("#", 1)[1]

    @property
    def kept_properties(self) -> dict[str, Any]:
        return dict(json.loads(self.properties)) if self.properties else {}


class IdempotencyRecord(Table):
    """The key schema Powertools' DynamoDB persistence layer expects (it writes the other attributes)."""

    Meta = table_meta("idempotency_table")

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)


class ConcurrentUpdate(Exception):
    """Someone else changed the profile or claimed an identifier first: reload and apply again."""


class Refused(OmnijourneyError):
    """AWS refused the request itself, and no retry can mend it: DynamoDB an item past 400 KB or a key past its size,
    Step Functions an execution input past 256 KB. The one permanent error of recording an event: the profile
    function quarantines the event (pipeline.py) rather than let it go round the queue into the DLQ."""

    title = "Refused by the profile store"


# DynamoDB's codes for a rival writer (a condition on the version or an identity claim, a transaction racing ours),
# as an error code and as a transaction's cancellation reason; and for a request it will never take, with Step
# Functions' (an input past 256 KB is a ValidationException or InvalidExecutionInput, a bad execution name InvalidName).
CONFLICTS = {
    "ConditionalCheckFailedException",
    "ConditionalCheckFailed",
    "TransactionConflictException",
    "TransactionConflict",
}
REFUSALS = {"ValidationException", "ValidationError", "InvalidExecutionInput", "InvalidName"}


@contextmanager
def classified(refused: type[Refused] = Refused) -> Iterator[None]:
    """A rival writer is a ConcurrentUpdate, a request AWS will never take is `refused` (Refused or a kind of it);
    anything else (throttling, an outage) stays as it is, for the queue to deliver the event again. For pynamodb's
    errors and for a botocore client's (Step Functions)."""
    try:
        yield
    except PynamoDBException as error:
        codes = {error.cause_response_code}
        if isinstance(error, TransactWriteError):
            codes |= {reason.code for reason in error.cancellation_reasons if reason is not None}
        if codes & REFUSALS:
            message = error.cause_response_message or error.msg
            raise refused(f"DynamoDB refused the write: {message}") from error
        if codes & CONFLICTS:
            raise ConcurrentUpdate(str(error)) from error
        raise
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in REFUSALS:
            message = error.response.get("Error", {}).get("Message") or code
            raise refused(f"AWS refused {error.operation_name}: {message}") from error
        if code in CONFLICTS:
            raise ConcurrentUpdate(str(error)) from error
        raise


def owners(identifier_keys: Iterable[str]) -> dict[str, str]:
    """identifier key → customer id, for those that are known."""
    return owners_unless_erased(identifier_keys, ()).owners


class Owners(NamedTuple):
    owners: dict[str, str]  # identifier key → customer id, for those that are known
    erased: dict[str, IdentityRecord]  # identifier key → its tombstone, for those asked about that were erased


def owners_unless_erased(identifier_keys: Iterable[str], erasable: Iterable[str]) -> Owners:
    """The owners of `identifier_keys`, and which of `erasable` were erased: one read of the identities table."""
    keys = list(dict.fromkeys(identifier_keys))
    tombstoned = {tombstone_key(key): key for key in erasable}
    if not keys and not tombstoned:
        return Owners({}, {})
    with classified():
        found = list(IdentityRecord.batch_get(list(dict.fromkeys([*keys, *tombstoned]))))
    return Owners(
        {record.identifier: record.customer_id for record in found if record.identifier not in tombstoned},
        {tombstoned[record.identifier]: record for record in found if record.identifier in tombstoned},
    )


def load(customer_id: str) -> ProfileRecord | None:
    """The live record for a customer id, following merges."""
    seen: set[str] = set()
    while customer_id not in seen:
        seen.add(customer_id)
        try:
            record = ProfileRecord.get(customer_id, consistent_read=True)
        except ProfileRecord.DoesNotExist:
            return None
        if not record.merged_into:
            return record
        customer_id = record.merged_into
    return None


def named(first_name: str, last_name: str) -> list[ProfileRecord]:
    """Every live customer with this first and last name (normalised as `name_key`), oldest first; none if either is
    blank."""
    key = name_key(first_name, last_name)
    if key is None:
        return []
    with classified():
        found = [load(entry.customer_id) for entry in ProfileRecord.by_name.query(key)]
    # The index is eventually consistent: a name changed a moment ago may still list the customer under the old one.
    return sorted(
        (record for record in found if record is not None and record.name_key == key),
        key=lambda record: (record.profile.created_at, record.customer_id),
    )


def live_records() -> Iterator[ProfileRecord]:
    """Every live customer's record (not merged away, nor a CRM deal's holder, which is nobody), in the table's
    order: one scan."""
    for record in ProfileRecord.scan(ProfileRecord.merged_into.does_not_exist()):
        if not record.profile.crm_holder:
            yield record


def live_profiles() -> Iterator[Profile]:
    """Every live customer's profile: for a scheduled journey's audience and the segments' daily turn."""
    for record in live_records():
        yield record.profile


def _identity_puts(tx: TransactWrite, customer_id: str, new_keys: Iterable[str], repoint: Iterable[str] = ()) -> None:
    for key in new_keys:
        # Claim only what nobody holds: a rival claim means the two customers must be merged first.
        tx.save(IdentityRecord(key, customer_id=customer_id), condition=IdentityRecord.identifier.does_not_exist())
    for key in repoint:
        tx.save(IdentityRecord(key, customer_id=customer_id))


def create(profile: Profile, identifier_keys: list[str]) -> ProfileRecord:
    record = ProfileRecord(profile.customer_id)
    record.hold(profile)
    with classified(), TransactWrite(connection=connection()) as tx:
        tx.save(record, condition=ProfileRecord.customer_id.does_not_exist())
        _identity_puts(tx, profile.customer_id, identifier_keys)
    return record


def save(record: ProfileRecord, profile: Profile, new_identifier_keys: list[str]) -> None:
    """Write the changed profile if nobody else did meanwhile (the version condition) and claim new identifiers."""
    record.hold(profile)
    with classified():
        if not new_identifier_keys:
            record.save()
            return
        with TransactWrite(connection=connection()) as tx:
            tx.save(record)
            _identity_puts(tx, record.customer_id, new_identifier_keys)


def unlink(record: ProfileRecord, profile: Profile, owned: dict[str, str]) -> None:
    """In one transaction: the profile without the identifiers (`owned`: key → the customer id its identity was read
    naming, this customer's or one merged into it), their identity records gone (each only while it still names that
    id), and each one's alias with this customer."""
    record.hold(profile)
    with classified(), TransactWrite(connection=connection()) as tx:
        tx.save(record)
        for key, owner in owned.items():
            tx.delete(IdentityRecord(key), condition=IdentityRecord.customer_id == owner)
            tx.save(IdentityRecord(unlinked_key(key), customer_id=record.customer_id))


def entomb(identifier_keys: Iterable[str], erasing: Collection[str], erased_at: datetime) -> None:
    """A tombstone for each identifier, naming the customer ids its erasure has still to erase (none: done)."""
    expires_at = erased_at + TOMBSTONE_RETENTION
    with classified(), IdentityRecord.batch_write() as tombstoned:
        for key in identifier_keys:
            tombstoned.save(
                IdentityRecord(
                    tombstone_key(key), customer_id=TOMBSTONE_OWNER, erasing=set(erasing) or None, expires_at=expires_at
                )
            )


def merge(winner: ProfileRecord, merged: Profile, losers: list[ProfileRecord], new_identifier_keys: list[str]) -> None:
    """In one transaction: the winner takes the merged profile, each loser points at it, identifiers follow."""
    winner.hold(merged)
    repoint = [key for loser in losers for key in loser.profile.identifier_keys]
    budget = TRANSACTION_ACTIONS - 1 - len(losers) - len(new_identifier_keys)
    with classified():
        with TransactWrite(connection=connection()) as tx:
            tx.save(winner)
            for loser in losers:
                loser.merged_into = winner.customer_id
                loser.document = None
                loser.name_key = None
                tx.save(loser)
            _identity_puts(tx, winner.customer_id, new_identifier_keys, repoint[:budget])
        # Identifiers past one transaction's capacity: the losers already point at the winner, so these only save a hop.
        for key in repoint[budget:]:
            IdentityRecord(key, customer_id=winner.customer_id).save()


def append_history(customer_id: str, event: CanonicalEvent, keep_properties: Collection[str] = ()) -> None:
    """Write the event to the customer's history (kept `history_retention_days`), with only the properties in
    `keep_properties`: those a configured condition tests. Keyed by the event's time and id: writing it again
    (a retry) rewrites the same item."""
    settings = get_settings()
    kept = {name: event.properties[name] for name in sorted(keep_properties) if name in event.properties}
    entry = HistoryRecord(
        customer_id,
        f"{event.occurred_at.isoformat()}#{event.event_id}",
        event_type=event.type.value,
        name=event.name,
        channel=event.channel.value,
        source=event.source,
        consent=json.dumps(
            {
                change.channel.value: {
                    "status": change.status.value,
                    "at": (change.at or event.occurred_at).isoformat(),
                }
                for change in event.consent
            }
        )
        if event.consent
        else None,
        properties=json.dumps(kept) if kept else None,
        expires_at=event.occurred_at + timedelta(days=settings.history_retention_days),
    )
    with classified():
        entry.save()


def history(
    customer_ids: Iterable[str], limit: int = HISTORY_READ_LIMIT, since: datetime | None = None
) -> list[HistoryRecord]:
    """The newest entries across a customer and everyone merged into them, newest first, each event once; with
    `since`, every entry after that instant (the sort key starts with the event's time), read consistently: a
    segment counting them must see every entry written before the profile it computes."""
    after = HistoryRecord.entry > since.isoformat() if since is not None else None
    read_limit = None if since is not None else limit
    entries = {
        # An event retried after a merge may be written under two of the ids: one entry.
        entry.entry: entry
        for customer_id in customer_ids
        for entry in HistoryRecord.query(
            customer_id, after, scan_index_forward=False, limit=read_limit, consistent_read=since is not None
        )
    }
    newest_first = sorted(entries.values(), key=lambda entry: entry.entry, reverse=True)
    return newest_first if since is not None else newest_first[:limit]


def erase(record: ProfileRecord) -> list[str]:
    """Delete a customer and everyone merged into them from every table; the ids erased."""
    profile = record.profile
    customer_ids = [record.customer_id, *profile.merged_from]
    with IdentityRecord.batch_write() as identities:
        for key in all_identities(customer_ids, profile.identifier_keys):
            identities.delete(IdentityRecord(key))
    with HistoryRecord.batch_write() as entries:
        for entry in _all_history(customer_ids):
            entries.delete(entry)
    with ProfileRecord.batch_write() as profiles:
        for customer_id in customer_ids:
            profiles.delete(ProfileRecord(customer_id))
    return customer_ids


def all_identities(customer_ids: list[str], listed: list[str]) -> list[str]:
    """Every identifier held by any of the customer ids, not only those the capped profile lists (past a kind's cap,
    or re-pointed in a merge and capped away, or left on a merged-away id): the index finds them all. The listed
    ones are added too, as the index is eventually consistent and may not show a claim made a moment ago."""
    found = dict.fromkeys(listed)
    for customer_id in customer_ids:
        # The iterator follows LastEvaluatedKey: every page, however many identifiers a customer piled up.
        found |= dict.fromkeys(identity.identifier for identity in IdentityRecord.by_customer.query(customer_id))
    return list(found)


def _all_history(customer_ids: list[str]) -> Iterator[HistoryRecord]:
    for customer_id in customer_ids:
        yield from HistoryRecord.query(customer_id)
