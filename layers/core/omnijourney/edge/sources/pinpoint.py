"""Amazon Pinpoint's endpoints: one record of an endpoint export job (an `EndpointResponse`) as the canonical event
that brings its customer over (docs/migrate-from-pinpoint.md).

Records arrive from an export file or S3 through `omnijourney import pinpoint endpoints` (or a scenario's `pinpoint`
line), never over HTTP, so nothing signs them. Each endpoint is one `identify` event; identity resolution, merging
and consent then apply in the profile function as for any source:
- `User.UserId` → the `user_id` identifier, the one Segment's `userId` is: it is the app's own user id, so the
  endpoints of one user become one profile, and the app's later Segment calls (same user id) find it;
- EMAIL and SMS endpoints → the email and phone identifiers (a phone without `+` read in `Location.Country`);
- `OptOut: ALL` → unsubscribed on that channel; `NONE` changes nothing (it is not an opt-in);
- `EndpointStatus: INACTIVE` (Pinpoint found the address or token unusable) → the identifier is kept and no consent
  changes: consent is the customer's word for the whole channel, and an unsubscribe would hold their other addresses
  (and push after a reinstall) for what they never said. The email and SMS channels send to the profile's address
  first seen most recently (`address_for`: an imported endpoint is seen at its EffectiveDate), so an inactive
  address newer than the customer's active one is where their messages go (a hard bounce from it then unsubscribes
  email); the import reports how many inactive addresses it kept;
- push endpoints carry a device token, which is not what the push channel sends to (an SNS platform endpoint ARN,
  the `push_endpoint_arn` trait): only their consent comes over, and the import reports the tokens;
- VOICE, IN_APP and CUSTOM endpoints: no omnijourney channel; only their user and attributes come over;
- `Demographic.Timezone` and `Locale` → the profile's timezone and locale; `Location` (country, city, postal code,
  region), `Metrics`, `Attributes` and `User.UserAttributes` → traits named as Pinpoint spells them (a list of one
  value → the value), but for a first and last name (`FirstName` → `first_name`, the profile's name), user
  attributes winning over endpoint attributes of the same name.
The event id is a digest of the endpoint's application, id and `EffectiveDate` (its last update), so importing an
unchanged endpoint again changes nothing. Errors name the field, never a value: endpoints hold addresses.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnijourney.edge.sources.delivery import (
    Delivery,
    UnsignedSource,
    as_object,
    as_text,
    as_timestamp,
    canonical_event,
    load_json,
)
from omnijourney.events import (
    CanonicalEvent,
    Channel,
    ConsentChange,
    ConsentChannel,
    ConsentStatus,
    EventType,
)
from omnijourney.identifiers import Identifier, IdentifierKind, InvalidIdentifier, as_region, region_of_locale
from omnijourney.platform.errors import MalformedPayload

logger = logging.getLogger(__name__)

ADDRESS_KINDS = {"EMAIL": IdentifierKind.email, "SMS": IdentifierKind.phone}
PUSH_TYPES = frozenset({"PUSH", "GCM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "ADM", "BAIDU"})
# Channels omnijourney does not send on: the endpoint's user and attributes come over, its address does not.
NO_CHANNEL = frozenset({"VOICE", "IN_APP", "CUSTOM"})
CHANNEL_TYPES = frozenset(ADDRESS_KINDS) | PUSH_TYPES | NO_CHANNEL
OPT_OUT_VALUES = ("ALL", "NONE")
STATUS_VALUES = ("ACTIVE", "INACTIVE")
# The location fields that become traits, by their trait names.
LOCATION_TRAITS = {"Country": "country", "City": "city", "PostalCode": "postal_code", "Region": "region"}
# Attributes holding the customer's name (`FirstName` in Pinpoint's documentation, any case, with or without `_`) →
# the traits the profile's name comes from (profiles.view); every other attribute keeps its Pinpoint name.
NAME_TRAITS = {"firstname": "first_name", "lastname": "last_name"}


@dataclass(frozen=True)
class Endpoint:
    """What one endpoint record brings over: its event (None when it names nobody: no user id and no email or
    phone), and what the import reports about it. `updated_at`: when the record says it was last updated (or
    created), None when it does not say (its event then occurred when it was received)."""

    channel_type: str
    event: CanonicalEvent | None
    user_id: str | None = None
    address: Identifier | None = None
    opted_out: bool = False
    inactive: bool = False
    updated_at: datetime | None = None

    @property
    def push_token(self) -> bool:
        """A push endpoint: its token needs an SNS platform endpoint before a push can reach it."""
        return self.channel_type in PUSH_TYPES


def read_endpoint(record: Any, received_at: datetime) -> Endpoint:
    """The endpoint in one export record; MalformedPayload names the field at fault (never its value)."""
    body = as_object(record, "(the record)")
    channel_type = str(_one_of(body, "ChannelType", sorted(CHANNEL_TYPES), required=True))
    opted_out = _one_of(body, "OptOut", OPT_OUT_VALUES) == "ALL"
    inactive = _one_of(body, "EndpointStatus", STATUS_VALUES) == "INACTIVE"
    user = as_object(body.get("User") or {}, "User")
    demographic = as_object(body.get("Demographic") or {}, "Demographic")
    location = as_object(body.get("Location") or {}, "Location")
    region = as_region(location.get("Country")) or region_of_locale(demographic.get("Locale"))
    user_id = _user_id(user.get("UserId"))
    address = _address(channel_type, body.get("Address"), region, required=user_id is None)
    keys = [key for key in (user_id, address) if key is not None]
    if not keys:
        return Endpoint(channel_type, None, opted_out=opted_out, inactive=inactive)
    dated = body.get("EffectiveDate") or body.get("CreationDate")
    updated_at = as_timestamp(dated, "EffectiveDate" if body.get("EffectiveDate") else "CreationDate", received_at)
    unsubscribed = _consent_channel(channel_type) if opted_out else None
    event = canonical_event(
        event_id=f"pinpoint:{_version_digest(body)}",
        source=SOURCE.name,
        type=EventType.identify,
        name=f"Pinpoint {channel_type} endpoint",
        channel=_channel(channel_type),
        occurred_at=updated_at,
        received_at=received_at,
        identifiers=keys,
        traits=_traits(body, user, location),
        timezone=as_text(demographic.get("Timezone")),
        locale=demographic.get("Locale"),
        consent=[]
        if unsubscribed is None
        else [ConsentChange(channel=unsubscribed, status=ConsentStatus.unsubscribed, at=updated_at)],
    )
    return Endpoint(
        channel_type,
        event,
        user_id=user_id.value if user_id else None,
        address=address,
        opted_out=opted_out,
        inactive=inactive,
        updated_at=event.occurred_at if dated else None,
    )


def _one_of(body: dict[str, Any], field: str, allowed: Any, *, required: bool = False) -> str | None:
    """The field's value, one of `allowed` (None when absent and not `required`)."""
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or value not in allowed:
        what = "is missing" if value is None else "is none of them"
        raise MalformedPayload(f"{field} {what}: Pinpoint's are {', '.join(allowed)}", field=field)
    return value


