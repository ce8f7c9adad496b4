"""Identifiers a customer is known by, normalised so every channel spells them the same way.

An identifier links everything that carries it into one profile, so only a value that can name one person is
accepted: junk ("@", "none", a shop-wide test address, invisible characters) would merge strangers. The rules
are in docs/identity.md; the placeholder list in config/identifiers.yaml.
"""

from __future__ import annotations

import logging
import unicodedata
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from omnijourney.platform.configfile import ConfigModel, config_dir, load
from omnijourney.platform.errors import MalformedPayload

logger = logging.getLogger(__name__)


class IdentifierKind(StrEnum):
    anonymous_id = "anonymous_id"
    user_id = "user_id"
    email = "email"
    phone = "phone"
    loyalty_id = "loyalty_id"
    shopify_customer_id = "shopify_customer_id"
    # Links a refund (which names only its order) to the customer who placed the order.
    shopify_order_id = "shopify_order_id"
    # Zendesk's ticket events name the requester by user id only; user events link it to an email.
    zendesk_user_id = "zendesk_user_id"
    # HubSpot's contact id (its `hs_object_id`): sales staff know the customer by it, and deals name contacts by it.
    hubspot_contact_id = "hubspot_contact_id"
    # HubSpot's deal and line item ids: a deal's events name only the deal, a line item's only the line item;
    # associations link them to their contact.
    hubspot_deal_id = "hubspot_deal_id"
    hubspot_line_item_id = "hubspot_line_item_id"


# Kinds that only link events to their customer (a refund names nothing but its order): claimed in the identity
# index, never listed on the profile, as they are not a way anyone knows the customer. An event that names a person
# (any other kind) links through them only to a profile that names nobody yet (profiles.service): a record shared by
# two people must not merge them.
LINK_ONLY = frozenset(
    {IdentifierKind.shopify_order_id, IdentifierKind.hubspot_deal_id, IdentifierKind.hubspot_line_item_id}
)

# A CRM's records shared by its contacts (a deal, its line items): their events name only the record, so a profile
# that names nobody, their holder, keeps them, and each contact associated with the deal a copy (app.crm_deals).
SHARED_CRM_RECORDS = frozenset({IdentifierKind.hubspot_deal_id, IdentifierKind.hubspot_line_item_id})

# A CRM's own ids for its records, which its GDPR deletion names (HubSpot's `contact.privacyDeletion`): erasing one
# leaves a tombstone, and an event naming it afterwards (a retry, a redrive, a replay) is dropped (app.removals).
CRM_RECORD_IDS = frozenset({IdentifierKind.hubspot_contact_id})

DEFAULT_PHONE_REGION = "DE"
# An identifier is a key of the identity table and travels in every event: far below DynamoDB's 2 KB key limit.
MAX_IDENTIFIER_LENGTH = 256
# Invisible characters that make two different values look alike: bidi overrides and isolates, zero-width ones.
# Every one of them is a format character (Cf), which are all refused, as are control characters (Cc, incl. NUL).
INVISIBLE = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\ufeff\u2060")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


class Refusal(StrEnum):
    """Why a value is not an identifier (logged and answered; the value itself never is)."""

    blank = "blank"
    not_text = "not_text"
    too_long = "too_long"
    invisible_character = "invisible_character"
    placeholder = "placeholder"
    not_an_email = "not_an_email"
    not_a_phone = "not_a_phone"


class InvalidIdentifier(ValueError):
    def __init__(self, kind: IdentifierKind, reason: Refusal) -> None:
        super().__init__(f"not a valid {kind.value}: {reason.value}")
        self.kind = kind
        self.reason = reason


def _lower(value: str) -> str:
    return value.strip().lower()


def _e164(value: str) -> str:
    if normalise_phone(value) != value:
        raise ValueError(f"{value!r} is not a phone number in E.164 form, such as +4915123456789")
    return value


class Placeholders(ConfigModel):
    """Values refused as identifiers, compared with the normalised value (case-insensitively)."""

    any: frozenset[Annotated[str, AfterValidator(_lower)]] = Field(
        default=frozenset(), description="refused as every kind of identifier"
    )
    email: frozenset[Annotated[str, AfterValidator(_lower)]] = frozenset()
    phone: frozenset[Annotated[str, AfterValidator(_e164)]] = frozenset()


class IdentifierRules(ConfigModel):
    """config/identifiers.yaml."""

    placeholders: Placeholders = Placeholders()


@lru_cache(maxsize=1)
def identifier_rules() -> IdentifierRules:
    """config/identifiers.yaml, loaded once per process (`omnijourney.app.config.clear()` forgets it)."""
    return load(config_dir() / "identifiers.yaml", IdentifierRules)


def _rules() -> IdentifierRules:
    return identifier_rules()


