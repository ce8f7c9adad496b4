"""Offers (config/offers.yaml): defined once, issued once per customer with one code, closed everywhere when used.

Pure rules over the profile: which offer a message presents, whether it may issue one, and the code.
The journey-step function applies them at send time; the profile records what was issued and redeemed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, model_validator

from omnijourney.platform.configfile import CURRENCY_CODE, ConfigModel, TimezoneName, config_dir, load
from omnijourney.profiles.model import IssuedOffer, Profile, discount_text
from omnijourney.vocabulary import MessageChannel, Reason


class Discount(ConfigModel):
    percent: int | None = Field(default=None, ge=1, le=100)
    amount: Decimal | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, pattern=CURRENCY_CODE)

    @model_validator(mode="after")
    def _one_kind(self) -> Discount:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("a discount is either `percent` or `amount` (with `currency`)")
        if self.amount is not None and self.currency is None:
            raise ValueError("an amount needs its `currency`, e.g. EUR")
        return self

    @property
    def text(self) -> str:
        return discount_text(self.percent, self.amount, self.currency)


class Validity(ConfigModel):
    """Either `days` after it is issued, or a fixed window `from` to `until` (both days included, in the shop's
    timezone)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    days: int | None = Field(default=None, ge=1, le=365)
    starts: date | None = Field(default=None, alias="from")
    until: date | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Validity:
        window = self.starts is not None and self.until is not None
        if (self.days is not None) == window:
            raise ValueError("give `days`, or both `from` and `until`")
        if window and self.starts is not None and self.until is not None and self.until < self.starts:
            raise ValueError("`until` is before `from`")
        return self

    def expiry(self, issued_at: datetime, shop: ZoneInfo) -> datetime:
        if self.days is not None:
            return issued_at + timedelta(days=self.days)
        assert self.until is not None
        return datetime.combine(self.until + timedelta(days=1), time(), tzinfo=shop).astimezone(UTC)

    def open_at(self, at: datetime, shop: ZoneInfo) -> bool:
        """Within the window's days as the shop's calendar has them (always, for an offer valid for `days`)."""
        if self.starts is None or self.until is None:
            return True
        return self.starts <= at.astimezone(shop).date() <= self.until


class Offer(ConfigModel):
    description: str = ""
    discount: Discount
    skus: list[str] = Field(min_length=1)
    valid: Validity
    channels: list[MessageChannel] = Field(min_length=1)
    issued_by: list[str] = Field(min_length=1, description="journeys that may issue it")
    priority: int = Field(default=50, ge=0, le=100)
    code_prefix: str = Field(pattern=r"^[A-Z0-9]{2,12}$", description="codes look like PREFIX-7K2M9Q4D")


class Conflicts(ConfigModel):
    same_sku: Literal["present_existing", "suppress"] = "present_existing"
    full_price_purchase_days: int = Field(default=30, ge=0)


class OffersConfig(ConfigModel):
    # The shop's: a fixed window opens and closes at midnight there.
    timezone: TimezoneName = "UTC"
    conflicts: Conflicts = Field(default_factory=Conflicts)
    offers: dict[str, Offer] = Field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# Why a send step cannot present its offer.
NotPresented = Literal[
    Reason.offer_not_on_promoted_products,
    Reason.offer_conflict,
    Reason.bought_at_full_price,
    Reason.offer_not_open,
    Reason.offer_used,
    Reason.offer_expired,
    Reason.already_purchased,  # guards.offer_held: the offer names a product the customer has ordered
]
# What a send step gets: the offer to present, or why it cannot present one.
Presented = IssuedOffer | NotPresented


def code_for(customer_id: str, offer_name: str, prefix: str, step_entered: datetime) -> str:
    """A Shopify-compatible discount code, unguessable across customers and the same for every attempt of one issue:
    derived from when the issuing send step was entered (Step Functions' EnteredTime, the same on every retry of its
    Task), not from when an attempt ran. A Task retried after a failure before the offer was recorded issues the code
    the first attempt would have."""
    digest = hashlib.sha256(f"{customer_id}#{offer_name}#{step_entered.isoformat()}".encode()).hexdigest()
    return f"{prefix}-{int(digest[:12], 16):X}"[:32]


def live_offers(profile: Profile, at: datetime) -> list[IssuedOffer]:
    return [offer for offer in profile.offers if offer.status_at(at) == "live"]


def present(
    name: str,
    config: OffersConfig,
    profile: Profile,
    *,
    promotes: Sequence[str],
    channel: MessageChannel,
    at: datetime,
    journey: str,
    step_entered: datetime | None = None,
) -> Presented:
    """The offer a message promoting the SKUs `promotes` presents at `at`: the customer's live one covering these
    SKUs, or a new one (its code from `step_entered`, else `at`: see code_for), or why not. Whatever it presents
    covers at least one promoted product: a code that does not apply to what the customer came for is worse than no
    code."""
    offer = config.offers[name]
    skus = set(offer.skus)
    promoted = set(promotes)
    if not skus & promoted:
        return Reason.offer_not_on_promoted_products
    live = [issued for issued in live_offers(profile, at) if skus & set(issued.skus)]
    same = next((issued for issued in live if issued.offer == name), None)
    if same is not None:
        return same if promoted & set(same.skus) else Reason.offer_not_on_promoted_products
    if live:
        other = max(
            live, key=lambda issued: config.offers[issued.offer].priority if issued.offer in config.offers else 0
        )
        shown_there = channel in config.offers.get(other.offer, offer).channels
        # The live offer is shown instead only where it may be and where it applies to what this message promotes.
        if config.conflicts.same_sku == "suppress" or not shown_there or not promoted & set(other.skus):
            return Reason.offer_conflict
        return other
    before = [issued for issued in profile.offers if issued.offer == name]
    if before:
        # One offer, one code per customer: once used or run out, follow-ups go without it.
        return Reason.offer_used if any(issued.status == "redeemed" for issued in before) else Reason.offer_expired
    if not offer.valid.open_at(at, config.zone):
        return Reason.offer_not_open
    recent = at - timedelta(days=config.conflicts.full_price_purchase_days)
    # Neither the offer's products nor the ones it is shown beside were bought at full price this recently.
    named = skus | promoted
    full_price = (order for order in profile.orders if order.is_purchase and not order.discount_codes)
    if any(order.at > recent and named & set(order.skus) for order in full_price):
        return Reason.bought_at_full_price
    return IssuedOffer(
        offer=name,
        code=code_for(profile.customer_id, name, offer.code_prefix, step_entered or at),
        discount=offer.discount.text,
        skus=tuple(offer.skus),
        issued_at=at,
        expires_at=offer.valid.expiry(at, config.zone),
        issued_by=journey,
    )


@lru_cache(maxsize=1)
def offers() -> OffersConfig:
    """config/offers.yaml, loaded once per process (`omnijourney.app.config.clear()` forgets it)."""
    return load(config_dir() / "offers.yaml", OffersConfig)
