"""The contract between the compiler and the journey-step function: what a compiled Task sends, what a journey
keeps of the event that started it (the entry), and what a step answers.

The compiler writes each Task's Payload from these models (`compiled`); the step function reads the Payload
Step Functions resolved back through them (`TASK.validate_python`). Both import this module, so a key renamed on
one side is renamed on the other, and `tests/unit/test_contract.py` round-trips every compiled Task of every
shipped journey through the models.

**Compatibility.** Executions wait up to a year, so a Payload in the shape of any earlier deploy must still
validate: a field is only ever added with a default, never renamed or removed without a migration here. The
entry of executions started before entries were trimmed for privacy still carries `ticket_subject` and every
property of the starting event: they are accepted (the subject is used as a last resort when a template asks
for it, and never written again) and nothing new is built with them.

**Privacy.** Step Functions keeps an execution's input and history, which cannot be erased, and the entry also
sits in the journey-runs table: the entry carries ids, enumerations and numbers only. The ticket travels as its
id (templates look its subject up on the live profile), properties only when the journey's own conditions name
them (`properties.<name>`) or its templates show them (product facts only: `templates.PRODUCT_FACTS`), and the
checkout URL only when one of the journey's templates shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
)

from omnijourney.events import CanonicalEvent, LineItem, correlation_id_of
from omnijourney.journeys.language import (
    Comparison,
    Condition,
    EventMatch,
    ExitCondition,
    Journey,
    Policy,
    Send,
    SplitGroup,
)
from omnijourney.journeys.language import UpdateProfile as ProfileChange
from omnijourney.journeys.segments import SegmentsConfig
from omnijourney.journeys.segments import segments as configured_segments
from omnijourney.journeys.templates import PRODUCT_EVENTS, TemplateCatalog, product_fact
from omnijourney.profiles.model import Profile

PROPERTY_PREFIX = "properties."
CHECKOUT_URL_KEYS = ("checkout_url", "abandoned_checkout_url")


# The entry ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryKeeps:
    """What of the starting event a journey may keep beyond ids, enumerations and numbers."""

    properties: frozenset[str] = frozenset()
    checkout_url: bool = False
    # The product facts its templates show (a product event's only: templates.PRODUCT_EVENTS), kept as
    # templates.product_fact allows.
    product_facts: frozenset[str] = frozenset()


def _property_names(where: Mapping[str, Comparison] | None) -> set[str]:
    return {name.removeprefix(PROPERTY_PREFIX) for name in where or {} if name.startswith(PROPERTY_PREFIX)}


def _condition_properties(condition: Condition | None) -> set[str]:
    return _property_names(condition.event) if condition is not None else set()


def starts_on_a_product(journey: Journey, segments: SegmentsConfig) -> bool:
    """Whether the event that starts the journey can be a product event (templates.PRODUCT_EVENTS): its `entry:
    {event}` is one, or its entry segment counts one with `did` (the view that puts a customer in the segment is
    then the entry; one the daily evaluation puts in has an entry without a product)."""
    entry = journey.entry
    if entry.event is not None:
        return entry.event in PRODUCT_EVENTS
    segment = segments.segments.get(entry.segment) if entry.segment is not None else None
    did = segment.when.did if segment is not None else None
    return did is not None and did.event in PRODUCT_EVENTS


def entry_keeps(journey: Journey, templates: TemplateCatalog) -> EntryKeeps:
    """The properties the journey's conditions name (entry, audience, branches, goal, exits), the product facts its
    templates show (`{{ event.price }}`, in any language of them: templates.PRODUCT_FACTS, never anything personal)
    and whether one shows the checkout URL: all a journey keeps of its starting event beyond ids and numbers. Product
    facts only of a journey that can start on a product event (`starts_on_a_product`; validation refuses
    `{{ event.* }}` in any other), and only ever from a product event (`entry_of`)."""
    names = _property_names(journey.entry.where) | _condition_properties(journey.audience)
    if journey.goal is not None:
        names |= _property_names(journey.goal.where) | _condition_properties(journey.goal.when)
    for exit in journey.exit_when:
        names |= _condition_properties(exit.when) if isinstance(exit, ExitCondition) else set()
    checkout_url = False
    facts: set[str] = set()
    for step in journey.steps:
        if step.branch is not None:
            for case in step.branch.cases:
                names |= _condition_properties(case.when)
        if step.send is not None:
            for name in (step.send.template, step.send.without_offer):
                for variant in templates.variants(name) if name else ():
                    shown, shows_checkout = variant.template.mentions()
                    facts |= shown
                    checkout_url = checkout_url or shows_checkout
    # config/segments.yaml is read only for a journey entered on a segment (loaded once per process).
    about_a_product = starts_on_a_product(journey, configured_segments() if journey.entry.segment else SegmentsConfig())
    return EntryKeeps(
        properties=frozenset(names),
        checkout_url=checkout_url,
        product_facts=frozenset(facts if about_a_product else ()),
    )


class Entry(BaseModel):
    """What a journey keeps of the event that started it: it travels in the execution input and the run record."""

    # Entries of earlier deploys may carry more (every property, the ticket's subject): accepted, not kept.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str
    type: str  # an event type, or `schedule`
    name: str | None = None
    channel: str
    source: str
    at: AwareDatetime
    cart_skus: list[str] = Field(default_factory=list)
    cart_items: int = 0
    cart_value: float = 0.0
    order_skus: list[str] = Field(default_factory=list)
    order_total: float | None = None
    order_state: str | None = None
    currency: str | None = None
    # Entries of earlier deploys copied the event's property as it came (any JSON): read as the text it rendered as.
    checkout_url: Annotated[str | None, BeforeValidator(lambda value: value if value is None else str(value))] = None
    ticket_id: str | None = None
    # Only the properties the journey's conditions name (see `entry_keeps`).
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    # Entries started before the ticket travelled as its id: read as a last resort, never written again.
    ticket_subject: str | None = Field(default=None, exclude=True)
    # The starting event's delivery (events.correlation_id_of): every Task gets it with `$.entry`, the ledger keeps it.
    # Entries of earlier deploys have none: `correlation` derives one from the event id.
    correlation_id: str | None = None

    @property
    def correlation(self) -> str:
        return self.correlation_id or correlation_id_of(self.source, [self.event_id])

    def field(self, name: str) -> JsonValue:
        """A field a journey's `where` names (language.EVENT_FIELDS, or `properties.<name>`)."""
        if name.startswith(PROPERTY_PREFIX):
            return self.properties.get(name.removeprefix(PROPERTY_PREFIX))
        value = getattr(self, name, None) if name in Entry.model_fields else None
        return value.isoformat() if isinstance(value, datetime) else value


