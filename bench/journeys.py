"""A month of a small shop on the virtual clock: 200 customers through every shipped journey, measured.

The scenario is built in memory from the real sample payloads in events/, each personalised for one customer
(identity, the vendor's ids, every timestamp shifted) and kept in the vendor's own format, then parsed and
validated as a scenario file is. It runs through the real handlers and compiled journeys on moto, the way
`omnijourney simulate` runs a scenario file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from omnijourney_tools.simulation import simulate
from omnijourney_tools.simulation.scenario import ScenarioLine, parse_lines

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
CUSTOMERS = 200
DAYS = 30
# A Saturday, so that day 1 is 1 March, when monthly_picks' cron(0 9 1 * ? *) fires.
START = datetime(2026, 2, 28, tzinfo=UTC)
SEED = 2026
# Shopify writes times with the shop's UTC offset (it changes at the end of March); the other vendors write UTC.
SHOP_TIMEZONE = ZoneInfo("Europe/Berlin")
STORE_OPENS, STORE_CLOSES = 10, 19  # local hours in which in-store (POS) orders happen

# The sample customer of events/ (Lena Fischer), as the vendors write her.
SAMPLE_EMAIL = "lena.fischer@example.com"
SAMPLE_EMAIL_AS_TYPED = "Lena.Fischer@Example.com"  # as she typed it in the app and at the checkout
SAMPLE_PHONE = "+4915123456789"
SAMPLE_PHONE_AS_TYPED = "+49 151 23456789"  # as the Zendesk agent typed it
SAMPLE_ANONYMOUS_ID = "3f6c9d52-7a1e-4c1b-9a63-2f5d8c1e4b70"
SAMPLE_USER_ID = "user-5521"
SAMPLE_LOYALTY_ID = "LOY-100245"
SAMPLE_SHOPIFY_CUSTOMER_ID = "7390123456789"
SAMPLE_ZENDESK_USER_ID = "39120445561"
SAMPLE_TICKET_ID = "48213"
# Her web checkout, as checkouts/create sends it and as the web order refers to it.
SAMPLE_CHECKOUT_IDS = ("36012345678123", "36012345678901")
SAMPLE_CHECKOUT_TOKENS = ("b7e4c2a19f3d4e8a6c5b0d2f1e9a7c3b", "7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f")
SAMPLE_CART_TOKEN = "Z2NwLWV1cm9wZS13ZXN0MzowMUhSM0taWlhBNUJQMlRWN1JZOEVXQ1FGSg"

HEX_RUN = re.compile(r"[0-9a-fA-F]{4,}")
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class Sample:
    """A payload in events/ and how it is delivered."""

    source: str
    file: str
    topic: str | None = None  # X-Shopify-Topic
    # Where the payload holds the vendor's ids of this one delivery (a message, an order): each delivery gets
    # new ones. A dot descends into a JSON string too (SNS carries the SES record as one).
    fresh_ids: tuple[str, ...] = ()

    @property
    def payload(self) -> Any:
        return _read_sample(self.file)


@cache
def _read_sample(file: str) -> Any:
    return json.loads((EVENTS / file).read_text(encoding="utf-8"))


PAGE = Sample("segment", "segment/page.json", fresh_ids=("messageId",))
PRODUCT_ADDED = Sample("segment", "segment/product_added.json", fresh_ids=("messageId", "properties.cart_id"))
APP_IDENTIFY = Sample("segment", "segment/identify_app.json", fresh_ids=("messageId",))
SIGN_UP = Sample("shopify", "shopify/customers_create.json", topic="customers/create")
PHONE_AND_SMS_CONSENT = Sample("shopify", "shopify/customers_update.json", topic="customers/update")
CHECKOUT = Sample("shopify", "shopify/checkouts_create.json", topic="checkouts/create")
WEB_ORDER = Sample("shopify", "shopify/orders_create.json", topic="orders/create", fresh_ids=("id", "token"))
POS_ORDER = Sample(
    "shopify", "shopify/orders_create_pos.json", topic="orders/create", fresh_ids=("id", "token", "checkout_id")
)
TICKET_CREATED = Sample("zendesk", "zendesk/ticket_created.json")
TICKET_SOLVED = Sample("zendesk", "zendesk/ticket_solved.json")
SMS_STOP = Sample("twilio", "twilio/inbound_stop.json", fresh_ids=("MessageSid",))
EMAIL_OPENED = Sample("ses", "ses/open.json", fresh_ids=("MessageId", "Message.mail.messageId"))
EMAIL_CLICKED = Sample("ses", "ses/click.json", fresh_ids=("MessageId", "Message.mail.messageId"))


@dataclass(frozen=True)
class Shopper:
    """One customer of the simulated shop, with identifiers shaped like the sample customer's."""

    index: int

    @property
    def number(self) -> int:
        """From 1, so that no shopper keeps a sample id (a number id is the sample's plus this)."""
        return self.index + 1

    @property
    def email(self) -> str:
        return f"shopper{self.index:03d}@example.com"

    @property
    def phone(self) -> str:
        return f"+4915140000{self.index:03d}"

    @property
    def phone_as_typed(self) -> str:
        return f"+49 151 40000{self.index:03d}"

    def identity(self) -> dict[str, str]:
        """Each of the sample customer's identifiers → this shopper's."""
        checkout_id = fresh_id(SAMPLE_CHECKOUT_IDS[0], self.number)
        checkout_token = fresh_id(SAMPLE_CHECKOUT_TOKENS[0], self.number)
        return {
            SAMPLE_EMAIL: self.email,
            SAMPLE_EMAIL_AS_TYPED: f"Shopper{self.index:03d}@Example.com",
            SAMPLE_PHONE: self.phone,
            SAMPLE_PHONE_AS_TYPED: self.phone_as_typed,
            SAMPLE_ANONYMOUS_ID: fresh_id(SAMPLE_ANONYMOUS_ID, self.number),
            SAMPLE_USER_ID: f"user-{6000 + self.index}",
            SAMPLE_LOYALTY_ID: f"LOY-{200000 + self.index}",
            SAMPLE_SHOPIFY_CUSTOMER_ID: fresh_id(SAMPLE_SHOPIFY_CUSTOMER_ID, self.number),
            SAMPLE_ZENDESK_USER_ID: fresh_id(SAMPLE_ZENDESK_USER_ID, self.number),
            SAMPLE_TICKET_ID: fresh_id(SAMPLE_TICKET_ID, self.number),  # one ticket each
            SAMPLE_CART_TOKEN: fresh_id(SAMPLE_CART_TOKEN, self.number),
            # The web order names the checkout it completes: the shopper's own.
            **dict.fromkeys(SAMPLE_CHECKOUT_IDS, checkout_id),
            **dict.fromkeys(SAMPLE_CHECKOUT_TOKENS, checkout_token),
        }


