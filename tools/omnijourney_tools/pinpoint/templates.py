"""`import pinpoint templates`: Pinpoint's email, SMS and push templates as journeys/templates/<name>.yaml.

Pinpoint writes Handlebars (`{{User.UserAttributes.FirstName}}`, `{{#if …}}…{{/if}}`) with defaults in
DefaultSubstitutions; omnijourney's templates are Jinja2 over the profile (templates.VARIABLES). A variable with an
equivalent becomes it (attributes and location become the traits the `pinpoint` source writes them to); one without
stays in the text as `{{ pinpoint_<name> }}`, which `journeys validate` names, and is reported. Email is sent as plain
text, so the TextPart is kept (an HtmlPart alone is turned into text, and the loss of its HTML reported).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from omnijourney.edge.sources.pinpoint import LOCATION_TRAITS, NAME_TRAITS
from omnijourney.vocabulary import MessageChannel
from omnijourney_tools.pinpoint.exports import TEMPLATE, Export, read_exports
from omnijourney_tools.pinpoint.names import snake_name
from omnijourney_tools.pinpoint.outputs import IMPORTED_MARK, Outputs
from omnijourney_tools.pinpoint.report import MigrationReport, ObjectReport

CHANNELS = {
    "EmailTemplateResponse": MessageChannel.email,
    "SMSTemplateResponse": MessageChannel.sms,
    "PushNotificationTemplateResponse": MessageChannel.push,
}
# `{{{raw}}}` (Handlebars' unescaped output: omnijourney escapes nothing anyway) or `{{tag}}`.
HANDLEBARS_TAG = re.compile(r"\{\{\{(?P<raw>.*?)\}\}\}|\{\{(?P<tag>.*?)\}\}", re.DOTALL)
# A message variable: dotted names, `[Name with spaces]` segments, `.[0]` for the first value of a list attribute.
VARIABLE_PATH = re.compile(r"^(?:\[[^\]]*\]|[A-Za-z_@][\w@-]*)(?:\.(?:\[[^\]]*\]|[A-Za-z_@][\w@-]*))*$")
PATH_SEGMENT = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")
# Where the endpoint's own `Address` is in a template of each channel.
ADDRESS_VARIABLES = {MessageChannel.email: "email", MessageChannel.sms: "phone"}
UNMAPPED_PREFIX = "pinpoint_"
UNSUBSCRIBE = "{{ unsubscribe_url }}"
# A link in Pinpoint's text that is its own unsubscribe or opt-out page: it becomes omnijourney's one-click link.
UNSUBSCRIBE_LINK = re.compile(r"https?://\S*?(?:unsubscribe|opt-?out|optout|abmelden)\S*", re.IGNORECASE)
UNSUBSCRIBE_WORDS = re.compile(r"unsubscribe|opt.?out|abmelden", re.IGNORECASE)
# Stands for omnijourney's unsubscribe link while Pinpoint's text is converted (it is not Handlebars).
UNSUBSCRIBE_MARK = "\x00unsubscribe\x00"
PUSH_PLATFORMS = ("APNS", "GCM", "ADM", "Baidu")


@dataclass
class Conversion:
    """Pinpoint's Handlebars text as omnijourney's template text, with what came over and what did not."""

    text: str
    mapped: dict[str, str] = field(default_factory=dict)
    unmapped: dict[str, str] = field(default_factory=dict)
    helpers: list[str] = field(default_factory=list)


def convert(args: argparse.Namespace, report: MigrationReport, outputs: Outputs) -> None:
    out: Path = args.out
    written = [(export, _template(export, out, report)) for export in read_exports(args.files, TEMPLATE)]
    for export, (path, text) in written:
        outputs.add(path, text, source=str(export.file))
    report.notes.append(
        "Attributes (`{{Attributes.X}}`, `{{User.UserAttributes.X}}`) became traits of the same name "
        "(`{{ traits.X }}`), as `import pinpoint endpoints` names them; FirstName and LastName became "
        "`{{ first_name }}` and `{{ last_name }}`."
    )


def _template(export: Export, out: Path, report: MigrationReport) -> tuple[Path, str]:
    body = export.body
    channel = CHANNELS[export.shape]
    pinpoint_name = str(body["TemplateName"])
    name = snake_name(pinpoint_name, fallback="template")
    path = out / f"{name}.yaml"
    reported = report.object("template", pinpoint_name, export.file)
    reported.became = f"`{path}` ({channel})"
    defaults = _defaults(export)
    subject: Conversion | None = None
    if channel is MessageChannel.email:
        subject = handlebars_as_jinja(_one_line(str(body.get("Subject") or "")) or pinpoint_name, channel, defaults)
        reported.mapped("Subject", "subject" if body.get("Subject") else f"subject {pinpoint_name!r} (it had none)")
        main = handlebars_as_jinja(unsubscribe_links_marked(_email_text(export, reported)), channel, defaults)
        main.text = _with_unsubscribe_link(main.text, reported)
    elif channel is MessageChannel.sms:
        main = handlebars_as_jinja(_required_text(export, "Body"), channel, defaults)
        reported.mapped("Body", "body")
    else:
        main = handlebars_as_jinja(_push_text(export, reported), channel, defaults)
    for conversion in (subject, main):
        if conversion is not None:
            _report_variables(conversion, defaults, reported)
    _report_settings(body, reported)
    return path, _yaml(pinpoint_name, body.get("TemplateDescription"), channel, subject, main)


def _defaults(export: Export) -> dict[str, str]:
    """DefaultSubstitutions: a JSON object (as text) of message variable → its default value."""
    given = export.body.get("DefaultSubstitutions")
    if not given:
        return {}
    try:
        defaults = json.loads(given)
    except json.JSONDecodeError:
        defaults = None
    if not isinstance(defaults, dict) or not all(isinstance(value, str | int | float) for value in defaults.values()):
        raise export.refuse(
            'should be a JSON object of message variable → default value, e.g. {"User.UserAttributes.FirstName": '
            '"there"}',
            field="DefaultSubstitutions",
        )
    return {str(key).strip(): str(value) for key, value in defaults.items()}


def _required_text(export: Export, key: str) -> str:
    text = export.body.get(key)
    if not isinstance(text, str) or not text.strip():
        raise export.refuse(f"has no message text: a {CHANNELS[export.shape]} template needs {key}", field=key)
    return text


def _email_text(export: Export, reported: ObjectReport) -> str:
    text, html = export.body.get("TextPart"), export.body.get("HtmlPart")
    if text and text.strip():
        reported.mapped("TextPart", "body")
        if html:
            reported.decide(
                "HtmlPart",
                "not kept: omnijourney sends email as plain text (SES Body.Text), so the body is the TextPart; "
                "check it says all the HTML did",
            )
        return str(text)
    if not html or not html.strip():
        raise export.refuse("has no message text: an email template needs TextPart or HtmlPart", field="TextPart")
    reported.mapped("HtmlPart (there is no TextPart)", "body, as plain text: links written `text: address`")
    reported.decide(
        "HtmlPart",
        "omnijourney sends email as plain text: its layout, styles and images are gone; read the body over",
    )
    return html_as_text(str(html))


def _push_text(export: Export, reported: ObjectReport) -> str:
    default = export.body.get("Default") or {}
    platforms = {name: export.body[name] for name in PUSH_PLATFORMS if export.body.get(name)}
    source = "Default" if default.get("Body") else next((n for n, p in platforms.items() if p.get("Body")), None)
    if source is None:
        raise export.refuse("has no message text: a push template needs Default.Body", field="Default.Body")
    chosen = default if source == "Default" else platforms[source]
    reported.mapped(f"{source}.Body", "body")
    if chosen.get("Title"):
        reported.decide(
            f"{source}.Title",
            f"not kept: omnijourney's push title is the shop's name (settings.store_name); the title was "
            f"{_one_line(str(chosen['Title']))!r}: put it in the body if it matters",
        )
    if chosen.get("Action") not in (None, "OPEN_APP") or chosen.get("Url"):
        reported.decide(
            f"{source}.Action/Url",
            "not kept: omnijourney's push opens the app (message key, journey and step travel as data); a deep "
            "link or URL needs the app to read them",
        )
    for key in ("Sound", "ImageUrl", "ImageIconUrl", "SmallImageIconUrl", "MediaUrl", "RawContent"):
        if chosen.get(key):
            reported.decide(f"{source}.{key}", "not kept: omnijourney's push sends a title and a body")
    for name in platforms:
        if name != source:
            reported.decide(name, f"not kept: omnijourney sends one body to every platform ({source}'s)")
    return str(chosen["Body"])


def _report_variables(conversion: Conversion, defaults: dict[str, str], reported: ObjectReport) -> None:
    for written, became in conversion.mapped.items():
        reported.mapped(f"`{written}`", f"`{became}`")
    for written, marker in conversion.unmapped.items():
        default = defaults.get(_tag_content(written))
        also = f" (its default was {default!r})" if default is not None else ""
        reported.decide(
            f"`{written}`",
            f"no equivalent on the profile{also}: left as `{marker}`, which `journeys validate` names; write a "
            "profile variable or `{{ traits.<name> }}` instead",
        )
    for helper in conversion.helpers:
        reported.decide(
            f"`{helper}`",
            f"Handlebars helper with no equivalent: left as `{{{{ {_helper_marker(helper)} }}}}`, which `journeys "
            "validate` names; rewrite it in Jinja2 ({% if %}, {% for %}, filters such as upper or date)",
        )


def _report_settings(body: dict[str, Any], reported: ObjectReport) -> None:
    if body.get("RecommenderId"):
        reported.decide(
            "RecommenderId",
            "no recommender in omnijourney: recommended items are not filled in; `{{ cross_sell_items }}` shows "
            "products related to the last order (config/products.yaml)",
        )
    if body.get("Headers"):
        names = ", ".join(str(header.get("Name")) for header in body["Headers"])
        reported.decide(
            f"Headers ({names})",
            "not kept: omnijourney sets List-Unsubscribe itself on marketing email and no other header",
        )
    if body.get("TemplateDescription"):
        reported.mapped("TemplateDescription", "a comment at the top of the file")
    if body.get("tags"):
        reported.decide("tags", "not kept: templates are files in git; say what they were for in a comment")


def handlebars_as_jinja(text: str, channel: MessageChannel, defaults: dict[str, str]) -> Conversion:
    """Pinpoint's Handlebars as omnijourney's Jinja2: variables, `{{#if}}`/`{{#unless}}`/`{{else}}`, comments;
    anything else as a variable the validator names."""
    translation = _Translation(channel, defaults)
    parts: list[str] = []
    position = 0
    for tag in HANDLEBARS_TAG.finditer(text):
        parts += [_literal(text[position : tag.start()]), translation.tag(tag.group(0))]
        position = tag.end()
    parts.append(_literal(text[position:]))
    translation.conversion.text = "".join(parts).replace(UNSUBSCRIBE_MARK, UNSUBSCRIBE)
    return translation.conversion


def _tag_content(written: str) -> str:
    """What a tag says, without its braces and whitespace control: `{{~ #if X ~}}` → `#if X`."""
    inner = written[3:-3] if written.startswith("{{{") else written[2:-2]
    return inner.strip().strip("~").strip()


class _Translation:
    """One text's tags, in order: the blocks open at each one, and what came over."""

    def __init__(self, channel: MessageChannel, defaults: dict[str, str]) -> None:
        self.channel = channel
        self.defaults = defaults
        self.open_blocks: list[str] = []
        self.conversion = Conversion(text="")

    def tag(self, written: str) -> str:
        content = _tag_content(written)
        if content.startswith("!"):
            return "{# " + content.strip("!-").strip().replace("#}", "# }") + " #}"
        words = content.split(None, 1)
        keyword = words[0] if words else ""
        in_if = bool(self.open_blocks) and self.open_blocks[-1] == "if"
        if keyword in ("#if", "#unless") and len(words) == 2 and VARIABLE_PATH.match(words[1].strip()):
            expression = self.expression(words[1].strip(), f"{{{{{words[1].strip()}}}}}")
            tested = f"({expression})" if " or " in expression else expression
            self.open_blocks.append("if")
            return f"{{% if {'not ' if keyword == '#unless' else ''}{tested} %}}"
        if keyword == "else" and len(words) == 1 and in_if:
            return "{% else %}"
        if keyword in ("/if", "/unless") and in_if:
            self.open_blocks.pop()
            return "{% endif %}"
        if keyword.startswith("#"):
            self.open_blocks.append(keyword[1:])
        elif keyword.startswith("/") and self.open_blocks and self.open_blocks[-1] == keyword[1:]:
            self.open_blocks.pop()
        if VARIABLE_PATH.match(content) and content not in ("else", "this") and "@" not in content:
            return f"{{{{ {self.expression(content, written)} }}}}"
        self.conversion.helpers.append(written)
        return f"{{{{ {_helper_marker(written)} }}}}"

    def expression(self, path: str, written: str) -> str:
        """The Jinja2 expression for a message variable (with its default), or a marker the validator names."""
        variable = pinpoint_variable(path, self.channel)
        if variable is None:
            marker = UNMAPPED_PREFIX + snake_name(path, fallback="variable", max_length=50)
            self.conversion.unmapped[written] = f"{{{{ {marker} }}}}"
            return marker
        default = self.defaults.get(path)
        with_default = f"{variable} or {_string(default)}" if default is not None else variable
        self.conversion.mapped[written] = f"{{{{ {with_default} }}}}"
        return with_default


