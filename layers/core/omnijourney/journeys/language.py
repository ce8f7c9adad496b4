"""The journey language: what a marketer may write in journeys/*.yaml, as pydantic models.

The JSON Schema editors autocomplete from (`omnijourney journeys schema`) is generated from these models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.config import JsonDict

from omnijourney.events import Channel, ConsentChannel, ConsentStatus, EventType
from omnijourney.platform.configfile import SNAKE_CASE, TIME_OF_DAY, ConfigModel, did_you_mean, with_examples
from omnijourney.vocabulary import Category, MessageChannel

Name = Annotated[str, Field(pattern=SNAKE_CASE, max_length=64, description="lower_snake_case")]
StepId = Annotated[str, Field(pattern=SNAKE_CASE, max_length=60, description="a step's id")]
ClockTime = Annotated[str, Field(pattern=TIME_OF_DAY, description="local time of day, HH:MM")]
SECONDS = {"days": 86_400, "hours": 3_600, "minutes": 60}
# What a journey may read from the event that started it (filters and branches), beside `properties.<name>`.
EVENT_FIELDS = ("name", "channel", "source", "cart_value", "cart_items", "order_total", "order_state", "currency")
ACTIONS = ("wait", "wait_for", "branch", "split", "send", "update_profile", "exit")
# What a holdout's lift counts as converting when the journey says nothing: any order within 14 days of the holdout
# split (of entering, for a journey without one).
DEFAULT_CONVERSION_EVENT = EventType.order_completed
DEFAULT_CONVERSION_DAYS = 14
# The smallest lift (absolute: 0.05 is 5 percentage points) a holdout is sized to detect, unless its group says.
DEFAULT_MINIMUM_DETECTABLE_EFFECT = 0.05
# A whole step, for the examples of a step and of a journey.
STEP_EXAMPLE: JsonDict = {
    "id": "remind",
    "send": {"channel": "email", "template": "cart_email", "category": "marketing"},
}


class Duration(ConfigModel):
    noun = "a duration"
    model_config = with_examples({"days": 2}, {"hours": 4})

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

    noun = "a comparison"
    model_config = with_examples({"at_least": 50}, {"equals": "gold"}, {"one_of": ["de", "at"]})

    equals: str | int | float | bool | None = None
    one_of: list[str | int | float] | None = Field(default=None, examples=[["de", "at"]])
    at_least: float | None = None
    at_most: float | None = None
    contains: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Comparison:
        if not self.model_fields_set:
            raise ValueError("give at least one of equals, one_of, at_least, at_most, contains")
        return self


class SegmentTest(ConfigModel):
    """Membership of shared segments (config/segments.yaml)."""

    noun = "a segment test"
    model_config = with_examples({"any_of": ["vip"]}, {"none_of": ["opted_out_everywhere"]})

    any_of: list[Name] = Field(default_factory=list, description="is in at least one of these segments")
    none_of: list[Name] = Field(default_factory=list, description="is in none of these segments")

    @model_validator(mode="after")
    def _something(self) -> SegmentTest:
        if not self.any_of and not self.none_of:
            raise ValueError("give any_of or none_of, e.g. {none_of: [opted_out_everywhere]}")
        return self


class Condition(ConfigModel):
    """Profile (and starting event) conditions; every condition given must hold."""

    noun = "a condition"
    model_config = with_examples({"reachable_by": ["email"]}, {"orders": {"at_least": 1}})

    lifecycle_stage: list[Name] | None = Field(
        default=None, description="one of these stages", examples=[["lapsed", "at_risk"]]
    )
    consent: dict[ConsentChannel, ConsentStatus] | None = None
    reachable_by: list[ConsentChannel] | None = Field(
        default=None,
        description="may be sent a message of `reachable_for` (default marketing) on each of these channels now: "
        "has the address and the consent config/consistency.yaml asks for (marketing SMS needs an opt-in)",
    )
    reachable_for: Category | None = Field(
        default=None, description="the category `reachable_by` asks about; default marketing"
    )
    orders: Comparison | None = Field(default=None, description="how many orders the customer has")
    open_ticket: bool | None = None
    tags: list[str] | None = Field(default=None, description="has every one of these tags", examples=[["vip"]])
    traits: dict[str, Comparison] | None = Field(
        default=None, description="profile traits, e.g. first_name", examples=[{"tier": {"equals": "gold"}}]
    )
    event: dict[str, Comparison] | None = Field(
        default=None,
        description=f"the starting event: {', '.join(EVENT_FIELDS)} or properties.<name>",
        examples=[{"cart_value": {"at_least": 50}}],
    )
    segment: Name | None = Field(
        default=None, description="is in this segment of config/segments.yaml", examples=["vip"]
    )
    segments: SegmentTest | None = Field(default=None, description="in any of, or none of, these segments")

    @model_validator(mode="after")
    def _reachable_for_what(self) -> Condition:
        if self.reachable_for is not None and self.reachable_by is None:
            raise ValueError("reachable_for names the category reachable_by asks about; give reachable_by too")
        return self

    @property
    def segment_names(self) -> list[str]:
        """Every segment this condition refers to."""
        names = [self.segment] if self.segment else []
        if self.segments is not None:
            names += [*self.segments.any_of, *self.segments.none_of]
        return names


class Did(ConfigModel):
    """The customer did this event at least `at_least` times within the last `within_days` days (calendar days in
    their timezone, today included), as their history keeps it."""

    noun = "a did test"
    model_config = with_examples({"event": "product_viewed", "at_least": 2, "within_days": 3})

    event: EventType
    name: str | None = Field(default=None, description="the source's own name, e.g. 'Product Added'")
    where: dict[str, Comparison] | None = Field(
        default=None,
        description="the event's name, channel, source or properties.<name>, e.g. properties.category",
        examples=[{"properties.category": {"equals": "shoes"}}],
    )
    at_least: int = Field(default=1, ge=1)
    within_days: int = Field(ge=1, description="today and the days before it, in the customer's timezone")


class DidNot(ConfigModel):
    """The customer did not do this event within the last `within_days` days."""

    noun = "a did_not test"
    model_config = with_examples({"event": "cart_updated", "within_days": 3})

    event: EventType
    name: str | None = None
    where: dict[str, Comparison] | None = Field(default=None, examples=[{"cart_value": {"at_least": 50}}])
    within_days: int = Field(ge=1, description="today and the days before it, in the customer's timezone")


class DaysSince(ConfigModel):
    """Whole days (in the customer's timezone) since their last order, first order or last message sent. A
    customer without one does not match."""

    noun = "a days_since test"
    model_config = with_examples({"last_order": {"at_least": 60}})

    last_order: Comparison | None = None
    first_order: Comparison | None = None
    last_message: Comparison | None = None

    @model_validator(mode="after")
    def _something(self) -> DaysSince:
        # `{last_order: null}` would test nothing and match everyone.
        if not self.model_fields_set or any(getattr(self, key) is None for key in self.model_fields_set):
            raise ValueError(
                "give last_order, first_order or last_message with a number of days, e.g. {last_order: {at_least: 60}}"
            )
        return self


class DateTest(ConfigModel):
    """A date relative to today in the customer's timezone: a date trait (a birthday: "1990-03-14" or "--03-14"),
    or the anniversary of the first order. Each year's day counts unless `every_year: false` (a one-off date)."""

    noun = "a date test"
    model_config = with_examples(
        {"trait": "birthday", "is": "today"}, {"anniversary_of": "first_order", "within_next_days": 7}
    )

    trait: str | None = Field(default=None, description="a profile trait holding a date, e.g. birthday")
    anniversary_of: Literal["first_order"] | None = None
    every_year: bool = Field(default=True, description="the day each year (a birthday); false for a one-off date")
    is_: Literal["today"] | None = Field(default=None, alias="is")
    within_next_days: int | None = Field(default=None, ge=0, description="today or one of the next N days")

    @model_validator(mode="after")
    def _one_of_each(self) -> DateTest:
        if (self.trait is None) == (self.anniversary_of is None):
            raise ValueError("give either trait (e.g. trait: birthday) or anniversary_of: first_order")
        if (self.is_ is None) == (self.within_next_days is None):
            raise ValueError("give either is: today or within_next_days: N")
        return self


class SegmentCondition(Condition):
    """A segment's definition (config/segments.yaml): the journey conditions, and what the customer did and when."""

    noun = "a segment"
    model_config = with_examples(
        {"lifecycle_stage": ["lapsed"]}, {"did": {"event": "product_viewed", "within_days": 3}}
    )

    did: Did | None = None
    did_not: DidNot | None = None
    days_since: DaysSince | None = None
    date: DateTest | None = None

    @property
    def counted(self) -> tuple[Did | DidNot, ...]:
        """The tests that count events in the customer's history: `did`, `did_not`, those given."""
        return tuple(test for test in (self.did, self.did_not) if test is not None)

    @property
    def reads_profile(self) -> bool:
        """Whether anything but the history decides it (a profile change can move the customer in or out)."""
        return bool(self.model_fields_set - {"did", "did_not"})


class EventMatch(ConfigModel):
    """A canonical event, optionally narrowed by its name and fields."""

    noun = "an event"
    model_config = with_examples({"event": "ticket_opened"}, {"event": "tracked", "name": "Coupon Applied"})

    event: EventType
    name: str | None = Field(default=None, description="the source's own name, e.g. 'Checkout Started'")
    where: dict[str, Comparison] | None = Field(default=None, examples=[{"cart_value": {"at_least": 50}}])


class ExitCondition(ConfigModel):
    """A profile condition that ends the journey once it holds (checked on every event, every daily segment
    evaluation and before every send)."""

    noun = "an exit condition"
    model_config = with_examples({"when": {"open_ticket": True}})

    when: Condition


class Goal(ConfigModel):
    """A conversion: ends the journey wherever it is, with outcome `goal`."""

    noun = "a goal"
    model_config = with_examples(
        {"event": "order_completed", "includes": "cart"}, {"when": {"orders": {"at_least": 1}}}
    )

    event: EventType | None = None
    where: dict[str, Comparison] | None = Field(default=None, examples=[{"cart_value": {"at_least": 50}}])
    includes: Literal["cart", "last_order"] | None = Field(
        default=None, description="the event's SKUs include those of the cart (or last order) at entry"
    )
    when: Condition | None = Field(default=None, description="a profile condition that counts as reached")

    @model_validator(mode="after")
    def _something(self) -> Goal:
        if self.event is None and self.when is None:
            raise ValueError("a goal needs an event or a `when` condition")
        return self


class Conversion(ConfigModel):
    """What the holdout's lift counts as converting (docs/metrics.md): the event, within `within_days` of the holdout
    split (of entering, for a journey without one).
    A journey whose goal is an event converts on it; `conversion` then sets only the window."""

    noun = "a conversion"
    model_config = with_examples(
        {"event": "order_completed", "within_days": 14},
        {"within_days": 7},
        {"event": "cart_updated", "where": {"channel": {"one_of": ["web", "app"]}}},
    )

    event: EventType | None = Field(default=None, description="default: the goal's event, else order_completed")
    where: dict[str, Comparison] | None = Field(
        default=None,
        description="the event's channel (equals or one_of): the one field the analytics facts keep of every event",
        examples=[{"channel": {"equals": "pos"}}],
    )
    within_days: int = Field(
        default=DEFAULT_CONVERSION_DAYS, ge=1, le=365, description="days after entering that a conversion counts"
    )

    @field_validator("where")
    @classmethod
    def _channel_only(cls, where: dict[str, Comparison] | None) -> dict[str, Comparison] | None:
        # The lift is computed from the analytics facts, which keep an event's type, channel and time: a test of
        # anything else could not be measured, and a conversion that counts more than it says misleads.
        for field, comparison in (where or {}).items():
            if field != "channel":
                raise ValueError(
                    f"a conversion's where tests the channel only (the facts the lift is counted from keep no "
                    f"{field}), e.g. {{channel: {{equals: pos}}}}"
                )
            if comparison.model_fields_set - {"equals", "one_of"}:
                raise ValueError("a conversion's channel is tested with equals or one_of, e.g. {one_of: [web, app]}")
            for channel in _compared_values(comparison):
                if channel not in Channel.__members__:
                    raise ValueError(
                        f"{channel!r} is not a channel{did_you_mean(str(channel), Channel.__members__)}; "
                        f"the channels are {', '.join(Channel.__members__)}"
                    )
        return where


def _compared_values(comparison: Comparison) -> list[Any]:
    return [comparison.equals] if "equals" in comparison.model_fields_set else list(comparison.one_of or [])


def _tested_channels(where: dict[str, Comparison] | None) -> tuple[str, ...]:
    """The channels `where` allows by equals or one_of; none (any channel) when it tests the channel otherwise."""
    channel = (where or {}).get("channel")
    if channel is None or channel.model_fields_set - {"equals", "one_of"}:
        return ()
    return tuple(str(value) for value in _compared_values(channel))


@dataclass(frozen=True)
class ConversionRule:
    """A journey's conversion as the lift measures it: `event` on one of `channels` (any when empty), within
    `within_days` of the holdout split (of entering, without one)."""

    event: EventType
    channels: tuple[str, ...]
    within_days: int


@dataclass(frozen=True)
class Holdout:
    """A journey's holdout: the share of entrants it keeps (`percent`) and the lift it is sized to detect."""

    percent: int
    minimum_detectable_effect: float


class Entry(ConfigModel):
    """How customers enter: on an event, on reaching a lifecycle stage or a segment, or on a schedule."""

    noun = "an entry"
    model_config = with_examples(
        {"event": "checkout_started"}, {"stage": "lapsed"}, {"segment": "vip"}, {"schedule": "cron(0 9 ? * MON *)"}
    )

    event: EventType | None = None
    name: str | None = None
    where: dict[str, Comparison] | None = Field(default=None, examples=[{"cart_value": {"at_least": 50}}])
    stage: Name | None = Field(default=None, description="entering this lifecycle stage", examples=["lapsed"])
    segment: Name | None = Field(
        default=None, description="entering this segment of config/segments.yaml", examples=["vip"]
    )
    schedule: str | None = Field(default=None, description="an EventBridge cron() or rate() expression")

    @model_validator(mode="after")
    def _one_trigger(self) -> Entry:
        given = [key for key in ("event", "stage", "segment", "schedule") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of event, stage, segment, schedule (got {', '.join(given) or 'none'})")
        if (self.name or self.where) and self.event is None:
            raise ValueError("name and where narrow an `event` entry")
        return self

    @field_validator("schedule")
    @classmethod
    def _cron_or_rate(cls, schedule: str | None) -> str | None:
        # A field's own validator: the error is reported at `schedule`, not at the whole entry.
        if schedule is not None and not re.fullmatch(r"(cron|rate)\(.+\)", schedule.strip()):
            raise ValueError(
                "a schedule is an EventBridge cron() or rate() expression, "
                "e.g. cron(0 9 ? * MON *) (09:00 every Monday) or rate(1 day)"
            )
        return schedule


class ReEntry(ConfigModel):
    noun = "a re-entry rule"
    model_config = with_examples({"after_days": 7})

    after_days: int = Field(ge=1)


class QuietHours(ConfigModel):
    noun = "quiet hours"
    model_config = with_examples({"start": "21:00", "end": "09:00"})

    start: ClockTime = "21:00"
    end: ClockTime = "09:00"
    channels: list[MessageChannel] | None = Field(
        default=None,
        description="the channels that wait for the morning in this journey; default those of "
        "config/consistency.yaml (sms, push)",
        examples=[["email", "sms", "push"]],
    )


class FrequencyCap(ConfigModel):
    noun = "a frequency cap"
    model_config = with_examples({"messages": 3, "days": 7})

    messages: int = Field(ge=1)
    days: int = Field(ge=1)


class JourneySettings(ConfigModel):
    """This journey's own quiet hours and frequency cap, on top of config/consistency.yaml."""

    noun = "settings"
    model_config = with_examples({"quiet_hours": False, "frequency_cap": {"messages": 3, "days": 7}})

    quiet_hours: QuietHours | Literal[False] | None = Field(
        default=None, description="marketing SMS and push wait for the customer's daytime; false to turn off"
    )
    frequency_cap: FrequencyCap | None = None


class WaitStep(ConfigModel):
    """Wait a duration, or until a local time of day (optionally some days later)."""

    noun = "a wait"
    model_config = with_examples({"hours": 4}, {"days": 2}, {"until": "10:00"})

    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)
    minutes: int = Field(default=0, ge=0)
    until: ClockTime | None = Field(default=None, description="local time in the customer's timezone")
    same_day: bool = Field(
        default=False,
        description="with `until`: once that time has passed today, go on at once instead of waiting for tomorrow's "
        "(a birthday message on the birthday)",
    )

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
        if self.same_day and (self.until is None or self.days):
            raise ValueError('same_day goes with `until` alone, e.g. {until: "09:00", same_day: true}')
        return self


class WaitFor(ConfigModel):
    noun = "a wait_for"
    model_config = with_examples({"event": "message_clicked", "timeout": {"days": 2}, "on_timeout": "reminder"})

    event: EventType
    name: str | None = None
    where: dict[str, Comparison] | None = Field(default=None, examples=[{"cart_value": {"at_least": 50}}])
    timeout: Duration
    on_event: StepId | None = Field(default=None, description="default: the next step")
    on_timeout: StepId


class BranchCase(ConfigModel):
    noun = "a case"
    model_config = with_examples({"when": {"reachable_by": ["sms"]}, "goto": "cart_sms"})

    when: Condition
    goto: StepId


class Branch(ConfigModel):
    noun = "a branch"
    model_config = with_examples(
        {"cases": [{"when": {"reachable_by": ["sms"]}, "goto": "cart_sms"}], "otherwise": "done"}
    )

    cases: list[BranchCase] = Field(min_length=1)
    otherwise: StepId


class SplitGroup(ConfigModel):
    noun = "a group"
    model_config = with_examples({"percent": 90, "goto": "cross_sell"}, {"percent": 10, "holdout": True})

    percent: int = Field(ge=1, le=100)
    goto: StepId | None = None
    holdout: bool = Field(default=False, description="a control group: recorded, sent nothing, journey ends")
    minimum_detectable_effect: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="with holdout: the smallest lift the holdout is sized to detect, absolute (0.05: 5 points); "
        f"default {DEFAULT_MINIMUM_DETECTABLE_EFFECT}",
        examples=[0.05],
    )

    @model_validator(mode="after")
    def _target(self) -> SplitGroup:
        if self.holdout == (self.goto is not None):
            raise ValueError("a group has either `goto` or `holdout: true`")
        if self.minimum_detectable_effect is not None and not self.holdout:
            raise ValueError("minimum_detectable_effect sizes a holdout: give it on the group with holdout: true")
        return self