def _cart(items: Iterable[LineItem]) -> dict[str, Any]:
    lines = list(items)
    return {
        "cart_skus": [item.sku for item in lines],
        "cart_items": sum(item.quantity for item in lines),
        "cart_value": float(sum((item.price or 0) * item.quantity for item in lines)),
    }


def _facts(event: CanonicalEvent, facts: frozenset[str]) -> dict[str, JsonValue]:
    """The product facts a product event carries, as a journey may keep them (none of any other event)."""
    if event.type not in PRODUCT_EVENTS:
        return {}
    kept = {name: product_fact(name, event.properties.get(name)) for name in sorted(facts)}
    return {name: value for name, value in kept.items() if value is not None}


def entry_of(event: CanonicalEvent, profile: Profile, keeps: EntryKeeps) -> Entry:
    """The entry a journey keeping `keeps` takes from `event` (its cart, else the profile's, as it stands)."""
    cart_items = event.cart.items if event.cart else (profile.cart.items if profile.cart else ())
    order = event.order
    checkout_url = next((event.properties[key] for key in CHECKOUT_URL_KEYS if event.properties.get(key)), None)
    return Entry(
        event_id=event.event_id,
        type=event.type.value,
        name=event.name,
        channel=event.channel.value,
        source=event.source,
        at=event.occurred_at,
        **_cart(cart_items),
        order_skus=order.skus if order else [],
        order_total=float(order.total) if order else None,
        order_state=order.state.value if order else None,
        currency=order.currency if order else None,
        checkout_url=str(checkout_url) if checkout_url and keeps.checkout_url else None,
        ticket_id=event.ticket.ticket_id if event.ticket else None,
        properties=_facts(event, keeps.product_facts)
        | {name: event.properties[name] for name in sorted(keeps.properties) if name in event.properties},
        correlation_id=event.correlation,
    )


def scheduled_entry(journey: str, schedule: str, at: datetime, profile: Profile) -> Entry:
    """The entry of a scheduled journey's firing: one correlation id per firing (journey and time), shared by every
    customer it starts."""
    return _timed_entry("schedule", f"schedule:{journey}:{at.isoformat()}", schedule, at, profile)


def segment_entry(segment: str, day: date, at: datetime, profile: Profile) -> Entry:
    """The entry of a customer who entered a segment at its daily evaluation (a birthday: no event put them in): one
    per customer, segment and local day, so a repeated evaluation starts nothing new."""
    return _timed_entry("segment", f"segment:{segment}:{profile.customer_id}:{day.isoformat()}", segment, at, profile)


def _timed_entry(kind: str, event_id: str, name: str, at: datetime, profile: Profile) -> Entry:
    """An entry that time made, not an event: so the profile's cart as it stands, and `kind` as its type, channel
    and source."""
    return Entry(
        event_id=event_id,
        correlation_id=correlation_id_of(kind, [event_id]),
        type=kind,
        name=name,
        channel=kind,
        source=kind,
        at=at,
        **_cart(profile.cart.items if profile.cart else ()),
    )


# Task inputs ----------------------------------------------------------------------------------------------


