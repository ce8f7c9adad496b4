"""Template variables from the live profile and the journey's entry, and the rendered message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.contract import Entry
from omnijourney.journeys.templates import TemplateCatalog
from omnijourney.platform.settings import Settings
from omnijourney.profiles.model import IssuedOffer, Profile
from omnijourney.runtime.consistency import ProductCatalog


@dataclass(frozen=True)
class Rendered:
    """A message as it goes out: what the customer reads, and the link its email headers carry."""

    subject: str | None
    body: str
    unsubscribe_url: str


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
) -> Rendered:
    """The template named `template` filled in for this customer as the profile stands now; `zone` is the customer's
    time zone (the offer's last day is shown in it)."""
    values = variables(profile, entry, catalog, settings)
    if offer is not None:
        values |= offer_variables(offer, catalog, zone)
    subject, body = templates.templates[template].render(values)
    return Rendered(subject, body, values["unsubscribe_url"])


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


def variables(profile: Profile, entry: Entry, catalog: ProductCatalog, settings: Settings) -> dict[str, str]:
    """Every variable a template may use (validation guarantees a template uses no other)."""
    cart = profile.cart.items if profile.cart else ()
    last_order = profile.kept_orders[-1] if profile.kept_orders else None
    emails = profile.identifiers.get(IdentifierKind.email, ())
    phones = profile.identifiers.get(IdentifierKind.phone, ())
    cross_sell = catalog.cross_sell(list(last_order.skus), profile.ordered_skus()) if last_order else []
    unsubscribe = f"{settings.unsubscribe_base_url}?{urlencode({'customer': profile.customer_id})}"
    return {
        "first_name": str(profile.traits.get("first_name") or profile.traits.get("firstName") or "there"),
        "last_name": str(profile.traits.get("last_name") or profile.traits.get("lastName") or ""),
        "email": emails[-1] if emails else "",
        "phone": phones[-1] if phones else "",
        "cart_items": _items([(item.sku, item.quantity, item.name) for item in cart], catalog),
        "cart_total": f"{sum((item.price or 0) * item.quantity for item in cart):.2f}",
        "first_cart_item": catalog.name_of(cart[0].sku, cart[0].name) if cart else "",
        "last_order_id": last_order.order_id if last_order else "",
        "last_order_items": ", ".join(catalog.name_of(sku) for sku in last_order.skus) if last_order else "",
        "cross_sell_items": ", ".join(catalog.name_of(sku) for sku in cross_sell),
        "ticket_subject": ticket_subject(profile, entry),
        "unsubscribe_url": unsubscribe,
        "store_name": settings.store_name,
        "checkout_url": entry.checkout_url or "",
    }


def offer_variables(offer: IssuedOffer, catalog: ProductCatalog, zone: ZoneInfo) -> dict[str, str]:
    """The offer as every channel shows it: the same code, discount and last day (in the customer's time)."""
    last_day = (offer.expires_at - timedelta(seconds=1)).astimezone(zone)
    return {
        "offer_code": offer.code,
        "offer_discount": offer.discount,
        "offer_expires": f"{last_day:%a} {last_day.day} {last_day:%b}",
        "offer_products": ", ".join(catalog.name_of(sku) for sku in offer.skus),
    }