def _user_id(value: Any) -> Identifier | None:
    """The user id; one that names nobody (a placeholder) is left off and logged by its reason, and the endpoint
    comes over under its address alone."""
    if value is None or value == "":
        return None
    try:
        return Identifier.checked(IdentifierKind.user_id, value)
    except InvalidIdentifier as refused:
        logger.warning("identifier dropped: User.UserId is %s", refused.reason.value)
        return None


def _address(channel_type: str, value: Any, region: str | None, *, required: bool) -> Identifier | None:
    """An EMAIL or SMS endpoint's address. Without a user id it is the record's only key, so a refused one refuses
    the record (naming the field and why); with one, it is left off and logged, and the user comes over."""
    kind = ADDRESS_KINDS.get(channel_type)
    if kind is None or ((value is None or value == "") and not required):
        return None
    try:
        return Identifier.checked(kind, value, region)
    except InvalidIdentifier as refused:
        if required:
            raise MalformedPayload(
                f"Address is not a valid {kind.value} ({refused.reason.value}) and User.UserId is absent",
                field="Address",
            ) from None
        logger.warning("identifier dropped: Address of a %s endpoint is %s", channel_type, refused.reason.value)
        return None


def _consent_channel(channel_type: str) -> ConsentChannel | None:
    if channel_type in PUSH_TYPES:
        return ConsentChannel.push
    return {"EMAIL": ConsentChannel.email, "SMS": ConsentChannel.sms}.get(channel_type)


def _channel(channel_type: str) -> Channel:
    if channel_type in PUSH_TYPES:
        return Channel.push
    return {"EMAIL": Channel.email, "SMS": Channel.sms, "VOICE": Channel.phone}.get(channel_type, Channel.app)


def _traits(body: dict[str, Any], user: dict[str, Any], location: dict[str, Any]) -> dict[str, Any]:
    traits: dict[str, Any] = {
        trait: location[field] for field, trait in LOCATION_TRAITS.items() if location.get(field) not in (None, "")
    }
    traits |= _metrics(body.get("Metrics"))
    traits |= _attributes(body.get("Attributes"), "Attributes")
    traits |= _attributes(user.get("UserAttributes"), "User.UserAttributes")
    return traits


def _attributes(value: Any, where: str) -> dict[str, Any]:
    """Pinpoint's attributes (each a list of strings): one value → the value, several → the list, none → left out;
    a first or last name under the trait the profile reads its name from (staff find customers by it)."""
    attributes = as_object(value or {}, where)
    found: dict[str, Any] = {}
    for name, values in attributes.items():
        if not isinstance(values, list):
            raise MalformedPayload(f"{where}.{name} should be a list of strings", field=f"{where}.{name}")
        if values:
            found[NAME_TRAITS.get(name.replace("_", "").lower(), name)] = values[0] if len(values) == 1 else values
    return found


def _metrics(value: Any) -> dict[str, Any]:
    """The endpoint's custom metrics (numbers), as traits of the same names: imported segments test them there."""
    metrics = as_object(value or {}, "Metrics")
    for name, number in metrics.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise MalformedPayload(f"Metrics.{name} should be a number", field=f"Metrics.{name}")
    return dict(metrics)


def _version_digest(body: dict[str, Any]) -> str:
    """One version of one endpoint: its application, id and last update; a record without them, its content
    (less the export's request id). A digest, as endpoint ids may be addresses."""
    if body.get("Id") and body.get("EffectiveDate"):
        version = "\n".join(str(body.get(key) or "") for key in ("ApplicationId", "Id", "EffectiveDate"))
    else:
        version = json.dumps({k: v for k, v in body.items() if k != "RequestId"}, sort_keys=True, default=str)
    return hashlib.sha256(version.encode()).hexdigest()[:40]


class PinpointSource(UnsignedSource):
    """Unsigned: records come from the operator's own export, never over HTTP."""

    name = "pinpoint"

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        event = read_endpoint(load_json(delivery.body), delivery.received_at).event
        return [] if event is None else [event]


SOURCE = PinpointSource()