def _helper_marker(written: str) -> str:
    return UNMAPPED_PREFIX + snake_name(_tag_content(written), fallback="helper", max_length=40)


def pinpoint_variable(path: str, channel: MessageChannel) -> str | None:
    """The profile variable a Pinpoint message variable reads, or None when the profile has no equivalent."""
    segments = [bracketed or plain for bracketed, plain in PATH_SEGMENT.findall(path)]
    while segments and re.fullmatch(r"\d+", segments[-1]):
        # `FirstName.[0]`: the first value of a list attribute; a trait holds the value itself.
        segments.pop()
    attribute: str | None = None
    if len(segments) == 3 and segments[:2] == ["User", "UserAttributes"]:
        attribute = segments[2]
    elif len(segments) == 2 and segments[0] == "Attributes":
        attribute = segments[1]
    if attribute is not None:
        own = NAME_TRAITS.get(attribute.replace("_", "").lower())
        return own or _trait(attribute)
    if segments == ["Address"]:
        return ADDRESS_VARIABLES.get(channel)
    if len(segments) == 2 and segments[0] == "Location" and segments[1] in LOCATION_TRAITS:
        return _trait(LOCATION_TRAITS[segments[1]])
    return None


def _trait(name: str) -> str:
    plain = re.fullmatch(r"[A-Za-z]\w*", name, re.ASCII) is not None
    return f"traits.{name}" if plain else f"traits[{_string(name)}]"


