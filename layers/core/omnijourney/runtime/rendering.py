"""Template variables from the live profile and the journey's entry, and the rendered message: in the customer's
language (the template's variant for the profile's locale: de-AT → de-AT, de, the shop's own), with money and dates
written as that language writes them (Babel), in the customer's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.contract import Entry
from omnijourney.journeys.templates import (
    FORMATS,
    PRODUCT_FACTS,
    TRAITS,
    Formats,
    ShopConfig,
    TemplateCatalog,
    product_fact,
    shop,
)
from omnijourney.offers import offers as configured_offers
from omnijourney.platform.settings import Settings
from omnijourney.profiles.model import IssuedOffer, Profile
from omnijourney.runtime.consistency import ProductCatalog
from omnijourney.vocabulary import NOTED, MessageChannel


@dataclass(frozen=True)
class Rendered:
    """A message as it goes out: what the customer reads, and the link its email headers carry."""

    subject: str | None
    body: str
    unsubscribe_url: str
    # The language of the template variant it was written from (None: the shop's own).
    locale: str | None = None


@dataclass(frozen=True)
class OrderLine:
    """A product of an order as templates see it (`{% for line in last_order_lines %}`): the profile keeps an
    order's SKUs, not its quantities or prices (templates.LINE_ATTRIBUTES)."""

    name: str
    sku: str


@dataclass(frozen=True)
class Line(OrderLine):
    """A cart line as templates see it (`{% for line in cart_lines %}{{ line.name }}{% endfor %}`)."""

    quantity: int = 1
    price: Decimal | None = None


class Traits:
    """The profile's traits as `{{ traits.loyalty_points }}` reads them: text, numbers and yes/no only; one the
    customer lacks (or a list, an object) is nothing, as validation cannot know which traits a shop sends."""

    def __init__(self, traits: dict[str, Any]) -> None:
        self._shown = {name: value for name, value in traits.items() if isinstance(value, str | int | float)}

    def __getattr__(self, name: str) -> str | int | float:
        if name.startswith("_"):
            # Python's own protocols (copy, pickle) look for these: a template may not name them anyway.
            raise AttributeError(name)
        # Empty text, not None: filters write nothing for it too (`{{ traits.tier | upper }}`).
        return self._shown.get(name, "")


# Babel writes money and times with no-break spaces ('129,95\u00a0€', '9:30\u202fPM'): one makes an SMS UCS-2
# (70 characters a part instead of 160), so SMS bodies have plain ones.
_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


def render(
    template: str,
    profile: Profile,
    entry: Entry,
    offer: IssuedOffer | None,
    *,
    templates: TemplateCatalog,
    catalog: ProductCatalog,
    settings: Settings,
    zone: ZoneInfo,
    shop_config: ShopConfig | None = None,
) -> Rendered:
    """The template named `template` filled in for this customer as the profile stands now, in the language of
    their locale where the template has it (a note for staff: in the shop's); `zone` is the customer's time zone
    (dates are shown in it)."""
    own = shop_config or shop()
    # A note is read by the shop's staff, not the customer: it is written in the shop's language.
    noted = templates.templates[template].channel in NOTED
    variant = templates.variant(template, None if noted else profile.locale)
    values = variables(profile, entry, catalog, settings)
    formats = values[FORMATS] = formats_for(profile.locale, variant.locale, own, zone)
    values["cart_total"] = _money_text(values["cart_value"], formats)
    if offer is not None:
        values |= offer_variables(offer, catalog, formats)
    subject, body = variant.template.render(values)
    if variant.template.channel == MessageChannel.sms:
        body = body.translate(_NO_BREAK_SPACES)
    return Rendered(subject, body, values["unsubscribe_url"], variant.locale)


def _money_text(amount: Decimal, formats: Formats) -> str:
    """An amount as the customer's language writes it without the currency: '129,95' in German, '129.95' in English."""
    from babel.numbers import format_decimal

    return str(format_decimal(amount, "#,##0.00", locale=formats.locale))


def formats_for(customer: str | None, written_in: str | None, own: ShopConfig, zone: ZoneInfo) -> Formats:
    """Money and dates as the message's language writes them: in the customer's own locale where the text is in
    their language (a de-AT customer reading the German text), else as the text's language does (a fr-FR customer
    reading the shop's English text reads English formats); the shop's currency."""
    language = written_in or own.locale
    same_language = customer is not None and customer.split("-")[0] == language.split("-")[0]
    chosen = _babel_locale(customer if same_language else None) or _babel_locale(language) or "en"
    return Formats(locale=chosen, currency=own.currency, zone=zone)


def _babel_locale(tag: str | None) -> str | None:
    """Babel's name for a language tag it has data for ("de-AT" → "de_AT"), else None."""
    if tag is None:
        return None
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(tag, sep="-"))
    except (UnknownLocaleError, ValueError):
        return None


def _items(skus_and_quantities: list[tuple[str, int, str | None]], catalog: ProductCatalog) -> str:
    return ", ".join(f"{quantity}× {catalog.name_of(sku, name)}" for sku, quantity, name in skus_and_quantities)


