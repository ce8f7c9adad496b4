"""Message templates: journeys/templates/<name>.yaml in the shop's own language, and <name>.<locale>.yaml (e.g.
abandoned_cart_email.de.yaml) for customers whose profile has that locale.

The text is Jinja2 in a sandbox that cannot change anything (`ImmutableSandboxedEnvironment`): `{{ first_name }}`,
`{% for line in cart_lines %}`, filters such as `{{ event.price | money }}`. Marketers' templates cannot run code,
and what a template uses is checked before anything is sent (its variables, the attributes of the lines it loops
over, its filters; no includes, macros, `set` or Jinja globals), so a mistake is a validation error, not a blank or
a failed send. Whatever still fails at send time (`{{ last_order_total | round }}` for a customer without orders)
raises `TemplateFailed`, which says nothing of the values: the step holds the message (`template_failed`). Repeating
text (`'ab' * 10**8`) and the message itself are capped, so no template can exhaust a function's memory or time.
`${name}`, the placeholders of earlier templates, is read as `{{ name }}` (`${first_name}` as
`{{ first_name or "there" }}`, as it always rendered). Email bodies are plain text (SES `Body.Text`), so nothing is
escaped.

Jinja2 and Babel are imported on first use, never at import: the ingest and profile functions import this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, JsonValue, ValidationInfo, field_validator, model_validator

from omnijourney.events import EventType, locale_tag
from omnijourney.platform.configfile import (
    ConfigError,
    ConfigModel,
    Location,
    Problem,
    YamlDocument,
    config_dir,
    did_you_mean,
    load,
)
from omnijourney.vocabulary import READ_BY_STAFF, MessageChannel

if TYPE_CHECKING:
    import jinja2

# What a template may use, and where the value comes from.
VARIABLES = {
    "first_name": "profile trait first_name",
    "last_name": "profile trait last_name",
    "customer_id": "the customer's id in omnijourney, e.g. for a webhook target to look the profile up",
    "email": "the customer's email",
    "phone": "the customer's phone",
    "cart_items": "the cart at send time, e.g. '1× Trail Runner 42'",
    "cart_lines": "the cart's lines at send time, each with name, sku, quantity and price (in a loop)",
    "cart_total": "the cart's value as text, e.g. '129.95'",
    "cart_value": "the cart's value as a number, for the money filter",
    "first_cart_item": "the first item's name in the cart",
    "last_order_id": "the latest order's id",
    "last_order_items": "what the latest order contained",
    "last_order_lines": "the latest order's products, each with name and sku (in a loop)",
    "last_order_total": "the latest order's total, for the money filter (in the order's currency)",
    "last_order_currency": "the latest order's currency, e.g. 'EUR'",
    "last_order_at": "when the latest order was placed, for the date and datetime filters",
    "cross_sell_items": "products related to the latest order that the customer has not bought",
    "ticket_subject": "the subject of the customer's latest support ticket",
    "unsubscribe_url": "the one-click unsubscribe link (email)",
    "store_name": "the shop's name",
    "event": "the product facts of the event that started the journey, e.g. event.name, event.price",
    "traits": "the customer's own profile traits that are text, numbers or yes/no, e.g. traits.loyalty_points",
}
# `{{ traits.<name> }}`: any trait the shop sends, so validation cannot know the names; one a customer lacks (or that
# is a list or an object) shows as nothing. Traits are personal, like first_name: they are only ever rendered into the
# message (the ledger and the provider), never kept in a journey's entry.
TRAITS = "traits"
# What people coming from other tools write for what a variable or a product fact here is.
COMMON_NAMES = {
    "product_name": "event.name",
    "product_price": "event.price",
    "product_url": "event.url",
    "product_link": "event.url",
    "product_image": "event.image_url",
    "product_image_url": "event.image_url",
    "product_sku": "event.sku",
    "product_category": "event.category",
    "product_brand": "event.brand",
    "firstname": "first_name",
    "firstName": "first_name",
    "lastname": "last_name",
    "lastName": "last_name",
    "unsubscribe_link": "unsubscribe_url",
    "shop_name": "store_name",
}
# Variables that only the starting event can supply: which entry events do.
EVENT_VARIABLES = {"checkout_url": ("checkout_started", "cart_updated")}
# Variables only a send step with an `offer` supplies.
OFFER_VARIABLES = {
    "offer_code": "the customer's code for the offer, the same on every channel",
    "offer_discount": "what it takes off, e.g. '10% off'",
    "offer_value": "how much it takes off, in the message's language: '10 %' or '5,00 €' in German, '10%' in English",
    "offer_expires": "the last day it can be used, e.g. 'Mon 9 Mar'",
    "offer_expires_at": "the offer's last moment, for the date filter in the customer's language",
    "offer_products": "the products it covers",
}
# What a template may show of the event that started the journey (`{{ event.<name> }}`): product facts of
# Segment's e-commerce spec, nothing personal. Only what a journey's templates use is kept in its entry, and the
# entry is in Step Functions' history, which cannot be erased: an address, a name or free text must never be.
PRODUCT_FACTS = {
    "product_id": "the product's id",
    "sku": "the product's SKU",
    "name": "the product's name",
    "brand": "the product's brand",
    "category": "the product's category",
    "variant": "e.g. 'EU 42 / Slate'",
    "price": "the product's price, for the money filter",
    "currency": "the price's currency, e.g. 'EUR'",
    "url": "the product page",
    "image_url": "the product's picture",
}
EVENT = "event"
# The canonical events about one product: the only starting events whose product facts a template may show (any
# other event's properties, a page's URL or a sign-up's name, may be personal).
PRODUCT_EVENTS = (EventType.product_viewed, EventType.cart_updated)
# A longer "product fact" is not one (a description, pasted text): it is not kept.
MAX_FACT_LENGTH = 200
# Facts that are links: kept without query, fragment or user (where tracking puts an address or a token).
LINK_FACTS = ("url", "image_url")
# The lists a template may loop over, and what each line has.
LINE_ATTRIBUTES = {"cart_lines": ("name", "sku", "quantity", "price"), "last_order_lines": ("name", "sku")}
# The longest message a template may write, and the longest text or list an expression may build on the way.
MAX_MESSAGE_LENGTH = 20_000
# The built-in filters a message may use: text and list filters whose output is bounded by their input.
KEPT_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "first", "float", "int", "join", "last", "length", "list",
    "lower", "map", "max", "min", "reject", "rejectattr", "reverse", "round", "select", "selectattr", "sort",
    "string", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount",
)  # fmt: skip
# What the money, date and datetime filters format with: set by `render`, never written in a template.
FORMATS = "_formats"
FILTERS = {
    "money": "{{ cart_value | money }} → '129,95 €' in German, '€129.95' in English (the shop's currency)",
    "date": "{{ last_order_at | date }} → '09.03.2026'; a pattern: {{ offer_expires_at | date('EEEE, d. MMMM') }}",
    "datetime": "{{ last_order_at | datetime('short') }}, in the customer's time zone",
}
SECTIONS = ("subject", "body")
# The shop's language and currency, in config/.
SHOP_FILE = "shop.yaml"
# `${name}` and `${event.name}` (earlier templates' placeholders), read as `{{ name }}`.
LEGACY_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\}")
# What earlier templates' placeholders showed for a customer without the value.
LEGACY_FALLBACKS = {"first_name": "there"}
# Cheap to find without Jinja2, where only which product facts and whether the checkout URL appear matters.
EVENT_FACT_MENTION = re.compile(r"\bevent\s*\.\s*([A-Za-z_]\w*)|\bevent\s*\[\s*['\"]([A-Za-z_]\w*)['\"]\s*\]")


@dataclass(frozen=True)
class Formats:
    """How the money, date and datetime filters write for one message: the customer's language and time zone."""

    locale: str  # a Babel locale name, e.g. "de_DE"
    currency: str  # ISO 4217, the shop's
    zone: Any  # a tzinfo


