"""Message templates (journeys/templates/<name>.yaml): one per channel, `${variable}` placeholders.

`string.Template` on purpose: marketers' templates cannot run code, and the variables a template
uses can be listed before anything is sent, so a missing one is a validation error, not a blank.
"""

from __future__ import annotations

from pathlib import Path
from string import Template as Placeholders

from pydantic import Field, ValidationInfo, field_validator

from omnijourney.platform.configfile import ConfigError, ConfigModel, Problem, YamlDocument, did_you_mean
from omnijourney.vocabulary import MessageChannel

# What a template may use, and where the value comes from.
VARIABLES = {
    "first_name": "profile trait first_name",
    "last_name": "profile trait last_name",
    "email": "the customer's email",
    "phone": "the customer's phone",
    "cart_items": "the cart at send time, e.g. '1× Trail Runner 42'",
    "cart_total": "the cart's value",
    "first_cart_item": "the first item's name in the cart",
    "last_order_id": "the latest order's id",
    "last_order_items": "what the latest order contained",
    "cross_sell_items": "products related to the latest order that the customer has not bought",
    "ticket_subject": "the subject of the customer's latest support ticket",
    "unsubscribe_url": "the one-click unsubscribe link (email)",
    "store_name": "the shop's name",
}
# Variables that only the starting event can supply: which entry events do.
EVENT_VARIABLES = {"checkout_url": ("checkout_started", "cart_updated")}
# Variables only a send step with an `offer` supplies.
OFFER_VARIABLES = {
    "offer_code": "the customer's code for the offer, the same on every channel",
    "offer_discount": "what it takes off, e.g. '10% off'",
    "offer_expires": "the last day it can be used, e.g. 'Mon 9 Mar'",
    "offer_products": "the products it covers",
}


class Template(ConfigModel):
    channel: MessageChannel
    subject: str | None = Field(default=None, description="email only", validate_default=True)
    body: str = Field(min_length=1)

    @field_validator("subject")
    @classmethod
    def _subject_only_for_email(cls, subject: str | None, info: ValidationInfo) -> str | None:
        channel = info.data.get("channel")
        if channel == MessageChannel.email and subject is None:
            raise ValueError("an email template needs a subject")
        if channel not in (None, MessageChannel.email) and subject is not None:
            raise ValueError(f"only email templates have a subject; this one is for {channel}")
        return subject

    @property
    def variables(self) -> list[str]:
        texts = [self.subject or "", self.body]
        return list(dict.fromkeys(name for text in texts for name in Placeholders(text).get_identifiers()))

    def render(self, values: dict[str, str]) -> tuple[str | None, str]:
        subject = Placeholders(self.subject).substitute(values) if self.subject else None
        return subject, Placeholders(self.body).substitute(values)


class TemplateCatalog:
    """Every template in a folder, loaded and validated together."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.templates: dict[str, Template] = {}
        self.problems: list[Problem] = []
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            try:
                document = YamlDocument.read(path)
                template = document.validate(Template)
            except ConfigError as error:
                self.problems.extend(error.problems)
                continue
            for name in template.variables:
                if name not in VARIABLES and name not in EVENT_VARIABLES and name not in OFFER_VARIABLES:
                    key = "subject" if name in Placeholders(template.subject or "").get_identifiers() else "body"
                    self.problems.append(document.problem((key,), _unknown_variable(name)))
            self.templates[path.stem] = template


def _unknown_variable(name: str) -> str:
    known = [*VARIABLES, *EVENT_VARIABLES, *OFFER_VARIABLES]
    return f"${{{name}}} is not a variable any profile or event supplies{did_you_mean(name, known)}"
