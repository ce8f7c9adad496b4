"""Only a value that names one person is an identifier, and a lookup finds it in whatever form it is typed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnijourney.app import config
from omnijourney.identifiers import (
    Identifier,
    IdentifierKind,
    IdentifierRules,
    InvalidIdentifier,
    Refusal,
    as_region,
    canonical,
    identifiers_from,
    masked,
    region_of_locale,
)
from omnijourney.platform.configfile import ConfigError, load
from omnijourney.platform.errors import MalformedPayload, NotFound
from omnijourney.profiles import service, store
from tests.conftest import ROOT

email, phone, user_id = IdentifierKind.email, IdentifierKind.phone, IdentifierKind.user_id


def refusal(kind: IdentifierKind, value: str, region: str | None = None) -> Refusal:
    with pytest.raises(InvalidIdentifier) as refused:
        canonical(kind, value, region)
    return refused.value.reason


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("lena.fischer@example.com", "lena.fischer@example.com"),
        # Lower-cased whole, as stored since the start: existing keys stay the keys.
        ("  Lena.Fischer@Example.COM ", "lena.fischer@example.com"),
        ("lena+shoes@trail-shop.de", "lena+shoes@trail-shop.de"),
        ("jürgen@müller.de", "jürgen@müller.de"),
    ],
)
def test_a_valid_email_is_stored_lower_cased(given: str, stored: str) -> None:
    assert canonical(email, given) == stored


@pytest.mark.parametrize(
    "given", ["@", "lena", "lena@", "@example.com", "lena@example", "lena fischer@example.com", "a..b@example.com"]
)
def test_what_is_not_an_email_address_is_refused(given: str) -> None:
    assert refusal(email, given) is Refusal.not_an_email


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (email, "test@test.com"),
        (email, "NoEmail@Example.com"),
        (user_id, "null"),
        (user_id, "Undefined"),
        (IdentifierKind.anonymous_id, "0"),
        (IdentifierKind.loyalty_id, "n/a"),
        (email, " none "),
    ],
)
def test_placeholders_are_refused_whatever_their_case(kind: IdentifierKind, given: str) -> None:
    assert refusal(kind, given) is Refusal.placeholder


@pytest.mark.parametrize(
    "hidden",
    ["\x00", "\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff", "\u2060", "\x07", "\n"],
)
@pytest.mark.parametrize("kind", [email, user_id, IdentifierKind.loyalty_id])
def test_nul_bidi_zero_width_and_control_characters_are_refused(kind: IdentifierKind, hidden: str) -> None:
    # Inside the value: at its ends whitespace is trimmed, and invisible characters are not whitespace.
    assert refusal(kind, f"lena{hidden}fischer@example.com") is Refusal.invisible_character


def test_an_identifier_is_at_most_256_characters() -> None:
    assert canonical(user_id, "u" * 256) == "u" * 256
    assert refusal(user_id, "u" * 257) is Refusal.too_long
    assert refusal(email, "a" * 245 + "@example.com") is Refusal.too_long


@pytest.mark.parametrize(
    ("given", "region", "stored"),
    [
        ("+49 151 23456789", None, "+4915123456789"),
        ("0151 23456789", None, "+4915123456789"),  # the shop's region, Germany
        ("(212) 555-0147", "US", "+12125550147"),  # a US national number, read in the US
        ("212-555-0147", "US", "+12125550147"),
        ("+1 212 555 0147", "DE", "+12125550147"),  # an international number ignores the region
        ("912 345 678", "PT", "+351912345678"),
    ],
)
def test_a_phone_is_read_in_the_region_the_event_implies(given: str, region: str | None, stored: str) -> None:
    assert canonical(phone, given, region) == stored


def test_without_the_events_region_a_us_national_number_is_someone_in_solingen() -> None:
    """Why the event's own country comes first: the shop's default reads a valid, different, German number."""
    assert canonical(phone, "(212) 555-0147") == "+492125550147"


@pytest.mark.parametrize("given", ["123", "0000000000", "phone", "+49 1", "+999 1234567"])
def test_what_is_not_a_valid_phone_number_is_refused(given: str) -> None:
    assert refusal(phone, given) is Refusal.not_a_phone


@pytest.mark.parametrize("extension", [" ext. 12", " x12", ";ext=12", " #12"])
def test_an_extension_does_not_make_a_number_a_different_customer(extension: str) -> None:
    """The key is the E.164 number without its extension: the switchboard and the desk are one customer."""
    assert canonical(phone, "+49 30 901820" + extension) == canonical(phone, "+49 30 901820") == "+4930901820"


def test_regions_come_from_country_codes_and_locales() -> None:
    assert [region_of_locale(tag) for tag in ("en-US", "de_DE", "zh-Hans-CN", "de", "es-419", None)] == [
        "US",
        "DE",
        "CN",
        None,
        None,
        None,
    ]
    assert [as_region(country) for country in ("us", "DE", "United States", "", 49)] == ["US", "DE", None, None, None]


def test_an_invalid_secondary_identifier_is_dropped_and_logged_without_its_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="omnijourney.identifiers"):
        found = identifiers_from(email="test@test.com", phone="+49 151 23456789", loyalty_id="LOY-1\u200b")
    assert found == [Identifier.checked(phone, "+4915123456789")]
    assert caplog.messages == [
        "identifier dropped: email is placeholder",
        "identifier dropped: loyalty_id is invisible_character",
    ]


def test_an_invalid_own_key_is_refused_naming_the_field() -> None:
    with pytest.raises(MalformedPayload, match=r"^batch\[0\]\.userId is not a valid user_id \(too_long\)$") as error:
        Identifier.required(user_id, "u" * 3000, "batch[0].userId")
    assert error.value.field == "batch[0].userId"


@pytest.mark.parametrize("value", [{"id": 1}, ["a"], True, 1.5])
def test_a_value_that_is_not_text_or_a_number_is_not_an_identifier(value: object) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        Identifier.checked(user_id, value)
    assert refused.value.reason is Refusal.not_text
    assert Identifier.checked(IdentifierKind.shopify_customer_id, 7390123456789).value == "7390123456789"


def test_a_masked_value_never_shows_the_value() -> None:
    assert masked("test@test.com") == "t…m (13 characters)"
    assert masked("@") == "… (1 characters)"
    assert masked("a\u202eb@example.com") == "a…m (15 characters)"
    assert masked("\u202eevil") == "\\u202e…l (5 characters)"


def test_the_shipped_placeholder_list_is_valid() -> None:
    rules = load(ROOT / "config" / "identifiers.yaml", IdentifierRules)
    assert {"none", "null", "undefined", "0"} <= rules.placeholders.any
    assert "test@test.com" in rules.placeholders.email


def test_a_phone_placeholder_must_be_written_in_e164(tmp_path: Path) -> None:
    path = tmp_path / "identifiers.yaml"
    path.write_text("placeholders:\n  phone: ['030 901820']\n")
    with pytest.raises(ConfigError, match=r"identifiers.yaml:2:\d+: placeholders.phone\[0\]: '030 901820' is not"):
        load(path, IdentifierRules)


def test_placeholders_are_read_from_the_configured_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "identifiers.yaml").write_text("placeholders:\n  email: [frontdesk@trail-shop.de]\n")
    monkeypatch.setenv("OMNIJOURNEY_CONFIG_DIR", str(tmp_path))
    from omnijourney.platform.settings import get_settings

    get_settings.cache_clear()
    config.clear()
    try:
        assert refusal(email, "FrontDesk@trail-shop.de") is Refusal.placeholder
        assert canonical(email, "test@test.com") == "test@test.com"  # not listed in this shop's file
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        config.clear()
    assert refusal(email, "test@test.com") is Refusal.placeholder


# The lookup normalises exactly as the write does: every form of a stored identifier finds its customer.

SHOP_REGION = "DE"
REGIONS = ["DE", "US", "GB", "FR", "PT", "AT"]


@contextmanager
def identity_table(**stored: str) -> Iterator[None]:
    """The identity table as `find` reads it: identifier key → customer id."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "owners", lambda keys: {key: stored[key] for key in keys if key in stored})
        patch.setattr(store, "load", lambda customer_id: SimpleNamespace(customer_id=customer_id))
        yield


