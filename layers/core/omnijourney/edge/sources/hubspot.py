"""HubSpot's webhook subscriptions: contacts (creation, property change, merge, deletion, GDPR deletion), deals
(creation, property change, deletion, restore, associations with contacts and line items) and line items (property
change, deletion, restore), in the
batches HubSpot sends (a JSON array of up to 100 events); docs/sources/hubspot.md says what becomes what.

Signed with X-HubSpot-Signature-v3 = base64 HMAC-SHA256(app secret, method + URI + body + timestamp), the timestamp
(milliseconds since the epoch) in X-HubSpot-Request-Timestamp; HubSpot's own validation refuses one older than five
minutes, and so does this (the tolerance in settings). The URI is the one HubSpot called with the characters HubSpot
decodes before signing decoded (`URI_DECODED`), as its request validation guide says.

Creation events carry only the object's id. Email, phone and names come from the property-change subscriptions
(HubSpot sends them for the properties a new contact was created with), so the profile function never calls
HubSpot's API: a contact's events link through its contact id until its email arrives.

Association changes name their two ends (`fromObjectId`, `toObjectId`) and no `objectId`; the generic
`object.associationChange` names their types by id (`fromObjectTypeId`, `toObjectTypeId`) instead of an
`associationType`. A batch is read whole: one event that cannot be read is a 400 naming it, and the body is
quarantined for replay as every source's is (the ingest quarantines deliveries, not events).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from omnijourney.edge.sources.delivery import (
    Delivery,
    as_decimal,
    as_list,
    as_object,
    as_text,
    b64,
    canonical_event,
    hmac_digest,
    load_json,
    numeric_id,
    require,
    require_signature,
)
from omnijourney.events import (
    CanonicalEvent,
    Channel,
    ConsentChange,
    ConsentChannel,
    ConsentStatus,
    DealChange,
    EventType,
    LineItemChange,
)
from omnijourney.identifiers import Identifier, IdentifierKind, identifiers_from
from omnijourney.platform.errors import BadSignature, MalformedPayload

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
# HubSpot POSTs every webhook batch.
METHOD = "POST"
# The percent-encoded characters HubSpot decodes in the URI before it signs it (its request validation guide, v3);
# every other escape stays as it is.
URI_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
# The generic subscriptions (`object.propertyChange`) name the object by its type id; the legacy ones by name.
OBJECT_TYPE_IDS = {"0-1": "contact", "0-3": "deal", "0-8": "line_item"}
# Contact properties that link the contact to what the other channels know.
CONTACT_EMAIL = "email"
CONTACT_PHONES = ("phone", "mobilephone")
# "Unsubscribed from all email": true is the contact's own opt-out of every email. False is also every contact's
# default, so it is no opt-in and changes nothing: an opt-out stands until a channel records the customer's consent.
CONTACT_EMAIL_OPTOUT = "hs_email_optout"
# Contact properties kept as traits, by the trait names the other sources use.
CONTACT_TRAITS = {
    "firstname": "first_name",
    "lastname": "last_name",
    "hubspot_owner_id": "hubspot_owner_id",
    "lifecyclestage": "hubspot_lifecycle_stage",
    "company": "company",
    "jobtitle": "job_title",
}
# Deal properties the profile keeps; `hs_is_closed_won` is HubSpot's own verdict where the pipeline's stages are custom.
DEAL_PROPERTIES = frozenset(
    {
        "dealname",
        "dealstage",
        "pipeline",
        "amount",
        "deal_currency_code",
        "closedate",
        "hubspot_owner_id",
        "hs_is_closed_won",
    }
)
LINE_ITEM_PROPERTIES = frozenset({"hs_sku", "name", "quantity", "price", "hs_product_id"})
NUMBERS = frozenset({"amount", "quantity", "price"})
# HubSpot sends a date property's new value as milliseconds since the epoch.
DATES = frozenset({"closedate"})
# A deal's or line item's deletion and restore, as the value of the property that says it is deleted (the CRM API's
# `archived`, read by profiles/model.py): stamped like any property, so a deletion is a tombstone that an older event
# arriving later cannot undo.
ARCHIVED = "archived"
ARCHIVING = {"deletion": "true", "restore": "false"}
# A legacy association type: the two ends' objects, the `fromObjectId` end first.
ASSOCIATION_TYPES = {
    "DEAL_TO_CONTACT": ("deal", "contact"),
    "CONTACT_TO_DEAL": ("contact", "deal"),
    "DEAL_TO_LINE_ITEM": ("deal", "line_item"),
    "LINE_ITEM_TO_DEAL": ("line_item", "deal"),
}
READ_ASSOCIATIONS = frozenset(ASSOCIATION_TYPES.values())
# An association's two ends, each with its `…TypeId` in the generic subscription.
ASSOCIATION_ENDS = ("fromObject", "toObject")


def signed_uri(url: str) -> str:
    """The URI as HubSpot signs it: the characters of `URI_DECODED` decoded, whatever their case."""
    parts = url.split("%")
    decoded = [parts[0]]
    for part in parts[1:]:
        escape = f"%{part[:2].upper()}"
        decoded.append(URI_DECODED[escape] + part[2:] if escape in URI_DECODED else f"%{part}")
    return "".join(decoded)


def _signed_at(value: str | None, now: datetime) -> datetime:
    if not value:
        raise BadSignature(f"the {TIMESTAMP_HEADER} header is missing", field=TIMESTAMP_HEADER)
    not_a_time = BadSignature(f"the {TIMESTAMP_HEADER} header is not milliseconds since 1970", field=TIMESTAMP_HEADER)
    if not value.isascii() or not value.isdigit() or len(value) > 15:
        raise not_a_time
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (OverflowError, OSError, ValueError):  # digits beyond the last year Python can hold
        raise not_a_time from None


class HubSpotSource:
    name = "hubspot"
    header = SIGNATURE_HEADER

    def customer_ids_in(self, item: dict[str, Any]) -> list[tuple[IdentifierKind, str]]:
        return [(IdentifierKind.hubspot_contact_id, found) for found in contact_ids(item)]

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        timestamp = delivery.header(TIMESTAMP_HEADER) or str(int(at.timestamp() * 1000))
        signed = METHOD.encode() + signed_uri(delivery.url).encode() + delivery.body + timestamp.encode()
        return {SIGNATURE_HEADER: b64(hmac_digest("sha256", secret, signed)), TIMESTAMP_HEADER: timestamp}

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        timestamp = delivery.header(TIMESTAMP_HEADER)
        signed_at = _signed_at(timestamp, now)
        if abs(now - signed_at) > timedelta(seconds=tolerance_seconds):
            raise BadSignature(
                f"the request timestamp {timestamp} is outside the {tolerance_seconds} s window",
                field=TIMESTAMP_HEADER,
            )
        expected = self.sign(delivery, secret, now)[SIGNATURE_HEADER]
        require_signature(delivery.header(SIGNATURE_HEADER), expected, SIGNATURE_HEADER)

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        batch = load_json(delivery.body)
        if not isinstance(batch, list):
            raise MalformedPayload("the body must be a JSON array of HubSpot events", field="body")
        events: list[CanonicalEvent] = []
        for index, item in enumerate(batch):
            events += _events_of(as_object(item, f"[{index}]"), f"[{index}].", delivery)
        return events


def _events_of(item: dict[str, Any], where: str, delivery: Delivery) -> list[CanonicalEvent]:
    """The canonical events of one HubSpot event: none for a subscription the profile does not read (acknowledged,
    so HubSpot does not send the batch again)."""
    subscription = str(require(item, "subscriptionType", where))
    kind, _, change = subscription.partition(".")
    if kind == "object":
        kind = OBJECT_TYPE_IDS.get(str(item.get("objectTypeId")), "")
    occurred_at = _occurred_at(require(item, "occurredAt", where), f"{where}occurredAt")
    association = change == "associationChange"
    # An association names its two ends and no object of its own.
    ends = (
        [numeric_id(require(item, f"{end}Id", where), f"{where}{end}Id") for end in ASSOCIATION_ENDS]
        if association
        else []
    )
    object_id = "-".join(ends) if association else numeric_id(require(item, "objectId", where), f"{where}objectId")
    # HubSpot's eventId alone is not unique: with the portal, subscription, object, time and property (or
    # association type) it names one change, and a retried delivery (a higher attemptNumber) the same one.
    event_id = ":".join(
        str(part)
        for part in (
            "hubspot",
            item.get("portalId"),
            require(item, "eventId", where),
            subscription,
            object_id,
            item.get("occurredAt"),
            item.get("propertyName") or item.get("associationType") or item.get("associationTypeId") or "",
        )
    )
    fields: dict[str, Any] = {
        "event_id": event_id,
        "source": SOURCE.name,
        "name": subscription,
        "channel": Channel.crm,
        "occurred_at": occurred_at,
        "received_at": delivery.received_at,
    }
    if association:
        found = _association(item, ends)
    elif kind == "contact":
        found = _contact(item, change, object_id, occurred_at, where)
    elif kind == "deal":
        found = _deal(item, change, object_id, where)
    elif kind == "line_item":
        found = _line_item(item, change, object_id, where)
    else:
        found = None
    return [] if found is None else [canonical_event(within=where, **fields, **found)]


def _occurred_at(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{where} must be milliseconds since 1970, not {value!r}", field=where)
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedPayload(f"{where} {value} is not a time", field=where) from error


def _contact_id(value: Any, where: str) -> Identifier:
    return Identifier(kind=IdentifierKind.hubspot_contact_id, value=numeric_id(value, where))


def _contact(
    item: dict[str, Any], change: str, object_id: str, occurred_at: datetime, where: str
) -> dict[str, Any] | None:
    contact = _contact_id(object_id, f"{where}objectId")
    if change == "creation":
        return {"type": EventType.identify, "identifiers": [contact]}
    if change == "deletion":
        return {"type": EventType.identifier_removed, "identifiers": [contact]}
    if change == "privacyDeletion":
        return {"type": EventType.erasure_requested, "identifiers": [contact]}
    if change == "merge":
        primary = _contact_id(require(item, "primaryObjectId", where), f"{where}primaryObjectId")
        merged = [
            _contact_id(value, f"{where}mergedObjectIds[{index}]")
            for index, value in enumerate(as_list(require(item, "mergedObjectIds", where), f"{where}mergedObjectIds"))
        ]
        created = item.get("newObjectId")
        new = [_contact_id(created, f"{where}newObjectId")] if created not in (None, "") else []
        return {"type": EventType.identify, "identifiers": list(dict.fromkeys([primary, contact, *merged, *new]))}
    if change != "propertyChange":
        return None
    name = str(require(item, "propertyName", where))
    value = as_text(item.get("propertyValue"))
    if name == CONTACT_EMAIL or name in CONTACT_PHONES:
        # A cleared or invalid address links nothing (identifiers_from logs the kind and why, never the value).
        found = identifiers_from(**{"email" if name == CONTACT_EMAIL else "phone": value})
        return {"type": EventType.identify, "identifiers": [contact, *found]} if found else None
    if name in CONTACT_TRAITS:
        return {"type": EventType.identify, "identifiers": [contact], "traits": {CONTACT_TRAITS[name]: value}}
    if name == CONTACT_EMAIL_OPTOUT and (value or "").strip().lower() == "true":
        # The contact's own opt-out, as of when HubSpot recorded it: an older consent arriving later cannot undo it.
        opt_out = ConsentChange(channel=ConsentChannel.email, status=ConsentStatus.unsubscribed, at=occurred_at)
        return {"type": EventType.consent_changed, "identifiers": [contact], "consent": (opt_out,)}
    return None


def _deal(item: dict[str, Any], change: str, object_id: str, where: str) -> dict[str, Any] | None:
    deal = Identifier(kind=IdentifierKind.hubspot_deal_id, value=object_id)
    if change == "creation":
        return {"type": EventType.deal_updated, "identifiers": [deal], "deal": DealChange(deal_id=object_id)}
    if change in ARCHIVING:
        properties = {ARCHIVED: ARCHIVING[change]}
        return {
            "type": EventType.deal_updated,
            "identifiers": [deal],
            "deal": DealChange(deal_id=object_id, properties=properties),
        }
    if change != "propertyChange":
        return None
    name = str(require(item, "propertyName", where))
    if name not in DEAL_PROPERTIES:
        return None
    value = _property_value(name, item.get("propertyValue"), f"{where}propertyValue")
    return {
        "type": EventType.deal_updated,
        "identifiers": [deal],
        "deal": DealChange(deal_id=object_id, properties={name: value}),
    }


def _line_item(item: dict[str, Any], change: str, object_id: str, where: str) -> dict[str, Any] | None:
    properties: dict[str, str | None]
    if change in ARCHIVING:
        properties = {ARCHIVED: ARCHIVING[change]}
    elif change == "propertyChange" and (name := str(require(item, "propertyName", where))) in LINE_ITEM_PROPERTIES:
        properties = {name: _property_value(name, item.get("propertyValue"), f"{where}propertyValue")}
    else:
        return None
    return {
        "type": EventType.deal_updated,
        "identifiers": [Identifier(kind=IdentifierKind.hubspot_line_item_id, value=object_id)],
        "line_item": LineItemChange(line_item_id=object_id, properties=properties),
    }


def _association(item: dict[str, Any], ids: list[str]) -> dict[str, Any] | None:
    """A deal associated with a contact or a line item, or taken off it (a rep's correction), `ids` its ends' object
    ids."""
    ends = _association_ends(item)
    if ends is None:
        return None
    removed = item.get("associationRemoved") is True
    deal_first = ends[0] == "deal"
    deal_id, other = ids if deal_first else ids[::-1]
    associate = ends[1] if deal_first else ends[0]
    deal = Identifier(kind=IdentifierKind.hubspot_deal_id, value=deal_id)
    if associate == "contact":
        identifiers = [Identifier(kind=IdentifierKind.hubspot_contact_id, value=other), deal]
        change = {"contacts_removed" if removed else "contacts_added": (other,)}
    else:
        identifiers = [deal, Identifier(kind=IdentifierKind.hubspot_line_item_id, value=other)]
        change = {"line_items_removed" if removed else "line_items_added": (other,)}
    return {
        "type": EventType.deal_updated,
        "identifiers": identifiers,
        "deal": DealChange(deal_id=deal_id, **change),
    }


def _association_ends(item: dict[str, Any]) -> tuple[str, str] | None:
    """The objects at the `fromObjectId` and `toObjectId` ends of an association the profile reads (a deal and a
    contact or line item), from the legacy `associationType` or the generic event's type ids; None for others."""
    named = item.get("associationType")
    if named is not None:
        return ASSOCIATION_TYPES.get(str(named))
    first, second = (OBJECT_TYPE_IDS.get(str(item.get(f"{end}TypeId")), "") for end in ASSOCIATION_ENDS)
    return (first, second) if (first, second) in READ_ASSOCIATIONS else None


def contact_ids(item: dict[str, Any]) -> list[str]:
    """What names a HubSpot contact in one event, read without judging the rest of it (the quarantine indexes a
    batch that did not parse by it): a contact event's `objectId`, a merge's `primaryObjectId`, `mergedObjectIds`
    and `newObjectId`, and the contact end of any association."""
    kind, _, change = str(item.get("subscriptionType", "")).partition(".")
    if change == "associationChange":
        # A legacy type names its ends ("CONTACT_TO_DEAL"), the generic event their type ids.
        named = str(item.get("associationType", "")).split("_TO_")
        found = [
            item.get(f"{end}Id")
            for index, end in enumerate(ASSOCIATION_ENDS)
            if OBJECT_TYPE_IDS.get(str(item.get(f"{end}TypeId"))) == "contact"
            or (len(named) == len(ASSOCIATION_ENDS) and named[index] == "CONTACT")
        ]
    elif (OBJECT_TYPE_IDS.get(str(item.get("objectTypeId"))) if kind == "object" else kind) == "contact":
        merged = item.get("mergedObjectIds")
        found = [item.get(key) for key in ("objectId", "primaryObjectId", "newObjectId")]
        found += merged if isinstance(merged, list) else []
    else:
        found = []
    return [str(value) for value in found if isinstance(value, int | str) and not isinstance(value, bool)]


def _property_value(name: str, value: Any, where: str) -> str | None:
    """A deal's or line item's property as the profile keeps it: numbers as decimals, dates as ISO-8601 instants,
    a currency code in capitals; None when cleared."""
    text = as_text(value)
    if text is None:
        return None
    if name in NUMBERS:
        number = as_decimal(text, where)
        return None if number is None else str(number)
    if name in DATES:
        return _occurred_at(int(numeric_id(text, where)), where).isoformat()
    if name == "deal_currency_code":
        code = text.strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise MalformedPayload(f"{where} must be an ISO 4217 currency code, not {text!r}", field=where)
        return code
    return text


SOURCE = HubSpotSource()