class TemplateFailed(Exception):
    """A template could not be filled in for a customer. Deliberately without the cause's text, which may quote a
    value of the profile (an address where a date was expected)."""

    def __init__(self) -> None:
        super().__init__("the template could not be filled in for this customer")


def as_jinja(text: str) -> str:
    """The template text with `${name}` placeholders written as `{{ name }}` (with what they showed when empty)."""

    def jinja(placeholder: re.Match[str]) -> str:
        name = placeholder.group(1)
        fallback = LEGACY_FALLBACKS.get(name)
        return f'{{{{ {name} or "{fallback}" }}}}' if fallback else f"{{{{ {name} }}}}"

    return LEGACY_PLACEHOLDER.sub(jinja, text)


def product_fact(name: str, value: object) -> str | int | float | None:
    """What a journey may keep and show of product fact `name`: text or a number, short, nothing like an address,
    a link without its query, fragment or user; else None (not kept)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if not isinstance(value, str):
        return value
    if name in LINK_FACTS:
        link = urlsplit(value)
        value = link._replace(netloc=link.netloc.rpartition("@")[2], query="", fragment="").geturl()
    return value if len(value) <= MAX_FACT_LENGTH and "@" not in value else None


@dataclass(frozen=True)
class Analysis:
    """What a template text uses: its variables, the product facts of the starting event, its filters, or the
    mistake that keeps it from being read (and the line of the text it is on)."""

    variables: tuple[str, ...] = ()
    event_facts: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    mistake: str | None = None


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    import jinja2
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class MessageSandbox(ImmutableSandboxedEnvironment):
        """Operators that can build text or lists of any size (`'ab' * 10**8`) stop at a message's length; being
        intercepted, they are also never computed (constant-folded) while a template is read."""

        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
            if operator == "%" and isinstance(left, str):
                raise SecurityError("'%' formatting of text")
            if operator == "**" and isinstance(right, int) and right > 64:
                raise SecurityError("too large a power")
            if operator in ("*", "+") and _built_length(operator, left, right) > MAX_MESSAGE_LENGTH:
                raise SecurityError("too long a text or list")
            return super().call_binop(context, operator, left, right)

    env = MessageSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        # A loop's own lines leave no blank lines in a plain-text message.
        trim_blocks=True,
        lstrip_blocks=True,
        # An absent product fact shows as nothing, not as "None".
        finalize=lambda value: "" if value is None else value,
    )
    # No `range`, `lipsum`, `cycler`…: a template uses its variables, nothing else.
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in KEPT_FILTERS}
    ours = {"money": _money, "date": _date, "datetime": _datetime}
    env.filters |= {name: jinja2.pass_context(write) for name, write in ours.items()}
    return env


def _built_length(operator: str, left: Any, right: Any) -> int:
    """How long the text or list `left <operator> right` would be (0 for numbers)."""
    sized = [side for side in (left, right) if isinstance(side, str | list | tuple)]
    if operator == "+":
        return sum(len(side) for side in sized)
    times = [side for side in (left, right) if isinstance(side, int) and not isinstance(side, bool)]
    return len(sized[0]) * max(times[0], 0) if sized and times else 0


# Statements a message has no use for: they load files, define code or build values step by step.
_REFUSED_STATEMENTS = {
    "Include": "{% include %}",
    "Extends": "{% extends %}",
    "Import": "{% import %}",
    "FromImport": "{% from … import %}",
    "Macro": "{% macro %}",
    "CallBlock": "{% call %}",
    "Assign": "{% set %}",
    "AssignBlock": "{% set %}",
    "FilterBlock": "{% filter %}",
}


def _structure_mistake(tree: jinja2.nodes.Template) -> str | None:
    """The first thing in a template that would fail or misbehave at send time, in plain words, else None."""
    from jinja2 import nodes

    for statement in tree.find_all(nodes.Stmt):
        refused = _REFUSED_STATEMENTS.get(type(statement).__name__)
        if refused:
            return (
                f"line {statement.lineno}: a message template cannot use {refused}; write the text itself, e.g. "
                "{% for line in cart_lines %}{{ line.name }}{% endfor %}"
            )
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(getattr(node, "arg", None), "value", None)
        if isinstance(name, str) and name.startswith("_"):
            return f"line {node.lineno}: {name!r} is not something a template may show"
        if isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Name) and node.node.name in LINE_ATTRIBUTES:
            return (
                f"line {node.lineno}: {node.node.name} is read in a loop, not by position (an empty cart has no "
                f"first line): write {{% for line in {node.node.name} %}}{{{{ line.name }}}}{{% endfor %}}"
                + (" or {{ first_cart_item }}" if node.node.name == "cart_lines" else "")
            )
    for loop in tree.find_all(nodes.For):
        listed = loop.iter
        while isinstance(listed, nodes.Filter) and listed.node is not None:
            listed = listed.node
        if not (isinstance(listed, nodes.Name) and listed.name in LINE_ATTRIBUTES):
            return (
                f"line {loop.lineno}: a template loops over {' or '.join(LINE_ATTRIBUTES)} only, e.g. "
                "{% for line in cart_lines %}{{ line.quantity }}× {{ line.name }}{% endfor %}"
            )
        attributes = LINE_ATTRIBUTES[listed.name]
        targets = {target.name for target in loop.target.find_all(nodes.Name)} | (
            {loop.target.name} if isinstance(loop.target, nodes.Name) else set()
        )
        for used in (node for part in loop.body for node in part.find_all(nodes.Getattr)):
            if isinstance(used.node, nodes.Name) and used.node.name in targets and used.attr not in attributes:
                return (
                    f"line {used.lineno}: a line of {listed.name} has no {used.attr!r}"
                    f"{did_you_mean(used.attr, attributes)}; it has {', '.join(attributes)}"
                )
    return None


@lru_cache(maxsize=1024)
def analysed(source: str) -> Analysis:
    import jinja2
    from jinja2 import meta, nodes

    env = environment()
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as error:
        return Analysis(mistake=f"line {error.lineno}: {error.message}")
    mistake = _structure_mistake(tree)
    if mistake is not None:
        return Analysis(mistake=mistake)
    facts: list[str] = []
    for attribute in tree.find_all(nodes.Getattr):
        if isinstance(attribute.node, nodes.Name) and attribute.node.name == EVENT:
            facts.append(attribute.attr)
    for item in tree.find_all(nodes.Getitem):
        on_event = isinstance(item.node, nodes.Name) and item.node.name == EVENT
        if on_event and isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str):
            facts.append(item.arg.value)
    filters = tuple(dict.fromkeys(node.name for node in tree.find_all(nodes.Filter)))
    unknown = [name for name in filters if name not in env.filters]
    if unknown:
        # Listing the variables compiles the text, which stops at an unknown filter: each is reported on its own.
        env = env.overlay()
        env.filters = {**env.filters, **dict.fromkeys(unknown, str)}
        tree = env.parse(source)
    try:
        used = meta.find_undeclared_variables(tree)
    except jinja2.TemplateAssertionError as error:
        return Analysis(mistake=f"line {error.lineno}: {error.message}")
    return Analysis(
        variables=tuple(_in_order(source, used)),
        event_facts=tuple(dict.fromkeys(facts)),
        filters=filters,
    )


def _in_order(source: str, names: set[str]) -> list[str]:
    """Names in the order they first appear in the text (find_undeclared_variables gives a set)."""
    return sorted(names, key=lambda name: m.start() if (m := re.search(rf"\b{re.escape(name)}\b", source)) else 0)


@lru_cache(maxsize=1024)
def compiled(source: str) -> jinja2.Template:
    return environment().from_string(source)


class Template(ConfigModel):
    """One template file: a message's text (`subject` and `body`), or for a webhook its JSON payload (`json`), a
    mapping whose every text is a template: what is rendered is always JSON, whatever a value holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    channel: MessageChannel
    subject: str | None = Field(default=None, description="email and sales task only", validate_default=True)
    body: str | None = Field(default=None, min_length=1, description="the text; a webhook has `json` instead")
    payload: dict[str, JsonValue] | None = Field(
        default=None,
        alias="json",
        description="webhook only: the JSON payload, each text in it a template: {cart_total: '{{ cart_total }}'}",
    )

    @field_validator("subject")
    @classmethod
    def _subject_only_for_email(cls, subject: str | None, info: ValidationInfo) -> str | None:
        channel = info.data.get("channel")
        if channel in WITH_SUBJECT and subject is None:
            raise ValueError(
                f"{'an email' if channel == MessageChannel.email else 'a sales task'} template needs a subject"
            )
        if channel not in (None, *WITH_SUBJECT) and subject is not None:
            raise ValueError(f"only email and sales task templates have a subject; this one is for {channel}")
        return subject

    @model_validator(mode="after")
    def _body_or_json(self) -> Template:
        if self.channel == MessageChannel.webhook and (self.payload is None or self.body is not None):
            raise ValueError(
                "a webhook template has its payload under `json:` (a mapping), no body, e.g. json: {event: cart_left}"
            )
        if self.channel != MessageChannel.webhook and (self.body is None or self.payload is not None):
            raise ValueError(f"a {self.channel} template has a `body:` text; only a webhook template has `json:`")
        return self

    def written_texts(self) -> Iterator[tuple[Location, str]]:
        """Where each text is in the file (subject, body, or a value of the JSON), and the text as written."""
        if self.subject is not None:
            yield ("subject",), self.subject
        if self.body is not None:
            yield ("body",), self.body
        if self.payload is not None:
            yield from _json_texts(self.payload, ("json",))

    def sections(self) -> Iterator[tuple[Location, str]]:
        """Where each text is in the file, and the text as Jinja2."""
        for at, text in self.written_texts():
            yield at, as_jinja(text)

    @property
    def text(self) -> str:
        """Every text of the template, as written."""
        return "\n".join(text for _, text in self.written_texts())

    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys(name for _, text in self.sections() for name in analysed(text).variables))

    @property
    def event_facts(self) -> list[str]:
        return list(dict.fromkeys(fact for _, text in self.sections() for fact in analysed(text).event_facts))

    def mentions(self) -> tuple[set[str], bool]:
        """The product facts the text names and whether it names checkout_url, found without Jinja2 (the profile
        function calls this for every journey an event may start): a superset of what it uses, within the product
        facts, so the entry keeps nothing a template cannot show."""
        text = self.text
        facts = {m.group(1) or m.group(2) for m in EVENT_FACT_MENTION.finditer(text)}
        return facts & PRODUCT_FACTS.keys(), re.search(r"\bcheckout_url\b", text) is not None

    def written(self, name: str) -> str:
        """A variable as the marketer wrote it: `${name}` in an earlier template, else `{{ name }}`."""
        return f"${{{name}}}" if f"${{{name}}}" in self.text else f"{{{{ {name} }}}}"

    def render(self, values: dict[str, Any]) -> tuple[str | None, str]:
        """Subject and body for these values (a webhook's body: its JSON); raises TemplateFailed (and nothing else)
        if they cannot be written."""
        subject = _written(as_jinja(self.subject), values) if self.subject is not None else None
        if self.payload is None:
            assert self.body is not None  # _body_or_json
            return subject, _written(as_jinja(self.body), values)
        payload = json.dumps(_json_written(self.payload, values), ensure_ascii=False, separators=(",", ":"))
        if len(payload) > MAX_MESSAGE_LENGTH:
            raise TemplateFailed
        return subject, payload


