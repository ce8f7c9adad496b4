"""A simulation's report as a marketer reads it: who got what, when, on which channel, and why anything was held.

`omnijourney simulate` and `omnijourney demo` print it. Times are UTC in the left column, and each message also in
the customer's own time, where quiet hours and `until` waits are decided. Every reason the ledger, the runs and the
skipped entries store is said in words (`REASONS_IN_WORDS`, `SKIPS_IN_WORDS`, and the two composed families).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from omnijourney.vocabulary import NOTED, MessageChannel, Reason, SkipReason
from omnijourney_tools.simulation.scenario import DeliveryLine, EraseLine, LookupLine, ScenarioLine, ScheduleLine

# `{channel}` is the message's channel as people name it.
REASONS_IN_WORDS: dict[Reason, str] = {
    Reason.customer_erased: "not sent: the customer's data was erased",
    Reason.goal_reached: "not sent: the customer reached the journey's goal",
    Reason.merged: "stopped: this customer was merged with a profile already in the journey",
    Reason.control_group: "held out: the customer is in the journey's control group",
    Reason.exit_condition: "stopped: one of the journey's exit_when conditions holds",
    Reason.no_address: "not sent: the profile has no {channel} address",
    Reason.opted_out: "not sent: the customer opted out of {channel}",
    Reason.no_consent: "not sent: {channel} marketing needs the customer's opt-in",
    Reason.already_purchased: "not sent: the customer already bought the product it names",
    Reason.empty_cart: "not sent: the cart it reminds of is empty",
    Reason.open_ticket: "held while the customer has an open support ticket",
    Reason.quiet_hours: "waited for the customer's morning",
    Reason.frequency_cap: "not sent: the customer already had as many marketing messages as the frequency cap allows",
    Reason.outranked: "not sent: a higher-priority journey's message went to the customer shortly before",
    Reason.offer_not_on_promoted_products: "without its offer: the offer covers none of the products it promotes",
    Reason.offer_conflict: "without its offer: another live offer covers the same product",
    Reason.bought_at_full_price: "without its offer: the customer already bought the product at full price",
    Reason.offer_not_open: "without its offer: the offer is not open now",
    Reason.offer_used: "without its offer: the customer already used it",
    Reason.offer_expired: "without its offer: the customer's code expired",
    Reason.template_failed: "not sent: its template could not be filled in for this customer (see templates preview)",
}
SKIPS_IN_WORDS: dict[SkipReason, str] = {
    SkipReason.running: "a run of this journey is already in progress for the customer",
    SkipReason.re_entry: "the journey's re_entry rule does not let the customer in again yet",
    SkipReason.audience: "the customer is not in the journey's audience",
}
OUTCOMES_IN_WORDS = {
    "goal": "reached its goal",
    "exited": "exited",
    "completed": "completed",
    "stopped": "stopped",
    "failed": "failed",
    "holdout": "held out",
    "running": "still running",
}
CHANNELS_IN_WORDS = {
    MessageChannel.email: "email",
    MessageChannel.sms: "SMS",
    MessageChannel.push: "push",
    MessageChannel.in_store: "in-store",
    MessageChannel.call_center: "call-center",
    MessageChannel.webhook: "webhook",
    MessageChannel.sales_task: "sales task",
}
# Within one minute: what came in, then the journeys it started or passed over, their messages, their ends.
INPUT, STARTED, MESSAGE, ENDED = range(4)
SHOWN_TEXT = 70  # characters of an SMS, push or note body shown on its line


def in_words(reason: str, channel: str | None = None) -> str:
    """A stored reason in words: a guard's, a run's end, a skip; a composed one by its family; a journey's own exit
    text (`exit: reminders sent`) as the marketer wrote it."""
    if reason in REASONS_IN_WORDS:
        said = CHANNELS_IN_WORDS[MessageChannel(channel)] if channel else "this channel"
        return REASONS_IN_WORDS[Reason(reason)].format(channel=said)
    if reason in SKIPS_IN_WORDS:
        return SKIPS_IN_WORDS[SkipReason(reason)]
    if reason.startswith("exit_"):
        return f"left the journey: {reason.removeprefix('exit_').replace('_', ' ')} ends it"
    if reason.startswith("undeliverable_"):
        return f"not sent: the provider refused it ({reason.removeprefix('undeliverable_').replace('_', ' ')})"
    return reason


def timeline(report: dict[str, Any], lines: Iterable[ScenarioLine], shop_zone: ZoneInfo) -> list[str]:
    """The report's story, one row a happening in time order (UTC), a store screen under each lookup."""
    by_number = {line.number: line for line in lines}
    zones = {
        profile["customer_id"]: ZoneInfo(profile["timezone"]) for profile in report["profiles"] if profile["timezone"]
    }
    rows: list[tuple[str, int, list[str]]] = []
    for entry in report["inputs"] + report["lookups"]:
        line = by_number[entry["line"]]
        outcome = entry["status"] if entry.get("error") is None else f"{entry['status']} ({entry['error']})"
        text = [f"{_summary(line):<52} → {outcome}"]
        if entry.get("profile"):
            text.append(store_screen(entry["profile"]))
        rows.append((line.at.astimezone(UTC).isoformat(), INPUT, text))
    for entry in report.get("skipped", []):
        why = in_words(entry["reason"])
        rows.append((entry["at"], STARTED, [f"   ↷ {entry['journey']} not started for {_who(entry)}: {why}"]))
    for run in report["journeys"]:
        rows.append((run["started_at"], STARTED, [f"   ▶ {run['journey']} starts for {_who(run)}"]))
        if run["ended_at"]:
            rows.append((run["ended_at"], ENDED, [_end_line(run)]))
    for message in collapsed(report["messages"]):
        zone = zones.get(message["customer_id"], shop_zone)
        rows.append((message["at"], MESSAGE, [_message_line(message, zone)]))
    return [
        row
        for at, _, text in sorted(rows, key=lambda row: (row[0], row[1]))
        for row in (f"  {datetime.fromisoformat(at):%a %d %b %H:%M} UTC  {text[0]}", *text[1:])
    ]