def normalise_email(value: str) -> str | None:
    """The address lower-cased (as stored since the start), or None when it is not an email address."""
    from email_validator import EmailNotValidError, validate_email  # lazy: ~20 ms of a cold start

    try:
        # Syntax only: no DNS in a Lambda on the hot path, and an address that bounces is still one person's.
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 (an extension is not part of it), or None when it is not a valid phone number."""
    import phonenumbers  # lazy: its metadata is a measurable share of a cold start

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    # Valid, not merely possible: "123" is a possible German number and would link everyone who typed it.
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of_locale(locale: object) -> str | None:
    """The country of a locale tag ("en-US", "de_DE", "zh-Hans-CN" → US, DE, CN), else None."""
    if not isinstance(locale, str):
        return None
    subtags = locale.replace("_", "-").split("-")[1:]
    return next((tag.upper() for tag in subtags if len(tag) == 2 and tag.isascii() and tag.isalpha()), None)


def as_region(country: object) -> str | None:
    """An ISO 3166 alpha-2 country code as given by a vendor ("us", "DE"), else None ("United States", "")."""
    if isinstance(country, str) and len(country) == 2 and country.isascii() and country.isalpha():
        return country.upper()
    return None


def canonical(kind: IdentifierKind, value: str, region: str | None = None) -> str:
    """The value as the identity table keys it; raises InvalidIdentifier with the reason it is refused.

    Writes and lookups both come here, so whatever form a value is given in, it finds the same key.
    """
    value = value.strip()
    if not value:
        raise InvalidIdentifier(kind, Refusal.blank)
    if len(value) > MAX_IDENTIFIER_LENGTH:  # before the cache, which must not hold a 30 KB "email"
        raise InvalidIdentifier(kind, Refusal.too_long)
    return _canonical(kind, value, region)


# Every event read from the queue validates its identifiers again: the same few values, parsed once per process.
@lru_cache(maxsize=4096)
def _canonical(kind: IdentifierKind, value: str, region: str | None) -> str:
    if any(unicodedata.category(character) in _REFUSED_CATEGORIES for character in value):
        raise InvalidIdentifier(kind, Refusal.invisible_character)
    placeholders = _rules().placeholders
    if value.lower() in placeholders.any:
        raise InvalidIdentifier(kind, Refusal.placeholder)
    if kind is IdentifierKind.email:
        email = normalise_email(value)
        if email is None:
            raise InvalidIdentifier(kind, Refusal.not_an_email)
        if email in placeholders.email:
            raise InvalidIdentifier(kind, Refusal.placeholder)
        return email
    if kind is IdentifierKind.phone:
        phone = normalise_phone(value, region or DEFAULT_PHONE_REGION)
        if phone is None:
            raise InvalidIdentifier(kind, Refusal.not_a_phone)
        if phone in placeholders.phone:
            raise InvalidIdentifier(kind, Refusal.placeholder)
        return phone
    return value


def forget_rules() -> None:
    """Values were checked against the placeholders as loaded; after config.clear() they are checked again."""
    _canonical.cache_clear()


def masked(value: str) -> str:
    """Enough of a value for an operator to tell findings apart, never the value: `l…m (24 characters)`."""
    ends = f"{_shown(value[:1])}…{_shown(value[-1:])}" if len(value) > 3 else "…"
    return f"{ends} ({len(value)} characters)"


def _shown(character: str) -> str:
    return character if character.isprintable() else character.encode("unicode_escape").decode()


def _text(kind: IdentifierKind, value: object) -> str:
    # Vendors send numeric ids as numbers; anything else (an object, a list, true) names nobody.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidIdentifier(kind, Refusal.not_text)
    return str(value)


class Identifier(BaseModel):
    """One identifier; the value is normalised on construction, invalid ones are refused."""

    model_config = ConfigDict(frozen=True)

    kind: IdentifierKind
    value: str

    @model_validator(mode="after")
    def _normalise(self, info: ValidationInfo) -> Identifier:
        # A national-format number is read in the region the event itself implies, else the shop's.
        region = (info.context or {}).get("region")
        object.__setattr__(self, "value", canonical(self.kind, self.value, region))
        return self

    @property
    def key(self) -> str:
        """The identity index's key: `email#lena@example.com`."""
        return f"{self.kind.value}#{self.value}"

    @classmethod
    def checked(cls, kind: IdentifierKind, value: object, region: str | None = None) -> Identifier:
        """The identifier in a vendor field; raises InvalidIdentifier saying why it is refused.

        `region` (ISO 3166 alpha-2, e.g. from the address's country) is where a national-format phone is read.
        """
        return cls.model_construct(kind=kind, value=canonical(kind, _text(kind, value), region))

    @classmethod
    def parse(cls, kind: IdentifierKind, value: object, region: str | None = None) -> Identifier | None:
        """An identifier from a vendor field, or None when the field is empty or not a valid value."""
        if value is None or value == "":
            return None
        try:
            return cls.checked(kind, value, region)
        except InvalidIdentifier:
            return None

    @classmethod
    def required(cls, kind: IdentifierKind, value: object, field: str, region: str | None = None) -> Identifier:
        """A message's own key (Segment's userId, a Shopify id): refused with a 400 naming `field` when invalid."""
        try:
            return cls.checked(kind, value, region)
        except InvalidIdentifier as refused:
            raise MalformedPayload(
                f"{field} is not a valid {kind.value} ({refused.reason.value})", field=field
            ) from None


def identifiers_from(*, region: str | None = None, **values: object) -> list[Identifier]:
    """The valid identifiers among vendor fields, e.g. `identifiers_from(email=..., phone=..., region="US")`.

    An invalid one is left off and logged with its kind and reason; the rest of the event still applies.
    """
    found: list[Identifier] = []
    for kind, value in values.items():
        if value is None or value == "":
            continue
        try:
            identifier = Identifier.checked(IdentifierKind(kind), value, region)
        except InvalidIdentifier as refused:
            # Which kind and why, never the value: a log line must not hold personal data.
            logger.warning("identifier dropped: %s is %s", refused.kind.value, refused.reason.value)
            continue
        if identifier not in found:
            found.append(identifier)
    return found