# The channels whose templates have a subject: an email's, a sales task's title.
WITH_SUBJECT = (MessageChannel.email, MessageChannel.sales_task)


def _json_texts(value: JsonValue, at: Location) -> Iterator[tuple[Location, str]]:
    """The texts of a JSON payload, each with where it is."""
    if isinstance(value, str):
        yield at, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_texts(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_texts(item, (*at, index))


def _json_written(value: JsonValue, values: dict[str, Any]) -> JsonValue:
    """The payload with each text filled in; numbers, yes/no and null as written."""
    if isinstance(value, str):
        return _written(as_jinja(value), values)
    if isinstance(value, dict):
        return {key: _json_written(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_written(item, values) for item in value]
    return value


def _written(source: str, values: dict[str, Any]) -> str:
    import jinja2

    parts: list[str] = []
    length = 0
    try:
        for part in compiled(source).generate(values):
            length += len(part)
            if length > MAX_MESSAGE_LENGTH:
                raise TemplateFailed
            parts.append(part)
    # Validation leaves little to fail here (a value absent for this customer: `None | round`), but whatever does
    # must hold one message, never end the run, and never carry a value into a log or Step Functions' history.
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError):
        raise TemplateFailed from None
    return "".join(parts)


class ShopConfig(ConfigModel):
    """config/shop.yaml: the language of the templates without a locale in their name, and the shop's currency."""

    locale: str = Field(
        default="en", description="the shop's own language: templates without a locale, and customers with none"
    )
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")
    crm_currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="the currency of CRM deals that name none (HubSpot's company currency); default: currency",
    )

    @property
    def deal_currency(self) -> str:
        """What a won deal without a currency of its own is in: HubSpot sets none unless multi-currency is on."""
        return self.crm_currency or self.currency

    @field_validator("locale")
    @classmethod
    def _language_tag(cls, locale: str) -> str:
        tag = locale_tag(locale)
        if tag is None:
            raise ValueError(f"{locale!r} is not a language; write e.g. en, de or de-DE")
        return tag


