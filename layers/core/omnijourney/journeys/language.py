"""The journey language: what a marketer may write in journeys/*.yaml, as pydantic models.

The JSON Schema editors autocomplete from (`omnijourney journeys schema`) is generated from these models.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from omnijourney.events import ConsentChannel, ConsentStatus, EventType
from omnijourney.platform.configfile import ConfigModel
from omnijourney.vocabulary import Category, MessageChannel

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64, description="lower_snake_case")]
StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60, description="a step's id")]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time of day, HH:MM")]
SECONDS = {"days": 86_400, "hours": 3_600, "minutes": 60}
# What a journey may read from the event that started it (filters and branches), beside `properties.<name>`.
EVENT_FIELDS = ("name", "channel", "source", "cart_value", "cart_items", "order_total", "order_state", "currency")
ACTIONS = ("wait", "wait_for", "branch", "split", "send", "update_profile", "exit")


class Duration(ConfigModel):
    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)
    minutes: int = Field(default=0, ge=0)

    @property
    def seconds(self) -> int:
        return sum(getattr(self, unit) * factor for unit, factor in SECONDS.items())

    @model_validator(mode="after")
    def _positive(self) -> Duration:
        if self.seconds <= 0:
            raise ValueError("a duration needs days, hours or minutes above zero")
        return self


class Comparison(ConfigModel):
    """One test of a value; all the tests given must hold."""

    equals: str | int | float | bool | None = None
    one_of: list[str | int | float] | None = None
    at_least: float | None = None
    at_most: float | None = None
    contains: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Comparison:
        if not self.model_fields_set:
            raise ValueError("give at least one of equals, one_of, at_least, at_most, contains")
        return self


class Condition(ConfigModel):
    """Profile (and starting event) conditions; every condition given must hold."""

    lifecycle_stage: list[Name] | None = Field(default=None, description="one of these stages")
    consent: dict[ConsentChannel, ConsentStatus] | None = None
    reachable_by: list[ConsentChannel] | None = Field(
        default=None, description="has the address for, and has not opted out of, each of these channels"
    )
    orders: Comparison | None = Field(default=None, description="how many orders the customer has")
    open_ticket: bool | None = None
    tags: list[str] | None = Field(default=None, description="has every one of these tags")
    traits: dict[str, Comparison] | None = Field(default=None, description="profile traits, e.g. first_name")
    event: dict[str, Comparison] | None = Field(
        default=None, description=f"the starting event: {', '.join(EVENT_FIELDS)} or properties.<name>"
    )


class EventMatch(ConfigModel):
    """A canonical event, optionally narrowed by its name and fields."""

    event: EventType
    name: str | None = Field(default=None, description="the source's own name, e.g. 'Checkout Started'")
    where: dict[str, Comparison] | None = None


class Goal(ConfigModel):
    """A conversion: ends the journey wherever it is, with outcome `goal`."""

    event: EventType | None = None
    where: dict[str, Comparison] | None = None
    includes: Literal["cart", "last_order"] | None = Field(
        default=None, description="the event's SKUs include those of the cart (or last order) at entry"
    )
    when: Condition | None = Field(default=None, description="a profile condition that counts as reached")

    @model_validator(mode="after")
    def _something(self) -> Goal:
        if self.event is None and self.when is None:
            raise ValueError("a goal needs an event or a `when` condition")
        return self


class Entry(ConfigModel):
    """How customers enter: on an event, on reaching a lifecycle stage, or on a schedule over a segment."""

    event: EventType | None = None
    name: str | None = None
    where: dict[str, Comparison] | None = None
    stage: Name | None = Field(default=None, description="entering this lifecycle stage")
    schedule: str | None = Field(default=None, description="an EventBridge cron() or rate() expression")

    @model_validator(mode="after")
    def _one_trigger(self) -> Entry:
        given = [key for key in ("event", "stage", "schedule") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of event, stage, schedule (got {', '.join(given) or 'none'})")
        if self.schedule is not None and not re.fullmatch(r"(cron|rate)\(.+\)", self.schedule):
            raise ValueError("schedule must be an EventBridge expression such as cron(0 9 ? * MON *) or rate(1 day)")
        if (self.name or self.where) and self.event is None:
            raise ValueError("name and where narrow an `event` entry")
        return self


class ReEntry(ConfigModel):
    after_days: int = Field(ge=1)


class QuietHours(ConfigModel):
    start: ClockTime = "21:00"
    end: ClockTime = "09:00"


class FrequencyCap(ConfigModel):
    messages: int = Field(ge=1)
    days: int = Field(ge=1)


class JourneySettings(ConfigModel):
    """This journey's own quiet hours and frequency cap, on top of config/consistency.yaml."""

    quiet_hours: QuietHours | Literal[False] | None = Field(
        default=None, description="marketing SMS and push wait for the customer's daytime; false to turn off"
    )
    frequency_cap: FrequencyCap | None = None