def _string(value: str) -> str:
    """A Jinja2 string literal."""
    return json.dumps(value, ensure_ascii=False)


def _literal(text: str) -> str:
    """Pinpoint's plain text, kept as text by Jinja2 (and by the `${name}` placeholders of earlier templates)."""
    for opening in ("{%", "{#", "${"):
        text = text.replace(opening, f"{{{{ {_string(opening)} }}}}")
    return text


def _with_unsubscribe_link(text: str, reported: ObjectReport) -> str:
    if UNSUBSCRIBE in text:
        reported.mapped("unsubscribe link", f"`{UNSUBSCRIBE}`, omnijourney's one-click link")
        return text
    reported.decide(
        "unsubscribe link",
        f"the text had none; the import added `Unsubscribe: {UNSUBSCRIBE}` at the end, as a marketing email needs "
        "one (`journeys validate` warns without it): keep it, move it, or remove it if the template is only ever "
        "sent as transactional",
    )
    return f"{text.rstrip()}\n\nUnsubscribe: {UNSUBSCRIBE}\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def unsubscribe_links_marked(text: str) -> str:
    """Pinpoint's own unsubscribe or opt-out links (the URL, Handlebars and all) as omnijourney's link."""
    return UNSUBSCRIBE_LINK.sub(UNSUBSCRIBE_MARK, text)