@lru_cache(maxsize=1)
def shop() -> ShopConfig:
    """config/shop.yaml, loaded once per process; a config folder without one has the defaults (English, EUR)."""
    path = config_dir() / SHOP_FILE
    return load(path, ShopConfig) if path.is_file() else ShopConfig()


@dataclass(frozen=True)
class Variant:
    """One language of a template: `locale` None is the shop's own (the file without a locale)."""

    locale: str | None
    template: Template

    @property
    def label(self) -> str:
        return self.locale or "shop default"


# Language codes devices still send that Babel does not map to today's: Hebrew, Norwegian Bokmål, Indonesian, Yiddish.
LEGACY_LANGUAGES = {"iw": "he", "no": "nb", "in": "id", "ji": "yi"}


def fallbacks(locale: str | None) -> list[str]:
    """The locales to try for a customer, most specific first: de-AT → de-AT, de (then the shop's own); with the
    script the region writes (zh-TW → zh-Hant-TW, zh-Hant, zh-TW, zh, so Taiwan reads Traditional Chinese) and
    today's code of a legacy one (iw → he)."""
    tag = locale_tag(locale)
    if tag is None:
        return []
    language, _, rest = tag.partition("-")
    tag = "-".join(part for part in (LEGACY_LANGUAGES.get(language, language), rest) if part)
    prefixes = [
        "-".join(parts[:end])
        for parts in (t.split("-") for t in (_likely(tag), tag))
        for end in range(len(parts), 1, -1)
    ]
    return [*dict.fromkeys(prefixes), tag.split("-")[0]]