class Send(ConfigModel):
    noun = "a send"
    model_config = with_examples({"channel": "email", "template": "cart_email", "category": "marketing"})

    channel: MessageChannel
    template: Name
    category: Category
    promotes: Literal["cart", "last_order", "cross_sell", "none"] | list[str] = Field(
        default="none",
        description="the SKUs this message promotes: guards hold it once they are bought",
        examples=["cart", ["SHOE-TRAIL-42", "CARE-KIT"]],
    )
    offer: Name | None = Field(default=None, description="an offer from config/offers.yaml to present (or issue)")
    without_offer: Name | None = Field(
        default=None, description="the template to send when the offer is used, expired or taken by another offer"
    )
    target: Name | None = Field(
        default=None,
        description="channel webhook: the target of config/webhooks.yaml the payload goes to",
        # Left out of a compiled send without one, so the state machines of other channels read as before.
        exclude_if=lambda target: target is None,
    )

    @model_validator(mode="after")
    def _target_for_webhooks(self) -> Send:
        if self.channel == MessageChannel.webhook and self.target is None:
            raise ValueError("a webhook send names its target from config/webhooks.yaml, e.g. target: order_desk")
        if self.channel != MessageChannel.webhook and self.target is not None:
            raise ValueError(f"only a webhook send has a target; this one sends {self.channel}")
        return self


