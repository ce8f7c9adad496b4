"""`omnijourney templates preview`: a template as a customer would read it, in every language it has, before
anything is sent."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from omnijourney.identifiers import LINK_ONLY
from omnijourney.journeys.contract import Entry
from omnijourney.journeys.templates import OFFER_VARIABLES, TemplateCatalog, TemplateFailed, Variant
from omnijourney.offers import offers as configured_offers
from omnijourney.platform.configfile import did_you_mean
from omnijourney.profiles.model import IssuedOffer, Profile

SAMPLE_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
# Who a preview without --customer or --scenario is for: clearly no one real.
SAMPLE_VIEW: dict[str, Any] = {
    "customer_id": "sample-customer",
    "traits": {"first_name": "Ada"},
    "identifiers": {"email": ["sample.customer@example.com"], "phone": ["+4915100000000"]},
    "timezone": "Europe/Berlin",
    "locale": None,
    "cart": {"items": [{"sku": "SHOE-TRAIL-42", "name": "Trail Runner 42", "quantity": 1, "price": 129.95}]},
    "orders": [
        {
            "order_id": "1001",
            "channel": "web",
            "at": "2026-02-20T10:00:00+00:00",
            "total": 24.9,
            "currency": "EUR",
            "skus": ["SHOE-TRAIL-43"],
        }
    ],
}
SAMPLE_FACTS = {
    "name": "Trail Runner 42",
    "sku": "SHOE-TRAIL-42",
    "price": 129.95,
    "currency": "EUR",
    "url": "https://shop.example.com/products/trail-runner",
    "image_url": "https://shop.example.com/cdn/shop/products/trail-runner-slate.jpg",
}


class Misuse(Exception):
    """A preview that cannot be made as asked: said in plain words, exit 2."""


def add_command(commands: Any) -> None:
    """Add `templates preview` to the CLI's subparsers."""
    templates = commands.add_parser("templates", help="message templates")
    actions = templates.add_subparsers(dest="action", required=True)
    preview = actions.add_parser(
        "preview",
        help="print a template as a customer reads it (subject and body), in each language it has",
        description="Without --customer or --scenario, a sample customer (not a real profile) is used.",
    )
    preview.add_argument("template", help="the template's name, as journeys write it (e.g. abandoned_cart_email)")
    customer = preview.add_mutually_exclusive_group()
    customer.add_argument("--customer", type=Path, help="a profile as the profile API returns it (JSON)")
    customer.add_argument("--scenario", type=Path, help="play this scenario up to --line and preview for its customer")
    preview.add_argument("--line", type=int, help="with --scenario: the line whose customer to preview for")
    preview.add_argument("--locale", help="only the language a customer with this locale reads, e.g. de or de-AT")
    preview.add_argument("--journeys", type=Path, help="journeys directory (default: the project's journeys/)")


def run(args: argparse.Namespace) -> int:
    from omnijourney.platform.configfile import journeys_dir

    catalog = TemplateCatalog((args.journeys or journeys_dir()) / "templates")
    try:
        if catalog.problems:
            for problem in catalog.problems:
                print(problem, file=sys.stderr)
            return 1
        text = preview(catalog, args.template, _customer(args), args.locale)
    except Misuse as misuse:
        print(misuse, file=sys.stderr)
        return 2
    print(text, end="")
    return 0