def _likely(tag: str) -> str:
    """The tag with the script Babel knows the language is written in there (zh-TW → zh-Hant-TW), when it adds one."""
    from babel import Locale, UnknownLocaleError

    try:
        known = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return tag
    if known.script is None or "-" not in tag:
        return tag
    return "-".join(part for part in (known.language, known.script, known.territory) if part)


class TemplateCatalog:
    """Every template in a folder, each with its languages, loaded and validated together."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # The shop's own language: what journeys name, and every customer's last fallback.
        self.templates: dict[str, Template] = {}
        # By template name, by locale: the other languages.
        self.localised: dict[str, dict[str, Template]] = {}
        self.problems: list[Problem] = []
        found: list[tuple[YamlDocument, str, str | None, Template]] = []
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            name, _, suffix = path.stem.partition(".")
            try:
                document = YamlDocument.read(path)
                template = document.validate(Template)
            except ConfigError as error:
                self.problems.extend(error.problems)
                continue
            locale = None
            if suffix:
                locale = locale_tag(suffix)
                if locale != suffix:
                    self.problems.append(document.problem((), _bad_locale_name(name, suffix, locale)))
                    continue
            self.problems.extend(_text_problems(document, template))
            found.append((document, name, locale, template))
            if locale is None:
                self.templates[name] = template
            else:
                self.localised.setdefault(name, {})[locale] = template
        for document, name, locale, template in found:
            if locale is None:
                continue
            default = self.templates.get(name)
            if default is None:
                self.problems.append(document.problem((), _no_fallback(name, locale)))
            elif template.channel != default.channel:
                message = f"this is {name!r} in {locale}, for {template.channel}; {name}.yaml is for {default.channel}"
                self.problems.append(document.problem(("channel",), message))
            elif default.channel in READ_BY_STAFF:
                message = (
                    f"{name!r} is {_read_by_staff_as(default.channel)} ({default.channel}), always written in the "
                    f"shop's language as {name}.yaml is; this {locale} version would never be used: delete it"
                )
                self.problems.append(document.problem(("channel",), message))

    def variants(self, name: str) -> list[Variant]:
        """Every language of template `name`: the shop's own first."""
        own = [Variant(None, self.templates[name])] if name in self.templates else []
        return own + [Variant(locale, t) for locale, t in sorted(self.localised.get(name, {}).items())]

    def variant(self, name: str, locale: str | None) -> Variant:
        """The language of template `name` a customer with `locale` reads: de-AT → de-AT, de, the shop's own."""
        languages = self.localised.get(name, {})
        chosen = next((tag for tag in fallbacks(locale) if tag in languages), None)
        return Variant(chosen, languages[chosen]) if chosen else Variant(None, self.templates[name])

    def problems_for_journey(
        self, name: str, entry_event: str | None, *, has_offer: bool, about_a_product: bool
    ) -> list[str]:
        """What is wrong with template `name` (every language of it) in a step of a journey entered on
        `entry_event` (None: a segment, a stage or a schedule) whose starting event can be a product event or not
        (contract.starts_on_a_product), the step having an `offer` or not. Only for a template that exists;
        validation says when one does not."""
        problems: list[str] = []
        for variant in self.variants(name):
            template = variant.template
            called = f"template {name!r}" + (f" ({variant.locale})" if variant.locale else "")
            for variable in template.variables:
                if variable in EVENT_VARIABLES and entry_event not in EVENT_VARIABLES[variable]:
                    needs = " or ".join(EVENT_VARIABLES[variable])
                    problems.append(f"{called} uses {template.written(variable)}, which only a {needs} entry supplies")
            # A fact that is not a product fact is reported with the template itself.
            facts = [fact for fact in template.event_facts if fact in PRODUCT_FACTS]
            if facts and not about_a_product:
                shown = ", ".join(f"{{{{ event.{fact} }}}}" for fact in facts)
                starts = " or ".join(f"`entry: {{event: {event}}}`" for event in PRODUCT_EVENTS)
                problems.append(
                    f"{called} uses {shown}, which only a journey that starts on a product event supplies "
                    f"({starts}, or `entry: {{segment: ...}}` with a segment that counts one with `did`); other "
                    "events may carry personal details"
                )
            offered = [template.written(variable) for variable in template.variables if variable in OFFER_VARIABLES]
            if offered and not has_offer:
                problems.append(f"{called} uses {', '.join(offered)}, which only a send step with an `offer` supplies")
        return problems


