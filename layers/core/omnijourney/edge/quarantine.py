"""What was accepted but cannot be applied, kept in S3 (the place personal data may live) to be fixed and replayed:
signed deliveries that could not be parsed (at ingest), and queued events that can never be recorded (a message
that does not validate, a profile write DynamoDB refuses), so the answer 2xx means applied or quarantined.

Erasure must find a customer's deliveries here, so each is indexed by the identifiers it carries: an empty object
`by-identifier/<digest of kind#value>/<quarantine key>` per identifier, written before the delivery. What did not
parse is read as far as it can be (`identifier_keys_in`): every email and phone anywhere in it, Segment's
anonymousId and userId, the ids its source names customers by in its own way (the source's `customer_ids_in`), a
canonical event's identifiers. The digest is a plain SHA-256, as the name index's: the index sits beside the raw
deliveries it points at and goes with them, so a key would hide nothing they do not show.
The bucket is versioned: forgetting a delivery deletes every version of it and of its index entries.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from omnijourney.edge.sources import NamesCustomersByOwnIds, Source, get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.identifiers import Identifier, IdentifierKind
from omnijourney.platform.aws import client
from omnijourney.platform.errors import OmnijourneyError
from omnijourney.platform.settings import get_settings

PREFIX = "quarantine/"
# Where queued events go, next to the sources' deliveries.
EVENTS = "events"
# The identifier index, outside PREFIX: listing what is quarantined lists deliveries only.
INDEX_PREFIX = "by-identifier/"
# One PUT per entry: a delivery carrying more (a Segment batch of many visitors) is indexed by its first ones.
MAX_INDEXED = 100
# Strings read from one body in search of identifiers: bounded, whatever the body holds.
MAX_CANDIDATES = 10_000
# A canonical event's identifiers are {"kind", "value"} objects of these kinds.
KINDS = frozenset(IdentifierKind)
# JSON keys whose value is the person's id, whatever else the payload got wrong.
ID_FIELDS = {"anonymousId": IdentifierKind.anonymous_id, "userId": IdentifierKind.user_id}
EMAIL_LIKE = re.compile(r"[^\s\"'<>,;:()\[\]{}\\]+@[^\s\"'<>,;:()\[\]{}\\]+")
PHONE_LIKE = re.compile(r"\+?\d[\d\s()./-]{4,28}\d")
# S3 deletes at most this many objects (or versions) per DeleteObjects call.
DELETE_BATCH = 1000


def quarantine(delivery: Delivery, error: OmnijourneyError) -> str:
    """Store the delivery exactly as received; its key is the quarantine id the channel is told."""
    key = f"{PREFIX}{delivery.source}/{delivery.received_at:%Y/%m/%d}/{delivery.fingerprint}.json"
    record = {
        "source": delivery.source,
        "received_at": delivery.received_at.isoformat(),
        "url": delivery.url,
        "headers": dict(delivery.headers),
        "body_base64": base64.b64encode(delivery.body).decode(),
        "error": {"title": error.title, "detail": error.detail, "field": error.field},
    }
    _put(key, record, identifier_keys_in(delivery.body, get_source(delivery.source)))
    return key


def quarantine_event(message: str, error: OmnijourneyError, at: datetime) -> str:
    """Store a queued message the profile function cannot record; replaying it queues it again."""
    digest = hashlib.sha256(message.encode()).hexdigest()
    key = f"{PREFIX}{EVENTS}/{at:%Y/%m/%d}/{digest}.json"
    record = {
        "source": EVENTS,
        "received_at": at.isoformat(),
        "message": message,
        "error": {"title": error.title, "detail": error.detail, "field": error.field},
    }
    _put(key, record, identifier_keys_in(message.encode()))
    return key


def identifier_keys_in(body: bytes, source: Source | None = None) -> list[str]:
    """The identity keys (`email#lena@example.com`) a body carries, read as far as it can be: JSON or a form if it is
    one, else its text, and the ids `source` names customers by in its own way; only valid identifiers, at most
    MAX_INDEXED."""
    candidates = _candidates(body, source if isinstance(source, NamesCustomersByOwnIds) else None)
    found = dict.fromkeys(
        identifier.key for identifier in (_identifier(kind, value) for kind, value in candidates) if identifier
    )
    return list(found)[:MAX_INDEXED]


def index_digest(identifier_key: str) -> str:
    return hashlib.sha256(identifier_key.encode()).hexdigest()


def erase_carrying(identifier_keys: Iterable[str]) -> list[str]:
    """Erasure: every quarantined delivery that carries any of these identifiers goes, every version of it and of its
    index entries (a delivery that also names someone else goes too: it cannot be kept without the customer's data);
    the quarantine keys erased."""
    found = {
        index_key.split("/", 2)[2]
        for identifier_key in identifier_keys
        for index_key in _keys_with_versions(f"{INDEX_PREFIX}{index_digest(identifier_key)}/")
    }
    forget(sorted(found))
    return sorted(found)


def forget(keys: Iterable[str]) -> None:
    """Every version of these quarantined deliveries, and of every index entry pointing at them (as each recorded
    its identifiers when it was quarantined), deleted."""
    doomed: set[str] = set()
    for key in keys:
        doomed.add(key)
        doomed.update(f"{INDEX_PREFIX}{index_digest(identifier)}/{key}" for identifier in _indexed_by(key))
    _delete_every_version(doomed)


def _put(key: str, record: dict[str, Any], identifier_keys: list[str]) -> None:
    s3 = client("s3")
    bucket = get_settings().quarantine_bucket
    # The index first: if the delivery's own put fails, an entry points at nothing, never a delivery at no entry.
    for identifier_key in identifier_keys:
        s3.put_object(Bucket=bucket, Key=f"{INDEX_PREFIX}{index_digest(identifier_key)}/{key}", Body=b"")
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(record | {"indexed_by": identifier_keys}).encode(),
        ContentType="application/json",
    )


def _indexed_by(key: str) -> list[str]:
    """The identifiers a delivery was indexed by, from its newest version (deliveries quarantined before the index
    have none: erasure still finds them through the entries that lead to them)."""
    s3 = client("s3")
    bucket = get_settings().quarantine_bucket
    # Delete markers have no size; a prefix also lists longer keys.
    versions = [version for version in _versions(key) if version["Key"] == key and "Size" in version]
    if not versions:
        return []
    newest = max(versions, key=lambda version: version["LastModified"])
    record = json.loads(s3.get_object(Bucket=bucket, Key=key, VersionId=newest["VersionId"])["Body"].read())
    return list(record.get("indexed_by", []))


def _versions(prefix: str) -> Iterator[dict[str, Any]]:
    """Every version and delete marker of the objects under `prefix` (a key is its own prefix)."""
    pages = (
        client("s3")
        .get_paginator("list_object_versions")
        .paginate(Bucket=get_settings().quarantine_bucket, Prefix=prefix)
    )
    for page in pages:
        yield from page.get("Versions", [])
        yield from page.get("DeleteMarkers", [])


def _keys_with_versions(prefix: str) -> set[str]:
    return {version["Key"] for version in _versions(prefix)}


def _delete_every_version(keys: set[str]) -> None:
    # A prefix also lists longer keys: only the versions of these keys exactly.
    doomed = [
        {"Key": version["Key"], "VersionId": version["VersionId"]}
        for key in sorted(keys)
        for version in _versions(key)
        if version["Key"] == key
    ]
    s3 = client("s3")
    bucket = get_settings().quarantine_bucket
    for start in range(0, len(doomed), DELETE_BATCH):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + DELETE_BATCH], "Quiet": True})


def _candidates(body: bytes, source: NamesCustomersByOwnIds | None) -> Iterator[tuple[IdentifierKind | None, str]]:
    """(kind, value) pairs worth trying as identifiers; None: whichever an email or phone it may be."""
    text = body.decode(errors="replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # Not JSON (or too deep to read): a form's values (Twilio), then whatever looks like an address in the text.
        values = [value for _, value in parse_qsl(text)] + EMAIL_LIKE.findall(text) + PHONE_LIKE.findall(text)
        yield from ((None, value) for value in values[:MAX_CANDIDATES])
        return
    yield from _json_candidates(data, source)


def _json_candidates(data: Any, source: NamesCustomersByOwnIds | None) -> Iterator[tuple[IdentifierKind | None, str]]:
    """Walked with a stack, not recursion: a body is quarantined for nesting too deep, among other reasons."""
    stack, read = [data], 0
    while stack and read < MAX_CANDIDATES:
        value = stack.pop()
        read += 1
        if isinstance(value, dict):
            kind, named = value.get("kind"), value.get("value")
            if kind in KINDS and isinstance(named, str):  # a canonical event's identifier
                yield IdentifierKind(kind), named
                continue
            if source is not None:
                yield from source.customer_ids_in(value)
            for field, item in value.items():
                if field in ID_FIELDS and isinstance(item, str):
                    yield ID_FIELDS[field], item
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            yield None, value


def _identifier(kind: IdentifierKind | None, value: str) -> Identifier | None:
    if kind is not None:
        return Identifier.parse(kind, value)
    if "@" in value:
        return Identifier.parse(IdentifierKind.email, value)
    if _looks_like_a_phone(value.strip()):
        return Identifier.parse(IdentifierKind.phone, value)
    return None


def _looks_like_a_phone(value: str) -> bool:
    """Written as people write numbers (international, with a trunk 0, or with separators), not a vendor's numeric
    id, which may well be a valid number somewhere."""
    return bool(PHONE_LIKE.fullmatch(value)) and (value[0] in "+0" or any(mark in value for mark in " -/."))