class UpdateProfile(ConfigModel):
    noun = "a profile update"
    model_config = with_examples({"add_tags": ["vip"], "traits": {"tier": "gold"}})

    add_tags: list[str] = Field(default_factory=list, examples=[["vip"]])
    remove_tags: list[str] = Field(default_factory=list, examples=[["new_customer"]])
    traits: dict[str, str | int | float | bool] = Field(default_factory=dict, examples=[{"tier": "gold"}])


class Step(ConfigModel):
    noun = "a step"
    model_config = with_examples(STEP_EXAMPLE)

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
            unknown = [key for key in data if key not in cls.model_fields]
            # With no action but an unknown key (`sned:`), that key's "did you mean" is the whole story.
            if len(given) != 1 and not (unknown and not given):
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
    exit_when: list[EventMatch | ExitCondition] = Field(default_factory=list)
    settings: JourneySettings = Field(default_factory=JourneySettings)

    @property
    def exit_events(self) -> list[EventMatch]:
        return [match for match in self.exit_when if isinstance(match, EventMatch)]

    @property
    def exit_conditions(self) -> list[Condition]:
        return [exit.when for exit in self.exit_when if isinstance(exit, ExitCondition)]


class Journey(ConfigModel):
    """One journey file."""

    noun = "a journey"
    model_config = ConfigDict(
        title="omnijourney journey",
        **with_examples({"journey": "cart_reminder", "entry": {"event": "checkout_started"}, "steps": [STEP_EXAMPLE]}),
    )

    journey: Name
    description: str = ""
    priority: int = Field(default=50, ge=0, le=100, description="higher wins when journeys compete")
    entry: Entry
    re_entry: Literal["never", "always"] | ReEntry = "never"
    audience: Condition | None = None
    goal: Goal | None = None
    exit_when: list[EventMatch | ExitCondition] = Field(
        default_factory=list, description="events, or profile conditions ({when: ...}), that end the journey"
    )
    conversion: Conversion | None = Field(
        default=None,
        description="what the holdout's lift counts as converting: default the goal's event, else any "
        f"order_completed, within {DEFAULT_CONVERSION_DAYS} days of the holdout split",
    )
    settings: JourneySettings = Field(default_factory=JourneySettings)
    steps: list[Step] = Field(min_length=1)

    @field_validator("conversion")
    @classmethod
    def _one_conversion(cls, conversion: Conversion | None, info: ValidationInfo) -> Conversion | None:
        # A field's own validator (the goal is validated before it): the error is reported at `conversion`.
        goal = info.data.get("goal")
        fields = conversion.model_fields_set if conversion else set()
        if isinstance(goal, Goal) and goal.event is not None and fields & {"event", "where"}:
            raise ValueError(
                f"this journey converts on its goal ({goal.event}); conversion sets only the window here, "
                "e.g. {within_days: 7}"
            )
        return conversion

    @property
    def conversion_rule(self) -> ConversionRule:
        """What the lift counts: the goal's event (on the channels its where names), else `conversion`'s, else any
        order, within the window."""
        within_days = self.conversion.within_days if self.conversion else DEFAULT_CONVERSION_DAYS
        if self.goal is not None and self.goal.event is not None:
            # The goal's `includes` and the rest of its where are not in the facts: any such event counts.
            return ConversionRule(self.goal.event, _tested_channels(self.goal.where), within_days)
        if self.conversion is None:
            return ConversionRule(DEFAULT_CONVERSION_EVENT, (), within_days)
        event = self.conversion.event or DEFAULT_CONVERSION_EVENT
        return ConversionRule(event, _tested_channels(self.conversion.where), within_days)

    @property
    def time_to_holdout_split(self) -> timedelta:
        """How long after entering a run reaches the journey's holdout split, as its definition says: the waits of the
        steps before the split in the file (a wait's duration, a wait `until` a time of day its whole days, a wait_for
        its timeout). The lift's window starts there for the treatment (no fact records when a run passes the split);
        zero without a holdout."""
        waited = 0
        for step in self.steps:
            if any(group.holdout for group in step.split or []):
                return timedelta(seconds=waited)
            if step.wait is not None:
                waited += step.wait.seconds
            elif step.wait_for is not None:
                waited += step.wait_for.timeout.seconds
        return timedelta()

    @property
    def holdout(self) -> Holdout | None:
        """The holdout of the first split that has one (the split whose draw `run_started.run_group` records), when
        some of its groups get the journey: a holdout of everyone has nothing to compare with."""
        for step in self.steps:
            groups = [group for group in step.split or [] if group.holdout]
            if groups:
                percent = sum(group.percent for group in groups)
                effects = [group.minimum_detectable_effect for group in groups if group.minimum_detectable_effect]
                return (
                    Holdout(percent, effects[0] if effects else DEFAULT_MINIMUM_DETECTABLE_EFFECT)
                    if percent < 100
                    else None
                )
        return None

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