# Every variable a template may name.
KNOWN_VARIABLES = (*VARIABLES, *EVENT_VARIABLES, *OFFER_VARIABLES)


def _text_problems(document: YamlDocument, template: Template) -> list[Problem]:
    problems: list[Problem] = []
    for section, text in template.sections():
        analysis = analysed(text)
        if analysis.mistake is not None:
            problems.append(document.problem(section, f"cannot be read as a template: {analysis.mistake}"))
            continue
        for name in analysis.variables:
            if name not in KNOWN_VARIABLES:
                message = _unknown_variable(template.written(name), name, text)
                problems.append(document.problem(section, message))
        for fact in analysis.event_facts:
            if fact not in PRODUCT_FACTS:
                problems.append(document.problem(section, _not_a_product_fact(fact)))
        for used in analysis.filters:
            if used not in environment().filters:
                problems.append(document.problem(section, _unknown_filter(used)))
    return problems


def _unknown_variable(written: str, name: str, text: str) -> str:
    return f"{written} is not a variable any profile or event supplies{_meant(name, text)}"


def _meant(name: str, text: str) -> str:
    """What a template writing the unknown variable `name` meant: `{{ product_name }}` → event.name, `{{
    customer.first_name }}` → first_name, else the nearest variable or product fact, else a trait of the profile."""
    if name in COMMON_NAMES:
        return f" (did you mean {COMMON_NAMES[name]!r}?)"
    # `customer.first_name`, `user.email`: the variable is what follows the dot.
    attribute = re.search(rf"\b{re.escape(name)}\s*\.\s*([A-Za-z_]\w*)", text)
    if attribute is not None:
        wanted = attribute.group(1)
        meant = COMMON_NAMES.get(wanted) or (wanted if wanted in KNOWN_VARIABLES else f"{TRAITS}.{wanted}")
        return f" (did you mean {meant!r}?)"
    near = did_you_mean(name, [*KNOWN_VARIABLES, *(f"{EVENT}.{fact}" for fact in PRODUCT_FACTS)])
    return near or f"; a trait of the customer's profile is written {{{{ {TRAITS}.{name} }}}}"


