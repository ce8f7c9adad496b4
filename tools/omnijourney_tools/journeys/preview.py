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
from omnijourney.platform.configfile import ConfigError, Problem, config_dir, did_you_mean, journeys_dir
from omnijourney.profiles.model import IssuedOffer, Profile
from omnijourney_tools.folders import definitions_from

SAMPLE_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
TEMPLATES = "templates"
# The variables a profile file's `traits` supplies.
NAME_TRAITS = ("first_name", "last_name")
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
    customer.add_argument(
        "--customer",
        type=Path,
        help='a profile as the profile API returns it (JSON), with an optional "traits": {"first_name": "Lena"}',
    )
    customer.add_argument("--scenario", type=Path, help="play this scenario up to --line and preview for its customer")
    preview.add_argument("--line", type=int, help="with --scenario: the line whose customer to preview for")
    preview.add_argument("--locale", help="only the language a customer with this locale reads, e.g. de or de-AT")
    preview.add_argument(
        "--journeys",
        type=Path,
        help="the folder whose templates/ to read (default: the current folder if it has templates/, else its "
        "journeys/ if that has templates/, else the project's journeys/)",
    )
    preview.add_argument(
        "--config",
        type=Path,
        help="read shop.yaml, offers and the rest of config/ from this folder (default: the current folder's config/ "
        "if it has one, else the project's)",
    )


def run(args: argparse.Namespace) -> int:
    here = Path.cwd()
    journeys = args.journeys or _own(here, here / "journeys") or journeys_dir()
    config = args.config or (here / "config" if (here / "config").is_dir() else None)
    # Said whenever it is not the project's, so a marketer's copy is never previewed unawares (nor the project's).
    if journeys.resolve() != journeys_dir().resolve() or (config and config.resolve() != config_dir().resolve()):
        print(f"templates from {journeys / TEMPLATES}, config from {config or config_dir()}", file=sys.stderr)
    with definitions_from(config_dir=config, journeys_dir=journeys):
        catalog = TemplateCatalog(journeys / TEMPLATES)
        try:
            # Another template's mistake is not this one's: it is counted, not listed (validation lists it).
            own = [problem for problem in catalog.problems if _template_of(problem) == args.template]
            if own:
                for problem in own:
                    print(problem, file=sys.stderr)
                return 1
            others = len(catalog.problems) - len(own)
            if others:
                print(
                    f"note: {others} problem(s) in other templates; `omnijourney journeys validate` lists them",
                    file=sys.stderr,
                )
            customer = _customer(args)
            if args.customer is not None:
                _note_missing_names(catalog, args.template, customer)
            text = preview(catalog, args.template, customer, args.locale)
        except Misuse as misuse:
            print(misuse, file=sys.stderr)
            return 2
    print(text, end="")
    return 0


def _own(*folders: Path) -> Path | None:
    """The first folder that has templates/ (a marketer's copy: the current folder, or its journeys/)."""
    return next((folder for folder in folders if (folder / TEMPLATES).is_dir()), None)


def _template_of(problem: Problem) -> str:
    """The template a problem of the catalog is in: templates/win_back_email.de.yaml → win_back_email."""
    return Path(problem.path).name.split(".", 1)[0]