def fresh_id(sample_id: str, serial: int) -> str:
    """A new id shaped like `sample_id`, different for every serial: a number stays a number; in anything else
    each hexadecimal run (a UUID's groups, a token after its `ajs-next-` or `SM` prefix) gets new digits in the
    same case, and what has no such run (a base64 token) becomes a base64url token of its length."""
    if sample_id.isdigit():
        return str(int(sample_id) + serial)
    seed = f"{sample_id}:{serial}".encode()
    digits = iter(hashlib.shake_256(seed).hexdigest(len(sample_id)))
    renewed, runs = HEX_RUN.subn(lambda run: "".join(next(digits) for _ in run[0]), sample_id)
    if runs:
        return renewed.upper() if sample_id == sample_id.upper() else renewed
    return base64.urlsafe_b64encode(hashlib.shake_256(seed).digest(len(sample_id))).decode()[: len(sample_id)]


def value_at(payload: Any, path: str) -> Any:
    node = payload
    for key in path.split("."):
        if isinstance(node, str):
            node = json.loads(node)
        node = node[key]
    return node


def personalised(payload: Any, replacements: Mapping[str, str], shift: timedelta) -> Any:
    """The payload with every identifier in `replacements` replaced (inside text too: URLs, Shopify's gids) and
    every ISO-8601 timestamp moved by `shift`, each written as the vendor writes it."""
    pattern = re.compile("|".join(re.escape(old) for old in sorted(replacements, key=len, reverse=True)))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        if isinstance(node, bool) or node is None or isinstance(node, float):
            return node
        if isinstance(node, int):
            return int(replacements.get(str(node), node))
        assert isinstance(node, str)
        if node.startswith("{"):  # SNS's Message: the SES record as compact JSON text
            return json.dumps(walk(json.loads(node)), separators=(",", ":"), ensure_ascii=False)
        if ISO_TIMESTAMP.fullmatch(node):
            return shifted_timestamp(node, shift)
        return pattern.sub(lambda match: replacements[match[0]], node)

    return walk(payload)


def shifted_timestamp(text: str, shift: timedelta) -> str:
    """`text` moved by `shift`, with its precision and its zone style: `Z`, or the shop's offset of that day."""
    match = ISO_TIMESTAMP.fullmatch(text)
    assert match is not None
    instant = datetime.fromisoformat(text.replace("Z", "+00:00")) + shift
    local = instant.astimezone(UTC if match["zone"] == "Z" else SHOP_TIMEZONE)
    digits = len(match["fraction"] or "")
    fraction = f".{local.microsecond:06d}"[: digits + 1] if digits else ""
    zone = "Z" if match["zone"] == "Z" else local.isoformat()[-6:]
    return local.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone


