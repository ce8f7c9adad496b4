"""The consistency rules (config/consistency.yaml) and the product catalogue (config/products.yaml)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from omnijourney.platform.configfile import ConfigModel, TimezoneName, config_dir, load
from omnijourney.vocabulary import AddressedChannel, Category, MessageChannel


class ConsentRules(ConfigModel):
    opt_out_holds: dict[AddressedChannel, list[Category]]
    marketing_needs_opt_in: list[AddressedChannel] = Field(default_factory=list)


class CapRule(ConfigModel):
    messages: int = Field(ge=1)
    days: int = Field(ge=1)


class QuietHoursRule(ConfigModel):
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    channels: list[MessageChannel]
    categories: list[Category]
    default_timezone: TimezoneName

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


class OpenTicketRule(ConfigModel):
    holds: list[Category]
    recheck_hours: int = Field(ge=1)
    give_up_after_days: int = Field(ge=1)


class ConsistencyRules(ConfigModel):
    consent: ConsentRules
    open_ticket: OpenTicketRule
    already_purchased_holds: list[Category]
    frequency_cap: CapRule
    quiet_hours: QuietHoursRule
    outranked_within_hours: int = Field(ge=0)


class Product(ConfigModel):
    name: str
    related: list[str] = Field(default_factory=list)


class ProductCatalog(ConfigModel):
    products: dict[str, Product]

    @model_validator(mode="after")
    def _related_exist(self) -> ProductCatalog:
        unknown = sorted({sku for product in self.products.values() for sku in product.related} - set(self.products))
        if unknown:
            raise ValueError(f"related products that are not in the catalogue: {', '.join(unknown)}")
        return self

    def name_of(self, sku: str, fallback: str | None = None) -> str:
        product = self.products.get(sku)
        return product.name if product else (fallback or sku)

    def cross_sell(self, bought: list[str], exclude: set[str]) -> list[str]:
        """What goes with `bought`, in catalogue order, leaving out `exclude` (what the customer has)."""
        related = [sku for bought_sku in bought for sku in self.products.get(bought_sku, Product(name="")).related]
        return [sku for sku in dict.fromkeys(related) if sku not in exclude]


@lru_cache(maxsize=1)
def consistency() -> ConsistencyRules:
    """config/consistency.yaml, loaded once per process (`omnijourney.app.config.clear()` forgets it)."""
    return load(config_dir() / "consistency.yaml", ConsistencyRules)


@lru_cache(maxsize=1)
def products() -> ProductCatalog:
    """config/products.yaml, loaded once per process."""
    return load(config_dir() / "products.yaml", ProductCatalog)