def _not_a_product_fact(fact: str) -> str:
    return (
        f"{{{{ event.{fact} }}}} is not a product fact of the starting event{did_you_mean(fact, PRODUCT_FACTS)}; "
        f"a template may show {', '.join(f'event.{name}' for name in PRODUCT_FACTS)} (a journey keeps nothing "
        "personal of the event that started it)"
    )


def _unknown_filter(name: str) -> str:
    return (
        f"there is no filter {name!r}{did_you_mean(name, environment().filters)}; "
        f"for money and dates write e.g. {FILTERS['money'].split(' → ')[0]} or {{{{ last_order_at | date }}}}"
    )


def _bad_locale_name(name: str, suffix: str, locale: str | None) -> str:
    if locale is None:
        return f"{suffix!r} is not a language; name the file {name}.de.yaml or {name}.de-AT.yaml"
    return f"write the language as {locale!r}: name the file {name}.{locale}.yaml"


def _read_by_staff_as(channel: MessageChannel) -> str:
    return "a task for the sales team" if channel == MessageChannel.sales_task else "a note for the shop's staff"


def _no_fallback(name: str, locale: str) -> str:
    return (
        f"there is no {name}.yaml beside {name}.{locale}.yaml: the template in the shop's own language is what "
        "customers of every other language read, and the name journeys use"
    )