def timestamps_in(payload: Any) -> list[datetime]:
    if isinstance(payload, dict):
        return [instant for value in payload.values() for instant in timestamps_in(value)]
    if isinstance(payload, list):
        return [instant for value in payload for instant in timestamps_in(value)]
    if isinstance(payload, str) and payload.startswith("{"):
        return timestamps_in(json.loads(payload))
    if isinstance(payload, str) and ISO_TIMESTAMP.fullmatch(payload):
        return [datetime.fromisoformat(payload.replace("Z", "+00:00"))]
    return []


@dataclass
class Story:
    """One shopper's scenario lines, in the order they are written (the scenario sorts everyone's by time)."""

    shopper: Shopper
    lines: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, sample: Sample, happened_at: datetime) -> dict[str, Any]:
        """The sample as this shopper's delivery of something that happened at `happened_at`: its latest
        timestamp (the change the vendor reports) lands there, and the line comes a second later."""
        latest = max(timestamps_in(sample.payload), default=happened_at)
        serial = self.shopper.number * 100 + len(self.lines)  # one per delivery
        renewed = {
            str(value_at(sample.payload, path)): fresh_id(str(value_at(sample.payload, path)), serial)
            for path in sample.fresh_ids
        }
        body = personalised(sample.payload, self.shopper.identity() | renewed, happened_at - latest)
        line: dict[str, Any] = {"at": happened_at + timedelta(seconds=1), "source": sample.source}
        if sample.topic:
            line["headers"] = {"X-Shopify-Topic": sample.topic}
        line["form" if sample.source == "twilio" else "body"] = body
        self.lines.append(line)
        return line

    def resend(self, line: dict[str, Any], after: timedelta) -> None:
        """The same webhook delivered again (a vendor's retry): nothing may change the second time."""
        self.lines.append(line | {"at": line["at"] + after})

    def store_lookup(self, at: datetime) -> None:
        self.lines.append({"at": at, "lookup": {"phone": self.shopper.phone_as_typed}})


def shopper_story(shopper: Shopper, arrives_at: datetime, rng: random.Random) -> Story:
    """What one customer does in the month: browse, sign up, check out, maybe buy, call support, text STOP."""
    story = Story(shopper)
    if rng.random() < 0.9:  # most arrive as anonymous web visitors
        story.deliver(PAGE, arrives_at)
        story.deliver(PRODUCT_ADDED, arrives_at + timedelta(minutes=3))
    if rng.random() < 0.1:  # and some of them only look
        return story
    signed_up = arrives_at + timedelta(minutes=6)
    sign_up = story.deliver(SIGN_UP, signed_up)  # with email consent: welcome_series
    checkout_at = signed_up + timedelta(minutes=2)
    checked_out = rng.random() < 0.85
    if checked_out:
        story.deliver(CHECKOUT, checkout_at)  # abandoned_cart, goal: buying what is in it
    if rng.random() < 0.5:  # the app: ties the web visitor to the email
        story.deliver(APP_IDENTIFY, signed_up + _minutes(rng, 30, 120))
    gave_phone_at = signed_up + _minutes(rng, 12 * 60, 30 * 60)
    gave_phone = rng.random() < 0.5
    if gave_phone:  # phone and SMS consent: abandoned_cart's SMS
        story.deliver(PHONE_AND_SMS_CONSENT, gave_phone_at)
    if rng.random() < 0.4:  # opens the welcome email: welcome_series' wait_for
        story.deliver(EMAIL_OPENED, signed_up + _minutes(rng, 60, 40 * 60))
    order = _purchase(story, rng, checkout_at, checked_out) if rng.random() < 0.5 else None
    if rng.random() < 0.2:
        _support_ticket(story, rng, signed_up)
    if gave_phone and rng.random() < 0.2:
        story.deliver(SMS_STOP, gave_phone_at + _minutes(rng, 24 * 60, 72 * 60))
    if shopper.index % 20 == 3:  # a vendor's retry
        story.resend(order or sign_up, timedelta(minutes=4))
    if shopper.index % 10 == 7:  # a call-center agent looks them up
        story.store_lookup(signed_up + timedelta(days=3))
    return story