class WaitStep(ConfigModel):
    """Wait a duration, or until a local time of day (optionally some days later)."""

    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)
    minutes: int = Field(default=0, ge=0)
    until: ClockTime | None = Field(default=None, description="local time in the customer's timezone")

    @property
    def seconds(self) -> int:
        """The duration part (with `until`: whole days to skip before that time)."""
        return sum(getattr(self, unit) * factor for unit, factor in SECONDS.items())

    @property
    def longest_seconds(self) -> int:
        return self.seconds + (86_400 if self.until else 0)

    @model_validator(mode="after")
    def _something(self) -> WaitStep:
        if self.until is None and self.seconds <= 0:
            raise ValueError("wait needs days, hours or minutes, or until a time of day")
        if self.until is not None and (self.hours or self.minutes):
            raise ValueError("with `until`, only `days` may be given (how many days later)")
        return self


class WaitFor(ConfigModel):
    event: EventType
    name: str | None = None
    where: dict[str, Comparison] | None = None
    timeout: Duration
    on_event: StepId | None = Field(default=None, description="default: the next step")
    on_timeout: StepId


class BranchCase(ConfigModel):
    when: Condition
    goto: StepId


class Branch(ConfigModel):
    cases: list[BranchCase] = Field(min_length=1)
    otherwise: StepId


class SplitGroup(ConfigModel):
    percent: int = Field(ge=1, le=100)
    goto: StepId | None = None
    holdout: bool = Field(default=False, description="a control group: recorded, sent nothing, journey ends")

    @model_validator(mode="after")
    def _target(self) -> SplitGroup:
        if self.holdout == (self.goto is not None):
            raise ValueError("a group has either `goto` or `holdout: true`")
        return self


class Send(ConfigModel):
    channel: MessageChannel
    template: Name
    category: Category
    promotes: Literal["cart", "last_order", "cross_sell", "none"] | list[str] = Field(
        default="none", description="the SKUs this message promotes: guards hold it once they are bought"
    )
    offer: Name | None = Field(default=None, description="an offer from config/offers.yaml to present (or issue)")
    without_offer: Name | None = Field(
        default=None, description="the template to send when the offer is used, expired or taken by another offer"
    )


class UpdateProfile(ConfigModel):
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    traits: dict[str, str | int | float | bool] = Field(default_factory=dict)


class Step(ConfigModel):
    id: StepId
    next: StepId | None = Field(default=None, description="default: the following step; the last step ends")
    wait: WaitStep | None = None
    wait_for: WaitFor | None = None
    branch: Branch | None = None
    split: list[SplitGroup] | None = None
    send: Send | None = None
    update_profile: UpdateProfile | None = None
    exit: str | None = Field(default=None, description="end the journey here, with this reason")

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)

    @model_validator(mode="before")
    @classmethod
    def _one_action(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [name for name in ACTIONS if data.get(name) is not None]
            if len(given) != 1:
                found = ", ".join(given) or "none"
                raise ValueError(f"a step does exactly one of {', '.join(ACTIONS)} (found: {found})")
        return data

    @field_validator("split")
    @classmethod
    def _split_adds_up(cls, groups: list[SplitGroup] | None) -> list[SplitGroup] | None:
        total = sum(group.percent for group in groups or [])
        if groups is not None and total != 100:
            raise ValueError(f"the groups' percentages add up to {total}; they must add up to 100")
        return groups


class Policy(ConfigModel):
    """What the guards need of a journey at every send; compiled into the state machine, so a running
    execution keeps the rules it started with even when the file changes."""

    journey: Name
    priority: int
    goal: Goal | None = None
    exit_when: list[EventMatch] = Field(default_factory=list)
    settings: JourneySettings = Field(default_factory=JourneySettings)


class Journey(ConfigModel):
    """One journey file."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="omnijourney journey")

    journey: Name
    description: str = ""
    priority: int = Field(default=50, ge=0, le=100, description="higher wins when journeys compete")
    entry: Entry
    re_entry: Literal["never", "always"] | ReEntry = "never"
    audience: Condition | None = None
    goal: Goal | None = None
    exit_when: list[EventMatch] = Field(default_factory=list, description="events that end the journey")
    settings: JourneySettings = Field(default_factory=JourneySettings)
    steps: list[Step] = Field(min_length=1)

    @property
    def policy(self) -> Policy:
        return Policy(
            journey=self.journey,
            priority=self.priority,
            goal=self.goal,
            exit_when=self.exit_when,
            settings=self.settings,
        )


def json_schema() -> dict[str, Any]:
    schema = Journey.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
