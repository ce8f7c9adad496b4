"""Lifecycle stages as rules over the profile, defined once in config/lifecycle.yaml."""

from __future__ import annotations

from collections.abc import Sized
from datetime import datetime
from functools import lru_cache
from typing import Protocol

from pydantic import Field, model_validator

from omnijourney.platform.configfile import SNAKE_CASE, ConfigModel, config_dir, load


class Staged(Protocol):
    """What a stage reads of a profile (profiles.model.Profile has it): the model imports this module, not back."""

    @property
    def kept_orders(self) -> Sized: ...

    @property
    def last_order_at(self) -> datetime | None: ...

    @property
    def is_known(self) -> bool: ...


class StageConditions(ConfigModel):
    min_orders: int | None = Field(default=None, ge=0)
    max_orders: int | None = Field(default=None, ge=0)
    days_since_last_order_at_least: int | None = Field(default=None, ge=0)
    known: bool | None = Field(default=None, description="has an email or a phone number")

    def met_by(self, profile: Staged, at: datetime) -> bool:
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
    name: str = Field(pattern=SNAKE_CASE)
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

    def stage_of(self, profile: Staged, at: datetime) -> str:
        return next(stage.name for stage in self.stages if stage.when.met_by(profile, at))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)


@lru_cache(maxsize=1)
def lifecycle() -> LifecycleConfig:
    """config/lifecycle.yaml, loaded once per process (`omnijourney.app.config.clear()` forgets it)."""
    return load(config_dir() / "lifecycle.yaml", LifecycleConfig)