def _purchase(story: Story, rng: random.Random, checkout_at: datetime, checked_out: bool) -> dict[str, Any]:
    """A web or in-store order, some before the cart email (sent an hour after the checkout), most after it."""
    if checked_out and rng.random() < 0.3:
        bought_at = checkout_at + _minutes(rng, 10, 50)
    else:
        bought_at = checkout_at + _minutes(rng, 90, 5 * 24 * 60)
    if rng.random() < 0.6:
        return story.deliver(WEB_ORDER, bought_at)  # post_purchase
    bought_at = _during_opening_hours(bought_at)
    # The store looks for the web cart by phone (not found if the shopper never gave one).
    story.store_lookup(bought_at - timedelta(minutes=2))
    return story.deliver(POS_ORDER, bought_at)


def _support_ticket(story: Story, rng: random.Random, signed_up: datetime) -> None:
    """A ticket (marketing waits while it is open), solved one to three days later (support_follow_up)."""
    opened_at = signed_up + _minutes(rng, 24 * 60, 8 * 24 * 60)
    solved_at = opened_at + _minutes(rng, 24 * 60, 72 * 60)
    opened = story.deliver(TICKET_CREATED, opened_at)
    solved = story.deliver(TICKET_SOLVED, solved_at)
    # The solved ticket is the one opened above (each payload was shifted on its own).
    solved["body"]["ticket"]["created_at"] = opened["body"]["ticket"]["created_at"]
    if rng.random() < 0.5:  # clicks the follow-up email, sent four hours after solving
        story.deliver(EMAIL_CLICKED, solved_at + _minutes(rng, 4 * 60 + 10, 8 * 60))


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def _during_opening_hours(moment: datetime) -> datetime:
    """The first moment from `moment` on at which the store is open (the same minute past the hour)."""
    local = moment.astimezone(SHOP_TIMEZONE)
    if local.hour >= STORE_CLOSES:
        local = (local + timedelta(days=1)).replace(hour=STORE_OPENS)
    elif local.hour < STORE_OPENS:
        local = local.replace(hour=STORE_OPENS)
    return local.astimezone(UTC)


def scenario_lines(customers: int = CUSTOMERS, days: int = DAYS) -> list[dict[str, Any]]:
    """Everyone's lines in time order, customers arriving evenly over the month, the month's end cutting stories."""
    end = START + timedelta(days=days)
    rng = random.Random(SEED)
    lines: list[dict[str, Any]] = [
        # monthly_picks: on the 1st, as its cron fires, and a second turn 28 days later (its re-entry gap).
        {"at": START + timedelta(days=1, hours=9), "schedule": "monthly_picks"},
        {"at": START + timedelta(days=29, hours=9), "schedule": "monthly_picks"},
        {"at": end},
    ]
    for index in range(customers):
        arrives_at = START + timedelta(days=index * days // customers, minutes=rng.randint(7 * 60, 19 * 60))
        lines.extend(shopper_story(Shopper(index), arrives_at, random.Random(rng.random())).lines)
    return sorted((line for line in lines if line["at"] <= end), key=lambda line: line["at"])


def scenario_text(lines: Sequence[dict[str, Any]]) -> str:
    def encoded(line: dict[str, Any]) -> str:
        return json.dumps(line | {"at": line["at"].isoformat().replace("+00:00", "Z")}, ensure_ascii=False)

    return "\n".join(encoded(line) for line in lines) + "\n"


@dataclass(frozen=True)
class Month:
    customers: int
    lines: int
    virtual_days: float
    workers: int
    wall_seconds: float
    # Processor time of this process and its workers: on a shared machine, wall time also counts waiting.
    cpu_seconds: float
    report: dict[str, Any]

    @property
    def transitions(self) -> dict[str, list[int]]:
        """journey → the states each of its runs entered (StateEntered events in the execution's history)."""
        by_journey: dict[str, list[int]] = {}
        for run in self.report["journeys"]:
            by_journey.setdefault(run["journey"], []).append(run["transitions"])
        return by_journey


def simulate_month(
    customers: int = CUSTOMERS, days: int = DAYS, workers: int | None = None, lake: Path | None = None
) -> Month:
    """The month's scenario, parsed as a file would be, run as `omnijourney simulate` runs it (one worker
    process per core by default); with `lake`, writing its facts there as `simulate --lake` does."""
    lines: list[ScenarioLine] = parse_lines(
        scenario_text(scenario_lines(customers, days)), "<bench>", base=ROOT / "scenarios"
    )
    workers = workers or os.cpu_count() or 1
    started, started_cpu = time.perf_counter(), _processor_seconds()
    report = simulate(lines, workers=workers, lake=lake)
    return Month(
        customers,
        len(lines),
        (lines[-1].at - START) / timedelta(days=1),
        workers,
        wall_seconds=time.perf_counter() - started,
        cpu_seconds=_processor_seconds() - started_cpu,
        report=report,
    )


def _processor_seconds() -> float:
    """This process's processor time and that of its ended workers."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
