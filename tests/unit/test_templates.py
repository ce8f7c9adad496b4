"""Personal content: templates in the customer's language, money and dates as that language writes them, product
facts of the starting event (and nothing personal of it), and every mistake caught before anything is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnijourney.edge.sources import get_source
from omnijourney.events import CanonicalEvent
from omnijourney.journeys.catalog import load_journeys
from omnijourney.journeys.contract import Entry, EntryKeeps, entry_keeps, entry_of, segment_entry
from omnijourney.journeys.templates import Formats, ShopConfig, Template, TemplateCatalog, TemplateFailed, fallbacks
from omnijourney.platform.configfile import ConfigError
from omnijourney.platform.settings import Settings
from omnijourney.profiles.model import IssuedOffer, Profile
from omnijourney.runtime.consistency import products
from omnijourney.runtime.rendering import Line, Rendered, offer_variables, render
from tests.conftest import delivery, lena

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "journeys"
BROKEN = Path(__file__).parent / "broken_templates" / "languages"
BERLIN = ZoneInfo("Europe/Berlin")
SHOP = ShopConfig(locale="en", currency="EUR")
NBSP, NARROW_NBSP = "\xa0", "\u202f"
# The abandoned-cart journey's offer as it issues it to Lena on Monday evening, last day Monday 9 March.
SPRING_OFFER = IssuedOffer(
    offer="spring_shoes",
    code="SPRING-7K2Q",
    discount="10% off",
    skus=("SHOE-TRAIL-42",),
    issued_at=datetime(2026, 3, 2, 19, 0, tzinfo=UTC),
    expires_at=datetime(2026, 3, 9, 23, 0, tzinfo=UTC),
    issued_by="abandoned_cart",
)


def event_of(source: str, case: str) -> CanonicalEvent:
    [event] = get_source(source).parse(delivery(source, case))
    return event


def shown(template: str, profile: Profile, templates: TemplateCatalog, entry: Entry | None = None) -> Rendered:
    entry = entry or entry_of(event_of("segment", "checkout_started"), profile, entry_keeps_all(templates))
    return render(
        template,
        profile,
        entry,
        None,
        templates=templates,
        catalog=products(),
        settings=Settings(),
        zone=BERLIN,
        shop_config=SHOP,
    )


def entry_keeps_all(templates: TemplateCatalog) -> EntryKeeps:
    return entry_keeps(load_journeys([SHIPPED]).journeys["abandoned_cart"], templates)


@pytest.fixture(scope="module")
def shipped() -> TemplateCatalog:
    return load_journeys([SHIPPED]).templates


def test_a_german_customer_reads_the_german_cart_email_with_euros_written_the_german_way(
    shipped: TemplateCatalog,
) -> None:
    profile = lena(("segment", "checkout_started"))
    assert profile.locale == "de-DE"
    message = shown("abandoned_cart_email", profile, shipped)
    assert message.locale == "de"
    assert message.subject == "Noch in deinem Warenkorb: Trail Runner 42"
    assert f"- 1× Trail Runner 42, 129,95{NBSP}€\nZusammen 129,95{NBSP}€: " in message.body
    assert message.body.startswith("Hallo,\n\ndas liegt noch in deinem Warenkorb")


def test_a_customer_whose_language_has_no_template_reads_the_shops_own_in_its_formats(
    shipped: TemplateCatalog,
) -> None:
    profile = lena(("segment", "checkout_started")).model_copy(update={"locale": "fr-FR"})
    message = shown("abandoned_cart_email", profile, shipped)
    assert message.locale is None
    assert message.subject == "Still thinking about the Trail Runner 42?"
    # English text, English money: not "129,95 €" in the middle of an English sentence.
    assert "- 1× Trail Runner 42, €129.95\nTogether €129.95: " in message.body


def test_the_fallback_chain_goes_from_region_to_language_to_the_shops_own(shipped: TemplateCatalog) -> None:
    assert fallbacks("de_AT") == ["de-AT", "de"]
    assert fallbacks("zh-Hant-TW") == ["zh-Hant-TW", "zh-Hant", "zh"]
    # Taiwan and Hong Kong write Traditional Chinese; legacy codes name today's languages.
    assert fallbacks("zh-TW") == ["zh-Hant-TW", "zh-Hant", "zh-TW", "zh"]
    assert fallbacks("zh_HK")[:2] == ["zh-Hant-HK", "zh-Hant"]
    assert fallbacks("iw") == ["he"]
    assert fallbacks("no-NO") == ["nb-NO", "nb"]
    assert fallbacks(None) == []
    assert shipped.variant("abandoned_cart_email", "de-AT").locale == "de"
    assert shipped.variant("abandoned_cart_email", "en-US").locale is None
    assert shipped.variant("abandoned_cart_email", "fr-FR").locale is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de_DE", f"1.234,50{NBSP}€ | 09.03.2026 | 09.03.26, 18:30"),
        ("en_US", f"€1,234.50 | Mar 9, 2026 | 3/9/26, 6:30{NARROW_NBSP}PM"),
        ("fr_FR", f"1{NARROW_NBSP}234,50{NBSP}€ | 9 mars 2026 | 09/03/2026 18:30"),
    ],
)
def test_money_and_dates_are_written_as_the_customers_language_writes_them_in_their_time(
    locale: str, expected: str
) -> None:
    template = Template(
        channel="sms",
        body="{{ cart_value | money }} | {{ last_order_at | date }} | {{ last_order_at | datetime('short') }}",
    )
    values = {
        "cart_value": Decimal("1234.5"),
        "last_order_at": datetime(2026, 3, 9, 17, 30, tzinfo=UTC),
        "_formats": Formats(locale, "EUR", BERLIN),
    }
    assert template.render(values) == (None, expected)


def test_earlier_templates_placeholders_still_work() -> None:
    template = Template(channel="email", subject="Hello ${first_name}", body="Your ${cart_items}, {{ store_name }}")
    assert template.variables == ["first_name", "cart_items", "store_name"]
    values = {"first_name": "Ada", "cart_items": "1× Trail Runner 42", "store_name": "Trail Shop"}
    assert template.render(values) == ("Hello Ada", "Your 1× Trail Runner 42, Trail Shop")


def test_cart_lines_loop_and_join_without_running_code() -> None:
    template = Template(channel="sms", body="{{ cart_lines | map(attribute='name') | join(' + ') }}")
    values = {
        "cart_lines": [Line("Trail Runner 42", "SHOE-TRAIL-42"), Line("Merino Running Socks", "SOCK-MERINO-M", 2)]
    }
    assert template.render(values) == (None, "Trail Runner 42 + Merino Running Socks")
    for hostile in ("{{ cart_lines.append(1) }}", "{{ ''.__class__.__mro__ }}"):
        with pytest.raises(TemplateFailed):
            Template(channel="sms", body=hostile).render(values)


def test_broken_languages_are_reported_in_plain_words_at_their_file_and_line() -> None:
    with pytest.raises(ConfigError) as error:
        load_journeys([BROKEN])
    problems = [str(problem).removeprefix(f"{BROKEN}/templates/") for problem in error.value.problems]
    assert problems == [
        "cart_email.de.yaml:2:1: body: {{ cart_itmes }} is not a variable any profile or event supplies "
        "(did you mean 'cart_items'?)",
        "cart_email.de_at.yaml:1:1: write the language as 'de-AT': name the file cart_email.de-AT.yaml",
        "cart_email.yaml:3:1: body: {{ event.shipping_address }} is not a product fact of the starting event; a "
        "template may show event.product_id, event.sku, event.name, event.brand, event.category, event.variant, "
        "event.price, event.currency, event.url, event.image_url (a journey keeps nothing personal of the event "
        "that started it)",
        "cart_email.yaml:3:1: body: there is no filter 'moeny' (did you mean 'money'?); for money and dates write "
        "e.g. {{ cart_value | money }} or {{ last_order_at | date }}",
        "order_note.fr.yaml:3:1: body: cannot be read as a template: line 1: Unexpected end of template. Jinja was "
        "looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed "
        "is 'if'.",
        "cart_email.de.yaml:1:1: channel: this is 'cart_email' in de, for sms; cart_email.yaml is for email",
        "order_note.fr.yaml:1:1: there is no order_note.yaml beside order_note.fr.yaml: the template in the shop's "
        "own language is what customers of every other language read, and the name journeys use",
        "store_note.de.yaml:1:1: channel: 'store_note' is a note for the shop's staff (in_store), always written in "
        "the shop's language as store_note.yaml is; this de version would never be used: delete it",
    ]


def test_what_only_some_journeys_supply_is_checked_in_every_language(tmp_path: Path) -> None:
    write = tmp_path.joinpath
    write("cart.yaml").write_text("channel: sms\nbody: 'Back: {{ checkout_url }}'\n")
    write("cart.de.yaml").write_text("channel: sms\nbody: '{{ event.name }}: ${offer_code} {{ checkout_url }}'\n")
    catalog = TemplateCatalog(tmp_path)
    assert catalog.problems == []
    assert catalog.problems_for_journey("cart", None, has_offer=False, about_a_product=False) == [
        "template 'cart' uses {{ checkout_url }}, which only a checkout_started or cart_updated entry supplies",
        "template 'cart' (de) uses {{ checkout_url }}, which only a checkout_started or cart_updated entry supplies",
        "template 'cart' (de) uses {{ event.name }}, which only a journey that starts on a product event supplies "
        "(`entry: {event: product_viewed}` or `entry: {event: cart_updated}`, or `entry: {segment: ...}` with a "
        "segment that counts one with `did`); other events may carry personal details",
        "template 'cart' (de) uses ${offer_code}, which only a send step with an `offer` supplies",
    ]
    assert catalog.problems_for_journey("cart", "cart_updated", has_offer=True, about_a_product=True) == []


def test_a_journey_keeps_of_its_start_only_the_product_facts_its_templates_show(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "viewed.yaml").write_text(
        "channel: email\nsubject: '{{ event.name }}'\nbody: 'Only {{ event.price | money }}: {{ event.url }}'\n"
    )
    (tmp_path / "templates" / "viewed.de.yaml").write_text(
        "channel: email\nsubject: '{{ event.name }}'\nbody: '{{ event.image_url }}'\n"
    )
    (tmp_path / "viewed.yaml").write_text(
        "journey: viewed\nentry:\n  event: product_viewed\nsteps:\n"
        "  - id: show\n    send: {channel: email, template: viewed, category: marketing}\n"
    )
    journeys = load_journeys([tmp_path])
    viewed = event_of("segment", "product_viewed")
    profile = lena(("segment", "product_viewed"))
    entry = entry_of(viewed, profile, entry_keeps(journeys.journeys["viewed"], journeys.templates))
    # What Step Functions keeps: the facts shown in any language, not the brand, category, variant or quantity.
    assert json.loads(entry.model_dump_json())["properties"] == {
        "image_url": "https://shop.example.com/cdn/shop/products/trail-runner-slate.jpg",
        "name": "Trail Runner 42",
        "price": 129.95,
        "url": "https://shop.example.com/products/trail-runner",
    }
    message = shown("viewed", profile, journeys.templates, entry)
    assert message.subject == "Trail Runner 42"
    assert message.body == "https://shop.example.com/cdn/shop/products/trail-runner-slate.jpg"
    english = shown("viewed", profile.model_copy(update={"locale": None}), journeys.templates, entry)
    assert english.body == "Only €129.95: https://shop.example.com/products/trail-runner"


def test_a_product_fact_the_event_did_not_have_shows_as_nothing(tmp_path: Path) -> None:
    (tmp_path / "note.yaml").write_text("channel: sms\nbody: '[{{ event.brand }}][{{ event.price | money }}]'\n")
    catalog = TemplateCatalog(tmp_path)
    profile = lena(("segment", "checkout_started"))
    entry = entry_of(event_of("segment", "checkout_started"), profile, entry_keeps_all(catalog))
    assert shown("note", profile, catalog, entry).body == "[][]"


def test_the_offers_last_day_is_written_in_german_in_the_german_offer_email(shipped: TemplateCatalog) -> None:
    profile = lena(("segment", "checkout_started"))
    offer = SPRING_OFFER
    entry = entry_of(event_of("segment", "checkout_started"), profile, entry_keeps_all(shipped))
    message = render(
        "abandoned_cart_offer_email",
        profile,
        entry,
        offer,
        templates=shipped,
        catalog=products(),
        settings=Settings(),
        zone=BERLIN,
        shop_config=SHOP,
    )
    assert message.subject == "Dein Code für Trail Runner 42, gültig bis Montag, 9. März"
    assert "Mit dem Code SPRING-7K2Q bekommst du 10\xa0% Rabatt auf Trail Runner 42," in message.body


# The review of issue 16: privacy of the starting event, templates that validate but fail at send time, and limits.


def test_a_page_view_journey_cannot_show_or_keep_the_pages_url(tmp_path: Path) -> None:
    (tmp_path / "note.yaml").write_text("channel: sms\nbody: '{{ event.url }}'\n")
    catalog = TemplateCatalog(tmp_path)
    [problem] = catalog.problems_for_journey("note", "page_viewed", has_offer=False, about_a_product=False)
    assert "{{ event.url }}, which only a journey that starts on a product event supplies" in problem
    # Even a journey deployed before that check keeps nothing of a page view's properties.
    page = event_of("segment", "page")
    keeps = EntryKeeps(product_facts=frozenset({"url", "name"}))
    assert entry_of(page, lena(("segment", "page")), keeps).properties == {}


def test_a_product_views_link_is_kept_without_query_and_only_short_text_or_numbers(tmp_path: Path) -> None:
    viewed = event_of("segment", "product_viewed")
    leaky = viewed.model_copy(
        update={
            "properties": viewed.properties
            | {
                "url": "https://jane@shop.example.com/products/trail-runner?email=jane.doe%40example.com#reviews",
                "name": {"first": "Jane", "last": "Doe"},
                "brand": "x" * 500,
                "variant": "jane.doe@example.com",
            }
        }
    )
    keeps = EntryKeeps(product_facts=frozenset({"url", "name", "brand", "variant", "price"}))
    entry = entry_of(leaky, lena(("segment", "product_viewed")), keeps)
    assert json.loads(entry.model_dump_json())["properties"] == {
        "price": 129.95,
        "url": "https://shop.example.com/products/trail-runner",
    }


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            "{% for l in cart_lines %}{{ l.nmae }}{% endfor %}",
            "a line of cart_lines has no 'nmae' (did you mean 'name'?)",
        ),
        ("{% for l in last_order_lines %}{{ l.price }}{% endfor %}", "a line of last_order_lines has no 'price'"),
        ("{{ cart_lines[0].name }}", "cart_lines is read in a loop, not by position"),
        ("{{ ''.__class__ }}", "'__class__' is not something a template may show"),
        ("{{ first_name | attr('__class__') }}", "there is no filter 'attr'"),
        ("{% include 'footer.txt' %}", "a message template cannot use {% include %}"),
        ("{% extends 'base.txt' %}", "a message template cannot use {% extends %}"),
        ("{% import 'm.txt' as m %}", "a message template cannot use {% import %}"),
        ("{% set n = first_name ~ first_name %}{{ n }}", "a message template cannot use {% set %}"),
        ("{{ cycler }}", "{{ cycler }} is not a variable any profile or event supplies"),
        ("{{ lipsum() }}", "{{ lipsum }} is not a variable any profile or event supplies"),
        ("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}", "loops over cart_lines"),
    ],
)
def test_what_would_fail_at_send_time_is_refused_when_validating(tmp_path: Path, body: str, says: str) -> None:
    (tmp_path / "note.yaml").write_text(f"channel: sms\nbody: {json.dumps(body)}\n")
    problems = [str(problem) for problem in TemplateCatalog(tmp_path).problems]
    [problem] = problems
    assert says in problem


def test_huge_text_is_neither_built_when_validating_nor_when_sending(tmp_path: Path) -> None:
    for body in ("{{ 'ab' * 10**8 }}", "{{ 'a' * 10**9 }}", "{{ 2 ** 1000000 }}", "{{ '%0999999999d' % 1 }}"):
        (tmp_path / "note.yaml").write_text(f"channel: sms\nbody: {json.dumps(body)}\n")
        assert TemplateCatalog(tmp_path).problems == []
        with pytest.raises(TemplateFailed):
            Template(channel="sms", body=body).render({})


def test_a_date_pattern_may_show_the_time_of_day() -> None:
    template = Template(channel="sms", body="{{ last_order_at | date('HH:mm') }} {{ last_order_at | date('d. MMMM') }}")
    values = {"last_order_at": datetime(2026, 3, 9, 17, 30, tzinfo=UTC), "_formats": Formats("de_AT", "EUR", BERLIN)}
    assert template.render(values) == (None, "18:30 9. März")


def test_a_template_failing_for_one_customer_says_nothing_of_their_data() -> None:
    values = {"last_order_at": "jane.doe@example.com", "last_order_total": None, "_formats": SHOP_FORMATS}
    for body in ("{{ last_order_at | date }}", "{{ last_order_total | round }}"):
        with pytest.raises(TemplateFailed) as failed:
            Template(channel="sms", body=body).render(values)
        assert str(failed.value) == "the template could not be filled in for this customer"
        # Not chained either: a traceback would quote the value.
        assert failed.value.__suppress_context__


SHOP_FORMATS = Formats("en", "EUR", BERLIN)


def test_birthday_messages_greet_a_customer_without_a_first_name_as_before(shipped: TemplateCatalog) -> None:
    nameless = lena(("segment", "checkout_started")).model_copy(update={"traits": {}, "locale": None})
    entry = entry_of(event_of("segment", "checkout_started"), nameless, EntryKeeps())
    assert shown("birthday_email", nameless, shipped, entry).body.startswith("Hi there, happy birthday!")
    assert ": happy birthday! Reply STOP" in shown("birthday_sms", nameless, shipped, entry).body
    assert shown("browse_abandonment_email", nameless, shipped, entry).subject == "Still thinking it over?"
    legacy = Template(channel="sms", body="Hi ${first_name}, ${event.name}")
    assert legacy.render({"first_name": "", "event": {"name": "Trail Runner 42"}}) == (
        None,
        "Hi there, Trail Runner 42",
    )


def test_sms_money_has_plain_spaces_and_the_offers_last_day_is_in_the_customers_language(
    tmp_path: Path,
) -> None:
    (tmp_path / "note.yaml").write_text("channel: sms\nbody: '{{ cart_value | money }}'\n")
    (tmp_path / "note.de.yaml").write_text("channel: sms\nbody: '{{ cart_value | money }} ({{ cart_total }})'\n")
    catalog = TemplateCatalog(tmp_path)
    profile = lena(("segment", "checkout_started"))
    assert shown("note", profile, catalog).body == "129,95 € (129,95)"
    offer = SPRING_OFFER
    assert offer_variables(offer, products(), Formats("de_AT", "EUR", BERLIN))["offer_expires"] == "Mo., 9. März"
    # How much it takes off, as each language writes it: from the offer's definition, not the issued English text.
    assert offer_variables(offer, products(), Formats("de_DE", "EUR", BERLIN))["offer_value"] == f"10{NBSP}%"
    assert offer_variables(offer, products(), Formats("en_GB", "EUR", BERLIN))["offer_value"] == "10%"


# Issue 16's marketer: the product of a browse segment, names from other tools, custom traits.


def _segment_journey(folder: Path, segment: str, body: str) -> None:
    """A journey entered on `segment` (config/segments.yaml) whose one email has `body`."""
    (folder / "templates").mkdir()
    (folder / "templates" / "looked.yaml").write_text(
        f"channel: email\nsubject: 'Still there'\nbody: {json.dumps(body)}\n"
    )
    (folder / "looked.yaml").write_text(
        f"journey: looked\nentry:\n  segment: {segment}\nsteps:\n"
        "  - id: remind\n    send: {channel: email, template: looked, category: marketing}\n"
    )


def test_a_segment_counting_product_views_shows_the_view_that_put_the_customer_in(tmp_path: Path) -> None:
    # browsed_not_bought: `did: {event: product_viewed, at_least: 2, within_days: 3}`.
    _segment_journey(tmp_path, "browsed_not_bought", "{% if event.name %}{{ event.name }}: {{ event.url }}{% endif %}.")
    journeys = load_journeys([tmp_path])
    keeps = entry_keeps(journeys.journeys["looked"], journeys.templates)
    profile = lena(("segment", "product_viewed"))
    entry = entry_of(event_of("segment", "product_viewed"), profile, keeps)
    assert json.loads(entry.model_dump_json())["properties"] == {
        "name": "Trail Runner 42",
        "url": "https://shop.example.com/products/trail-runner",
    }
    assert shown("looked", profile, journeys.templates, entry).body == (
        "Trail Runner 42: https://shop.example.com/products/trail-runner."
    )
    # Put in by another event (an identify that made the audience hold), nothing of it is kept.
    assert entry_of(event_of("segment", "identify_app"), profile, keeps).properties == {}
    # Put in at the daily evaluation: no event, no product; the text reads without it.
    daily = segment_entry("browsed_not_bought", datetime(2026, 3, 3).date(), datetime(2026, 3, 3, tzinfo=UTC), profile)
    assert shown("looked", profile, journeys.templates, daily).body == "."


def test_a_segment_counting_no_product_event_may_not_show_one(tmp_path: Path) -> None:
    _segment_journey(tmp_path, "vip", "{{ event.name }}")
    with pytest.raises(ConfigError) as error:
        load_journeys([tmp_path])
    [problem] = [str(problem) for problem in error.value.problems]
    assert "template 'looked' uses {{ event.name }}, which only a journey that starts on a product event" in problem


def test_the_shipped_browse_reminder_names_the_product_viewed(shipped: TemplateCatalog) -> None:
    journeys = load_journeys([SHIPPED])
    keeps = entry_keeps(journeys.journeys["browse_abandonment"], shipped)
    profile = lena(("segment", "product_viewed"))
    entry = entry_of(event_of("segment", "product_viewed"), profile, keeps)
    german = shown("browse_abandonment_email", profile, shipped, entry).body
    assert f"„Trail Runner 42“ angesehen (129,95{NBSP}€). Es ist noch für dich da" in german
    assert "Noch einmal ansehen: https://shop.example.com/products/trail-runner\n" in german
    english = shown("browse_abandonment_email", profile.model_copy(update={"locale": None}), shipped, entry).body
    assert "the Trail Runner 42 (€129.95) you looked at on " in english
    daily = segment_entry("browsed_not_bought", datetime(2026, 3, 3).date(), datetime(2026, 3, 3, tzinfo=UTC), profile)
    without = shown("browse_abandonment_email", profile.model_copy(update={"locale": None}), shipped, daily).body
    assert "the things you looked at on " in without
    assert "Have another look" not in without


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            "{{ product_name }}",
            "{{ product_name }} is not a variable any profile or event supplies (did you mean 'event.name'?)",
        ),
        ("{{ product_price | money }}", "(did you mean 'event.price'?)"),
        (
            "{{ customer.first_name }}",
            "{{ customer }} is not a variable any profile or event supplies (did you mean 'first_name'?)",
        ),
        ("{{ customer.loyalty_points }}", "(did you mean 'traits.loyalty_points'?)"),
        (
            "{{ loyalty_points }}",
            "{{ loyalty_points }} is not a variable any profile or event supplies; a trait of "
            "the customer's profile is written {{ traits.loyalty_points }}",
        ),
        ("{{ firstName }}", "(did you mean 'first_name'?)"),
    ],
)
def test_names_from_other_tools_point_at_what_they_are_called_here(tmp_path: Path, body: str, says: str) -> None:
    (tmp_path / "note.yaml").write_text(f"channel: sms\nbody: {json.dumps(body)}\n")
    [problem] = [str(problem) for problem in TemplateCatalog(tmp_path).problems]
    assert problem.endswith(f"body: {says}") or says in problem


def test_custom_traits_show_when_the_customer_has_them_and_as_nothing_otherwise(tmp_path: Path) -> None:
    (tmp_path / "note.yaml").write_text(
        "channel: sms\nbody: '[{{ traits.loyalty_points }}][{{ traits.tier | upper }}][{{ traits.sizes }}]'\n"
    )
    catalog = TemplateCatalog(tmp_path)
    assert catalog.problems == []
    profile = lena(("segment", "checkout_started"))
    member = profile.model_copy(
        update={"traits": profile.traits | {"loyalty_points": 120, "tier": "gold", "sizes": [42, 43]}}
    )
    assert shown("note", member, catalog).body == "[120][GOLD][]"
    assert shown("note", profile, catalog).body == "[][][]"
