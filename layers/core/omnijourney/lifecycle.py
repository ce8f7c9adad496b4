"""Lifecycle stages as rules over the profile, defined once in config/lifecycle.yaml."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from omnijourney.configfile import ConfigModel

if TYPE_CHECKING:
    from omnijourney.profiles.model import Profile


class StageConditions(ConfigModel):
    min_orders: int | None = Field(default=None, ge=0)
    max_orders: int | None = Field(default=None, ge=0)
    days_since_last_order_at_least: int | None = Field(default=None, ge=0)
    known: bool | None = Field(default=None, description="has an email or a phone number")

    def met_by(self, profile: Profile, at: datetime) -> bool:
        # Test, voided, cancelled and wholly refunded orders make nobody a customer.
        orders = len(profile.kept_orders)
        if self.min_orders is not None and orders < self.min_orders:
            return False
        if self.max_orders is not None and orders > self.max_orders:
            return False
        if self.days_since_last_order_at_least is not None:
            last = profile.last_order_at
            if last is None or (at - last).days < self.days_since_last_order_at_least:
                return False
        return self.known is None or self.known == profile.is_known

    @property
    def is_catch_all(self) -> bool:
        return self == StageConditions()


class Stage(ConfigModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    when: StageConditions


class LifecycleConfig(ConfigModel):
    stages: tuple[Stage, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _well_formed(self) -> LifecycleConfig:
        names = [stage.name for stage in self.stages]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"stage names must be unique; repeated: {', '.join(duplicates)}")
        if not self.stages[-1].when.is_catch_all:
            raise ValueError("the last stage must have no conditions (`when: {}`) so every profile has a stage")
        return self

    def stage_of(self, profile: Profile, at: datetime) -> str:
        return next(stage.name for stage in self.stages if stage.when.met_by(profile, at))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)
