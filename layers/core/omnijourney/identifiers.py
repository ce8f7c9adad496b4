"""Identifiers a customer is known by, normalised so every channel spells them the same way."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator


class IdentifierKind(StrEnum):
    anonymous_id = "anonymous_id"
    user_id = "user_id"
    email = "email"
    phone = "phone"
    loyalty_id = "loyalty_id"
    shopify_customer_id = "shopify_customer_id"


DEFAULT_PHONE_REGION = "DE"


def normalise_email(value: str) -> str | None:
    email = value.strip().lower()
    return email if "@" in email and " " not in email else None


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164, or None when it is not a possible phone number."""
    import phonenumbers  # lazy: its metadata is a measurable share of a cold start

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Identifier(BaseModel):
    """One identifier; the value is normalised on construction, invalid ones are refused."""

    model_config = ConfigDict(frozen=True)

    kind: IdentifierKind
    value: str

    @model_validator(mode="after")
    def _normalise(self) -> Identifier:
        value = self.value.strip()
        if self.kind is IdentifierKind.email:
            value = normalise_email(value) or ""
        elif self.kind is IdentifierKind.phone:
            value = normalise_phone(value) or ""
        if not value:
            raise ValueError(f"not a valid {self.kind.value}: {self.value!r}")
        object.__setattr__(self, "value", value)
        return self

    @property
    def key(self) -> str:
        """The identity index's key: `email#lena@example.com`."""
        return f"{self.kind.value}#{self.value}"

    @classmethod
    def parse(cls, kind: IdentifierKind, value: object) -> Identifier | None:
        """An identifier from a vendor field, or None when the field is empty or not a valid value."""
        if value is None or value == "":
            return None
        try:
            return cls(kind=kind, value=str(value))
        except ValueError:
            return None


def identifiers_from(**values: object) -> list[Identifier]:
    """The valid identifiers among vendor fields, e.g. `identifiers_from(email=..., phone=...)`."""
    found: list[Identifier] = []
    for kind, value in values.items():
        identifier = Identifier.parse(IdentifierKind(kind), value)
        if identifier is not None and identifier not in found:
            found.append(identifier)
    return found