def _customer(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    if args.line is not None and args.scenario is None:
        raise Misuse("--line goes with --scenario: omnijourney templates preview NAME --scenario FILE --line N")
    if args.customer is not None:
        try:
            view = json.loads(args.customer.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise Misuse(f"{args.customer} is not a profile as the profile API returns it: {error}") from error
        return f"customer {view.get('customer_id')} ({args.customer})", view
    if args.scenario is not None:
        if args.line is None:
            raise Misuse("--scenario needs --line N: the line whose customer to preview for")
        return _scenario_customer(args.scenario, args.line)
    return "a sample customer (not a real profile)", SAMPLE_VIEW


def _scenario_customer(path: Path, number: int) -> tuple[str, dict[str, Any]]:
    from omnijourney.edge.sources import get_source
    from omnijourney_tools.simulation.runner import delivery_of, play
    from omnijourney_tools.simulation.scenario import DeliveryLine, LookupLine, ScenarioError, read

    try:
        lines = read(path)
    except ScenarioError as error:
        raise Misuse(str(error)) from error
    if not 1 <= number <= len(lines):
        raise Misuse(f"{path} has lines 1 to {len(lines)}; there is no line {number}")
    line = lines[number - 1]
    findings = play(lines[:number], lines[0].at.astimezone(UTC))
    if isinstance(line, LookupLine):
        found = next((lookup["profile"] for lookup in findings.lookups if lookup.get("line") == number), None)
        if found:
            return f"customer {found['customer_id']} after line {number} of {path}", found
    elif isinstance(line, DeliveryLine):
        keys = {
            (i.kind.value, i.value)
            for event in get_source(line.source).parse(delivery_of(line))
            for i in event.identifiers
        }
        for view in findings.profiles:
            held = {(kind, value) for kind, values in view["identifiers"].items() for value in values}
            if keys & held:
                return f"customer {view['customer_id']} after line {number} of {path}", view
    raise Misuse(f"line {number} of {path} is about no customer the scenario knows by then (pick a delivery or lookup)")


def profile_of(view: dict[str, Any]) -> Profile:
    """The profile a profile-API body stands for, as far as templates read it."""
    at = SAMPLE_AT.isoformat()
    cart = view.get("cart") or None
    return Profile.model_validate(
        {
            "customer_id": view.get("customer_id") or "preview",
            "created_at": at,
            "updated_at": at,
            "identifiers": {
                kind: tuple(values)
                for kind, values in (view.get("identifiers") or {}).items()
                if kind not in {k.value for k in LINK_ONLY}
            },
            # The profile API shows no traits; a sample customer has a first name.
            "traits": view.get("traits") or {},
            "timezone": view.get("timezone"),
            "locale": view.get("locale"),
            "cart": {"items": cart["items"], "updated_at": cart.get("updated_at") or at} if cart else None,
            "orders": [
                {
                    key: order[key]
                    for key in ("order_id", "channel", "at", "total", "currency", "skus", "state")
                    if key in order
                }
                for order in view.get("orders") or []
            ],
        }
    )


def preview(catalog: TemplateCatalog, name: str, customer: tuple[str, dict[str, Any]], locale: str | None) -> str:
    """Each language of template `name` (or the one a customer with `locale` reads) rendered for the customer."""
    from omnijourney.app.config import consistency, products
    from omnijourney.journeys.templates import shop
    from omnijourney.platform.settings import get_settings
    from omnijourney.runtime import guards
    from omnijourney.runtime.rendering import render

    if name not in catalog.templates:
        raise Misuse(f"no template {name!r} in {catalog.folder}{did_you_mean(name, catalog.templates)}")
    who, view = customer
    profile = profile_of(view)
    variants = [catalog.variant(name, locale)] if locale else catalog.variants(name)
    sections = []
    for variant in variants:
        # Each language as a reader of it: the customer where it is the one they read (a de-AT customer of the
        # German text reads Austrian dates), else the file's language (the shop's own for the file without one).
        reads_it = profile.locale is not None and catalog.variant(name, profile.locale).locale == variant.locale
        own = profile.locale if reads_it else variant.locale or shop().locale
        reader = profile.model_copy(update={"locale": locale or own})
        zone: ZoneInfo = guards.local_time(reader, consistency())
        offer = _sample_offer(reader) if set(variant.template.variables) & OFFER_VARIABLES.keys() else None
        try:
            message = render(
                name,
                reader,
                _sample_entry(),
                offer,
                templates=catalog,
                catalog=products(),
                settings=get_settings(),
                zone=zone,
            )
        except TemplateFailed as failed:
            raise Misuse(
                f"template {name!r} ({variant.label}) cannot be filled in for {who}: a value it uses is missing or "
                "not what it expects (e.g. `{{ last_order_total | round }}` for a customer without orders; write "
                "`{% if last_order_total %}…{% endif %}`). A real send would hold this message (template_failed)."
            ) from failed
        sections.append(_section(name, variant, who, message.subject, message.body))
    return "\n".join(sections)


def _section(name: str, variant: Variant, who: str, subject: str | None, body: str) -> str:
    head = f"── {name} · {variant.template.channel} · {variant.label} · for {who}"
    lines = [head, *([f"Subject: {subject}"] if subject is not None else []), body.rstrip("\n"), ""]
    return "\n".join(lines)


def _sample_entry() -> Entry:
    """What the journey's starting event would have kept: a sample checkout and product, marked as such."""
    return Entry(
        event_id="preview",
        type="checkout_started",
        channel="web",
        source="preview",
        at=SAMPLE_AT,
        checkout_url="https://shop.example.com/checkouts/sample",
        properties=SAMPLE_FACTS,
    )


def _sample_offer(profile: Profile) -> IssuedOffer:
    """The customer's newest offer, else a sample of the first offer config/offers.yaml defines."""
    if profile.offers:
        return profile.offers[-1]
    skus = tuple(item.sku for item in profile.cart.items) if profile.cart else ("SHOE-TRAIL-42",)
    defined = next(iter(configured_offers().offers.items()), None)
    return IssuedOffer(
        offer=defined[0] if defined else "sample",
        code="SAMPLE-CODE",
        discount=defined[1].discount.text if defined else "10% off",
        skus=skus,
        issued_at=SAMPLE_AT,
        expires_at=SAMPLE_AT + timedelta(days=7),
        issued_by="preview",
    )