class _TextOfHtml(HTMLParser):
    """An HTML email's words, as plain text: blocks on lines of their own, list items with a dash, links as
    `text: address`, nothing of styles and scripts."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr"})
    SKIPPED = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._link: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "a":
            self._link = dict(attrs).get("href") or ""
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self._link is not None:
            words = " ".join("".join(self._link_text).split())
            href = self._link
            self._link = None
            unsubscribe = UNSUBSCRIBE_WORDS.search(words) or UNSUBSCRIBE_WORDS.search(href)
            target = UNSUBSCRIBE_MARK if unsubscribe else href
            self.parts.append(f"{words}: {target}" if words and words != href else target)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        # As a browser shows it: any run of white space (a line break in the source too) is one space.
        words = re.sub(r"\s+", " ", data)
        (self._link_text if self._link is not None else self.parts).append(words)


def html_as_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


class _TemplateDumper(yaml.SafeDumper):
    """Multi-line text as a literal block (`body: |`), as the shipped templates are written."""


def _text_block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_TemplateDumper.add_representer(str, _text_block)


def _yaml(
    pinpoint_name: str,
    description: Any,
    channel: MessageChannel,
    subject: Conversion | None,
    main: Conversion,
) -> str:
    # A literal block cannot hold trailing spaces (YAML would quote the whole text): plain text loses nothing by it.
    body = "\n".join(line.rstrip() for line in main.text.splitlines()).strip("\n") + "\n"
    document: dict[str, str] = {"channel": channel.value}
    if subject is not None:
        document["subject"] = subject.text
    document["body"] = body
    head = [IMPORTED_MARK, f"# Pinpoint template {pinpoint_name!r} ({channel.value})."]
    if description:
        head.append(f"# {_one_line(str(description))}")
    dumped = yaml.dump(document, Dumper=_TemplateDumper, sort_keys=False, allow_unicode=True, width=10_000)
    return "\n".join(head) + "\n" + dumped