def _who(entry: dict[str, Any]) -> str:
    """A customer id short enough to read in a row, long enough to tell a scenario's customers apart."""
    customer_id: str = entry["customer_id"]
    return customer_id[:12]


def _summary(line: ScenarioLine) -> str:
    if isinstance(line, DeliveryLine):
        return line.summary
    if isinstance(line, LookupLine):
        ((key, value),) = line.lookup.items()
        return f"store looks up {key.replace('_', ' ')} {value}"
    if isinstance(line, EraseLine):
        ((key, value),) = line.erase.items()
        return f"erasure requested for {key} {value}"
    if isinstance(line, ScheduleLine):
        return f"schedule fires {line.schedule}"
    return "clock advances"


def collapsed(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Repeated deferrals of one step, as one row with a count."""
    shown: list[dict[str, Any]] = []
    for message in messages:
        previous = shown[-1] if shown else None
        same_step = previous is not None and all(
            previous[key] == message[key] for key in ("execution", "step", "status")
        )
        if same_step and message["status"] == "deferred" and previous is not None:
            previous["times"] = previous.get("times", 1) + 1
            continue
        shown.append(dict(message))
    return shown


def _message_line(message: dict[str, Any], zone: ZoneInfo) -> str:
    local = datetime.fromisoformat(message["at"]).astimezone(zone)
    channel = CHANNELS_IN_WORDS[MessageChannel(message["channel"])]
    what = f"{message['journey']} › {message['step']}: {channel} {message['template']} ({message['category']})"
    head = f"{_who(message)} at {local:%H:%M} {zone.key}"
    if message["status"] == "sent":
        products = f" naming {', '.join(message['products'])}" if message["products"] else ""
        offer = message.get("offer")
        presented = f", offer {offer['code']} ({offer['discount']})" if offer else ""
        withheld = message.get("offer_withheld")
        without = f", {in_words(withheld['reason'], message['channel'])}" if withheld else ""
        # A note's "recipient" is the customer's profile, where staff read it.
        sent = "noted on the profile" if MessageChannel(message["channel"]) in NOTED else f"sent to {message['to']}"
        return f"   ✉ {head}: {what} {sent}{products}{presented}{without}{_text(message.get('text'))}"
    times = f" ×{message['times']}" if message.get("times", 1) > 1 else ""
    symbol = "⏸" if message["status"] == "deferred" else "✗"
    return f"   {symbol} {head}: {what} {in_words(message['reason'] or '', message['channel'])}{times}"


def _text(text: dict[str, Any] | None) -> str:
    """The subject of an email, the start of any other message, as the customer read it."""
    if text is None:
        return ""
    if text["subject"] is not None:
        return f' — "{text["subject"]}"'
    body = " ".join(str(text["body"]).split())
    return f' — "{body[:SHOWN_TEXT]}…"' if len(body) > SHOWN_TEXT else f' — "{body}"'


def _end_line(run: dict[str, Any]) -> str:
    reason = run["reason"]
    # A goal reached says it once; other reasons say why the run ended.
    why = f": {in_words(reason)}" if reason and reason != Reason.goal_reached else ""
    path = run.get("path")
    taken = f" (path: {' → '.join(_runs_of(path))})" if path else ""
    outcome = OUTCOMES_IN_WORDS.get(run["outcome"], run["outcome"])
    return f"   ■ {run['journey']} ends for {_who(run)}: {outcome}{why}{taken}"


def _runs_of(path: list[str]) -> list[str]:
    """A step entered again right away (a deferred send tried again) once, with a count."""
    shown: list[tuple[str, int]] = []
    for step in path:
        if shown and shown[-1][0] == step:
            shown[-1] = (step, shown[-1][1] + 1)
        else:
            shown.append((step, 1))
    return [step if count == 1 else f"{step} ×{count}" for step, count in shown]


def _deal_row(deal: dict[str, Any]) -> str:
    """A CRM deal as sales read it: its name, open, won or lost, its amount and what it sells."""
    amount = f", {deal['amount']} {deal['currency'] or ''}".rstrip() if deal["amount"] is not None else ""
    skus = ", ".join(item["sku"] or item["line_item_id"] for item in deal["line_items"])
    return f"      │ deal {deal['name'] or deal['deal_id']}: {deal['status']}{amount}" + (f" ({skus})" if skus else "")


def store_screen(profile: dict[str, Any]) -> str:
    """What a store or call-center screen shows of a profile."""
    ids = {kind: values for kind, values in profile["identifiers"].items() if values}
    cart = profile["cart"]
    items = (
        ", ".join(f"{item['quantity']}× {item['name'] or item['sku']}" for item in cart["items"]) if cart else "empty"
    )
    orders = (
        ", ".join(f"{o['order_id']} ({o['channel']}, {o['total']} {o['currency']})" for o in profile["orders"])
        or "none"
    )
    tickets = ", ".join(ticket["subject"] or ticket["ticket_id"] for ticket in profile["open_tickets"]) or "none"
    deals = [_deal_row(deal) for deal in profile.get("deals", [])]
    actions = [f"      │ next: {note['text']} ({note['channel']})" for note in profile.get("next_best_actions", [])]
    offers = [
        f"      │ offer {offer['code']}: {offer['discount']} {', '.join(offer['skus'])} ({offer['status']}"
        + (f" until {offer['expires_at'][:10]})" if offer["status"] == "live" else ")")
        for offer in profile.get("offers", [])
    ]
    consent = ", ".join(f"{channel} {status}" for channel, status in profile["consent"].items())
    timezone = profile["timezone"] or "timezone unknown"
    return "\n".join(
        [
            f"      ┌ customer {profile['customer_id']} · {profile['lifecycle_stage']} · {timezone}",
            f"      │ known by: {', '.join(f'{k}={v[-1]}' for k, v in ids.items())}",
            f"      │ cart: {items}" + (f" (from {cart['channel']})" if cart else ""),
            f"      │ orders: {orders}",
            f"      │ open tickets: {tickets}   consent: {consent}",
            *deals,
            *offers,
            *actions,
            "      └",
        ]
    )