def _customer(args: argparse.Namespace) -> tuple[str, Profile]:
    if args.line is not None and args.scenario is None:
        raise Misuse("--line goes with --scenario: omnijourney templates preview NAME --scenario FILE --line N")
    if args.customer is not None:
        try:
            view = json.loads(args.customer.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise Misuse(f"{args.customer} is not a profile as the profile API returns it: {error}") from error
        return f"customer {view.get('customer_id')} ({args.customer})", profile_of(view)
    if args.scenario is not None:
        if args.line is None:
            raise Misuse("--scenario needs --line N: the line whose customer to preview for")
        return _scenario_customer(args.scenario, args.line)
    return "a sample customer (not a real profile)", profile_of(SAMPLE_VIEW)


def _scenario_customer(path: Path, number: int) -> tuple[str, Profile]:
    """The customer a line is about, as the scenario leaves their stored profile by then: what journeys render from
    (traits included, which the profile API does not show)."""
    from omnijourney.edge.sources import get_source
    from omnijourney_tools.local import LocalBackend
    from omnijourney_tools.simulation.runner import Simulation, delivery_of, live_profiles
    from omnijourney_tools.simulation.scenario import DeliveryLine, LookupLine, ScenarioError, read

    try:
        lines = read(path)
    except ScenarioError as error:
        raise Misuse(str(error)) from error
    if not 1 <= number <= len(lines):
        raise Misuse(f"{path} has lines 1 to {len(lines)}; there is no line {number}")
    line = lines[number - 1]
    try:
        with LocalBackend(stage="sim", start=lines[0].at.astimezone(UTC)) as backend:
            findings = Simulation(backend).run(lines[:number])
            stored = {record.customer_id: record.profile for record in live_profiles()}
    except ConfigError as error:
        raise Misuse(f"{path} cannot be played with these journeys and config:\n{error}") from error
    about: str | None = None
    if isinstance(line, LookupLine):
        found = next((lookup["profile"] for lookup in findings.lookups if lookup.get("line") == number), None)
        about = found["customer_id"] if found else None
    elif isinstance(line, DeliveryLine):
        keys = {
            (i.kind.value, i.value)
            for event in get_source(line.source).parse(delivery_of(line))
            for i in event.identifiers
        }
        about = next(
            (
                customer_id
                for customer_id, profile in stored.items()
                if keys & {(kind.value, value) for kind, values in profile.identifiers.items() for value in values}
            ),
            None,
        )
    if about in stored:
        return f"customer {about} after line {number} of {path}", stored[about]
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
            # The profile API shows no traits: a profile file may add them ("traits": {"first_name": "Lena"}).
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


def preview(catalog: TemplateCatalog, name: str, customer: tuple[str, Profile], locale: str | None) -> str:
    """Each language of template `name` (or the one a customer with `locale` reads) rendered for the customer."""
    from omnijourney.app.config import consistency, products
    from omnijourney.journeys.templates import shop
    from omnijourney.platform.settings import get_settings
    from omnijourney.runtime import guards
    from omnijourney.runtime.rendering import render, variables

    if name not in catalog.templates:
        raise Misuse(f"no template {name!r} in {catalog.folder}{did_you_mean(name, catalog.templates)}")
    who, profile = customer
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
            # Named here only: a real send's error says nothing of the values (templates.TemplateFailed).
            values = variables(reader, _sample_entry(), products(), get_settings())
            empty = [variable for variable in variant.template.variables if values.get(variable) is None]
            raise Misuse(_not_filled_in(name, variant, who, empty)) from failed
        sections.append(_section(name, variant, who, message.subject, message.body))
    return "\n".join(sections)


def _not_filled_in(name: str, variant: Variant, who: str, empty: list[str]) -> str:
    said = f"template {name!r} ({variant.label}) cannot be filled in for {who}: "
    held = " A real send would hold this message (template_failed)."
    if empty:
        shown = ", ".join(variant.template.written(variable) for variable in empty)
        return (
            f"{said}{shown} has no value for this customer (no orders yet, say); write "
            f"{{% if {empty[0]} %}}…{{% endif %}} around what uses it.{held}"
        )
    return (
        f"{said}a value it uses is not what it expects (e.g. text where the money filter expects a number); "
        f"write {{% if … %}}…{{% endif %}} around it.{held}"
    )


def _note_missing_names(catalog: TemplateCatalog, name: str, customer: tuple[str, Profile]) -> None:
    """Say so when the template shows a name the profile file has no trait for (the profile API shows no traits)."""
    who, profile = customer
    used = {variable for variant in catalog.variants(name) for variable in variant.template.variables}
    missing = [trait for trait in NAME_TRAITS if trait in used and not profile.traits.get(trait)]
    if missing:
        example = ", ".join(f'"{trait}": "..."' for trait in missing)
        print(
            f"note: {who} has no {' or '.join(missing)}: the message reads as it would for such a customer; "
            f'to preview with one, add "traits": {{{example}}} to the profile file',
            file=sys.stderr,
        )


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