class TaskInput(BaseModel):
    """What every Task sends; `PATHS` are the fields Step Functions fills in (JSONPath) when the Task runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    PATHS: ClassVar[dict[str, str]] = {
        "execution": "$$.Execution.Name",
        "customer_id": "$.customer_id",
        "entry": "$.entry",
    }

    journey: str
    step: str | None
    execution: str
    customer_id: str
    entry: Entry

    @classmethod
    def compiled(cls, journey: str, step: str | None, **fields: JsonValue) -> dict[str, JsonValue]:
        """The Payload of a Task in the state machine: the fields the compiler knows (already JSON), and JSONPaths
        for those known at run time. Every field of the model is given or has a path; no other key is."""
        paths = {**TaskInput.PATHS, **cls.PATHS}
        named = {"action", "journey", "step", *paths, *fields}
        required = {name for name, info in cls.model_fields.items() if info.is_required()}
        if named - set(cls.model_fields) or required - named:
            raise ValueError(f"{cls.__name__}: fields {sorted(named)} do not match {sorted(cls.model_fields)}")
        action = cls.model_fields["action"].default
        common = {f"{name}.$": path for name, path in TaskInput.PATHS.items()}
        own = {f"{name}.$": path for name, path in cls.PATHS.items() if name not in TaskInput.PATHS}
        return {"action": action, "journey": journey, "step": step, **common, **fields, **own}


class SendTask(TaskInput):
    PATHS: ClassVar[dict[str, str]] = {"visit": "$$.State.EnteredTime"}

    action: Literal["send"] = "send"
    step: str
    send: Send
    policy: Policy
    # The state's EnteredTime: the same on every retry, new on every visit (after a deferral).
    visit: str


class PlanWaitTask(TaskInput):
    PATHS: ClassVar[dict[str, str]] = {}

    action: Literal["plan_wait"] = "plan_wait"
    until: str
    days: int = 0
    # Compiled only when true, so the payloads of journeys without it are those of earlier deploys.
    same_day: bool = False


class AwaitTask(TaskInput):
    PATHS: ClassVar[dict[str, str]] = {"task_token": "$$.Task.Token"}

    action: Literal["await"] = "await"
    step: str
    awaited: EventMatch
    task_token: str


class BranchTask(TaskInput):
    PATHS: ClassVar[dict[str, str]] = {}

    action: Literal["branch"] = "branch"
    cases: list[Condition]


class SplitTask(TaskInput):
    PATHS: ClassVar[dict[str, str]] = {}

    action: Literal["split"] = "split"
    groups: list[SplitGroup]


class UpdateProfileTask(TaskInput):
    PATHS: ClassVar[dict[str, str]] = {}

    action: Literal["update_profile"] = "update_profile"
    update: ProfileChange


class TaskError(BaseModel):
    """What a Catch puts at `$.error`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    Error: str | None = None
    Cause: str | None = None


class RecordFailureTask(TaskInput):
    PATHS: ClassVar[dict[str, str]] = {"error": "$.error"}

    action: Literal["record_failure"] = "record_failure"
    error: TaskError | None = None


AnyTask = SendTask | PlanWaitTask | AwaitTask | BranchTask | SplitTask | UpdateProfileTask | RecordFailureTask
# Reads a resolved Payload into its action's model.
TASK: TypeAdapter[AnyTask] = TypeAdapter(Annotated[AnyTask, Field(discriminator="action")])


# Step results ---------------------------------------------------------------------------------------------


class StepResult(BaseModel):
    """What a Task answers (at `$.last.result`): the state machine's Choices route on these fields."""

    model_config = ConfigDict(frozen=True)

    def output(self) -> dict[str, JsonValue]:
        # Only the fields the step gave: the answer keeps the shape state machines already route on.
        return self.model_dump(mode="json", exclude_unset=True)


SendOutcome = Literal["sent", "suppressed", "deferred", "goal", "exited"]


class SendResult(StepResult):
    outcome: SendOutcome
    reason: str | None = None
    # Set when deferred: the `.defer` Wait state's SecondsPath.
    defer_seconds: int | None = None


class WaitPlan(StepResult):
    seconds: int


class BranchResult(StepResult):
    case: int  # the first case that holds, or -1 (otherwise)


class SplitResult(StepResult):
    group: int


class Done(StepResult):
    """An answer nothing routes on (await, update_profile, record_failure)."""


# Executions -----------------------------------------------------------------------------------------------


class ExecutionInput(BaseModel):
    """An execution's input: whose run it is, and its entry (what `$.customer_id` and `$.entry` read)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customer_id: str | None = None
    entry: Entry | None = None


class RunOutcome(BaseModel):
    """What an outcome's Pass state puts at `$.outcome` (an `exit` step adds its reason)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    outcome: str = "completed"
    reason: str | None = None


class ExecutionOutput(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    outcome: RunOutcome = Field(default_factory=RunOutcome)


class ExecutionStatusChange(BaseModel):
    """The `detail` of EventBridge's "Step Functions Execution Status Change" (the fields the runtime reads)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    stateMachineArn: str
    name: str
    status: str
    input: str | None = None
    output: str | None = None


class UnreadablePayload(ValueError):
    """A payload the contract refuses, told by where and what is wrong, never by its values: the message reaches
    CloudWatch and the execution's history (`$.error.Cause`), and an entry of an earlier deploy may hold a
    ticket's subject or an SMS body."""


def readable(error: ValidationError) -> UnreadablePayload:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['type']}"
        for problem in error.errors(include_input=False, include_url=False)
    )
    return UnreadablePayload(f"{error.title} refused: {problems}")