def ticket_subject(profile: Profile, entry: Entry) -> str:
    """The newest open ticket's subject, else that of the ticket whose event started the journey (a solved
    ticket's follow-up), found by its id on the profile: the entry carries no subject (it cannot be erased from
    Step Functions). Entries of executions started before carry the subject itself: the last resort."""
    newest = profile.open_tickets[-1].subject if profile.open_tickets else None
    if newest:
        return newest
    subjects = {ticket.ticket_id: ticket.subject for ticket in profile.solved_tickets} | {
        ticket.ticket_id: ticket.subject for ticket in profile.open_tickets
    }
    own = subjects.get(entry.ticket_id) if entry.ticket_id else None
    return own or entry.ticket_subject or ""


def variables(profile: Profile, entry: Entry, catalog: ProductCatalog, settings: Settings) -> dict[str, Any]:
    """Every variable a template may use (validation guarantees a template uses no other)."""
    cart = profile.cart.items if profile.cart else ()
    last_order = profile.kept_orders[-1] if profile.kept_orders else None
    emails = profile.identifiers.get(IdentifierKind.email, ())
    phones = profile.identifiers.get(IdentifierKind.phone, ())
    cross_sell = catalog.cross_sell(list(last_order.skus), profile.ordered_skus()) if last_order else []
    unsubscribe = f"{settings.unsubscribe_base_url}?{urlencode({'customer': profile.customer_id})}"
    cart_value = sum(((item.price or Decimal(0)) * item.quantity for item in cart), Decimal(0))
    return {
        # Empty when unknown: each template says what to write instead, in its language ({{ first_name or 'there' }}).
        "first_name": str(profile.traits.get("first_name") or profile.traits.get("firstName") or ""),
        "last_name": str(profile.traits.get("last_name") or profile.traits.get("lastName") or ""),
        "customer_id": profile.customer_id,
        "email": emails[-1] if emails else "",
        "phone": phones[-1] if phones else "",
        "cart_items": _items([(item.sku, item.quantity, item.name) for item in cart], catalog),
        "cart_lines": [
            Line(catalog.name_of(item.sku, item.name), item.sku, item.quantity, item.price) for item in cart
        ],
        # As text in the customer's language: `render` writes it once it knows the language.
        "cart_total": f"{cart_value:.2f}",
        "cart_value": cart_value,
        "first_cart_item": catalog.name_of(cart[0].sku, cart[0].name) if cart else "",
        "last_order_id": last_order.order_id if last_order else "",
        "last_order_items": ", ".join(catalog.name_of(sku) for sku in last_order.skus) if last_order else "",
        "last_order_lines": [OrderLine(catalog.name_of(sku), sku) for sku in last_order.skus] if last_order else [],
        "last_order_total": last_order.total if last_order else None,
        "last_order_currency": last_order.currency if last_order else "",
        "last_order_at": last_order.at if last_order else None,
        "cross_sell_items": ", ".join(catalog.name_of(sku) for sku in cross_sell),
        "ticket_subject": ticket_subject(profile, entry),
        "unsubscribe_url": unsubscribe,
        "store_name": settings.store_name,
        "checkout_url": entry.checkout_url or "",
        # Product facts only, as a journey may keep them, whatever an entry of an earlier deploy carries; one the event
        # did not have shows as "".
        "event": {fact: product_fact(fact, entry.properties.get(fact)) for fact in PRODUCT_FACTS},
        TRAITS: Traits(profile.traits),
    }


def _discount_value(offer: IssuedOffer, formats: Formats) -> str:
    """How much the offer takes off, as the message's language writes it ('10 %', '5,00 €'), from its definition in
    config/offers.yaml; the text it was issued with if the definition is gone."""
    from babel.numbers import format_currency, format_percent

    definition = configured_offers().offers.get(offer.offer)
    if definition is None:
        return offer.discount
    discount = definition.discount
    if discount.percent is not None:
        return str(format_percent(Decimal(discount.percent) / 100, locale=formats.locale))
    # Discount allows no other kind.
    assert discount.amount is not None
    assert discount.currency is not None
    return str(format_currency(discount.amount, discount.currency, locale=formats.locale))


def offer_variables(offer: IssuedOffer, catalog: ProductCatalog, formats: Formats) -> dict[str, Any]:
    """The offer as every channel shows it: the same code, discount and last day (in the customer's time and
    language: 'Mon 9 Mar', 'Mo., 9. März')."""
    from babel.dates import format_skeleton

    last_moment: datetime = offer.expires_at - timedelta(seconds=1)
    last_day = last_moment.astimezone(formats.zone)
    return {
        "offer_code": offer.code,
        "offer_discount": offer.discount,
        "offer_value": _discount_value(offer, formats),
        "offer_expires": str(format_skeleton("MMMEd", last_day, locale=formats.locale)),
        "offer_expires_at": last_moment,
        "offer_products": ", ".join(catalog.name_of(sku) for sku in offer.skus),
    }