# Filters --------------------------------------------------------------------------------------------------


def _formats(context: Any) -> Formats:
    formats = context.get(FORMATS)
    # render() always sets them; a caller that did not is a programming error, not a template's.
    assert isinstance(formats, Formats), "render() gives every template the customer's formats"
    return formats


def _money(context: Any, amount: Any, currency: str | None = None) -> str:
    from decimal import Decimal, InvalidOperation

    from babel.numbers import format_currency

    if amount is None or amount == "":
        return ""
    formats = _formats(context)
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return str(format_currency(value, currency or formats.currency, locale=formats.locale))


def _moment(value: Any) -> Any:
    from datetime import UTC, date, datetime

    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, date) else None


# Babel's named lengths of a date; any other pattern is Unicode's (`'EEEE, d. MMMM'`, `'HH:mm'`).
DATE_LENGTHS = ("short", "medium", "long", "full")


def _date(context: Any, value: Any, pattern: str = "medium") -> str:
    from datetime import datetime, time

    from babel.dates import format_date, format_datetime

    moment = _moment(value)
    if moment is None:
        return ""
    formats = _formats(context)
    if pattern in DATE_LENGTHS:
        day = moment.astimezone(formats.zone).date() if isinstance(moment, datetime) else moment
        return str(format_date(day, pattern, locale=formats.locale))
    # A pattern may name the time of day too ('HH:mm'): a day without one is at midnight, in the customer's zone.
    at = moment if isinstance(moment, datetime) else datetime.combine(moment, time(), formats.zone)
    return str(format_datetime(at, pattern, tzinfo=formats.zone, locale=formats.locale))


def _datetime(context: Any, value: Any, pattern: str = "medium") -> str:
    from datetime import datetime

    from babel.dates import format_datetime

    moment = _moment(value)
    if not isinstance(moment, datetime):
        return ""
    formats = _formats(context)
    return str(format_datetime(moment, pattern, tzinfo=formats.zone, locale=formats.locale))