def _valid_numbers() -> st.SearchStrategy[object]:
    import phonenumbers

    def example(region: str, offset: int) -> object:
        """The region's example mobile number, its last digits moved by `offset` while that keeps it valid."""
        sample = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        assert sample is not None
        e164 = phonenumbers.format_number(sample, phonenumbers.PhoneNumberFormat.E164)
        moved = phonenumbers.parse(f"+{int(e164) + offset}")
        return moved if phonenumbers.is_valid_number(moved) else sample

    return st.builds(example, st.sampled_from(REGIONS), st.integers(0, 999))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(number=_valid_numbers(), written=st.sampled_from(["E164", "INTERNATIONAL", "NATIONAL", "RFC3966"]))
def test_a_stored_phone_is_found_by_every_form_it_is_written_in(number: object, written: str) -> None:
    import phonenumbers

    assert isinstance(number, phonenumbers.PhoneNumber)
    region = phonenumbers.region_code_for_number(number)
    # Written by an event from the number's own country (a Shopify address, Twilio's FromCountry)...
    [stored] = identifiers_from(
        phone=phonenumbers.format_number(number, getattr(phonenumbers.PhoneNumberFormat, written)), region=region
    )
    # ...and looked up at the shop's till, in any display form.
    forms = {
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL).replace(" ", "-"),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966),
        phonenumbers.format_out_of_country_calling_number(number, SHOP_REGION),  # 00 1 212…
        phonenumbers.format_out_of_country_calling_number(number, SHOP_REGION).replace(" ", ""),
        f"  {phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)} ",
    }
    if region == SHOP_REGION:
        forms.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))  # 0151 …
    with identity_table(**{stored.key: "cus_1"}):
        for form in forms:
            assert service.find(phone, form).customer_id == "cus_1", form


_local_parts = st.from_regex(r"[a-z0-9]([a-z0-9_+-]|\.[a-z0-9]){0,20}", fullmatch=True)
_domains = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\.(de|com|co\.uk|shop)", fullmatch=True)


def _spelled(text: str, uppers: list[bool], padding: str) -> str:
    """`text` with the letters `uppers` marks in upper case, padded."""
    cased = "".join(c.upper() if i < len(uppers) and uppers[i] else c for i, c in enumerate(text))
    return padding + cased + padding


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    local=_local_parts,
    domain=_domains,
    written_case=st.lists(st.booleans(), max_size=40),
    lookup_case=st.lists(st.booleans(), max_size=40),
    padding=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_a_stored_email_is_found_however_it_is_cased_or_padded(
    local: str, domain: str, written_case: list[bool], lookup_case: list[bool], padding: str
) -> None:
    address = f"{local}@{domain}"
    [stored] = identifiers_from(email=_spelled(address, written_case, ""))
    assert stored.value == address
    with identity_table(**{stored.key: "cus_1"}):
        assert service.find(email, _spelled(address, lookup_case, padding)).customer_id == "cus_1"


def test_a_lookup_of_a_refused_value_finds_nobody_and_says_why() -> None:
    with (
        identity_table(**{"email#@": "cus_stored_before_the_rules"}),
        pytest.raises(NotFound, match=r"^no customer has this email: not_an_email$"),
    ):
        service.find(email, "@")
