"""The report's metrics (defined in docs/metrics.md), and the audit behind the consistency score.

The audit re-checks every message that went out against what the customer's record says happened
before it, independently of the guards that decided it: a guard bug shows up as a lower score.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from omnijourney.app import config
from omnijourney.events import OrderState
from omnijourney.journeys.templates import ShopConfig
from omnijourney.profiles.model import order_revenue
from omnijourney.runtime.consistency import ConsistencyRules
from omnijourney.vocabulary import Category, Reason


def metrics(
    profiles: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    *,
    journeys: list[dict[str, Any]],
    activity: dict[str, list[dict[str, Any]]],
    rules: ConsistencyRules,
    erased: dict[str, str],
) -> dict[str, Any]:
    shop = config.shop()
    credited = credited_deals(profiles)
    by_customer = {profile["customer_id"]: earned(profile, shop, credited) for profile in profiles}
    revenue = sum(by_customer.values(), Decimal(0))
    final = [message for message in messages if message["status"] != "deferred"]
    sent = [message for message in final if message["status"] == "sent"]
    violations = audit(sent, {profile["customer_id"]: profile for profile in profiles}, activity, rules, erased)
    return {
        "customers": len(profiles),
        "events": sum(len(events) for events in activity.values()),
        "orders": sum(len(profile["orders"]) for profile in profiles),
        "revenue": float(revenue),
        "clv": {
            "average": round(float(revenue) / len(profiles), 2) if profiles else 0.0,
            "by_customer": {customer: float(value) for customer, value in by_customer.items()},
            "deals_apart": deals_apart(profiles, shop, credited),
        },
        "cross_channel_conversion_rate": cross_channel_conversion_rate(journeys),
        "consistency_score": round(1 - len(violations) / len(sent), 4) if sent else 1.0,
        "consistency_violations": violations,
        "messages_sent": len(sent),
        "messages_suppressed": len(final) - len(sent),
        "offers_issued": len({offer["code"] for profile in profiles for offer in profile.get("offers", [])}),
        "offers_presented": sum(1 for message in sent if message.get("offer")),
        "offers_redeemed": sum(
            1 for profile in profiles for offer in profile.get("offers", []) if offer["status"] == "redeemed"
        ),
        # A second offer for the same products that was not issued: the live one shown instead, or the message held.
        "offer_conflicts_prevented": sum(1 for message in sent if (message.get("offer") or {}).get("instead_of"))
        + sum(1 for message in final if message["reason"] == Reason.offer_conflict),
        "suppressed_by_reason": dict(sorted(Counter(m["reason"] for m in final if m["status"] != "sent").items())),
        "state_transitions": sum(run.get("transitions", 0) for run in journeys),
    }


def revenue_of(order: dict[str, Any]) -> Decimal:
    """What an order in a profile view earned."""
    return order_revenue(OrderState(order["state"]), Decimal(str(order["total"])), Decimal(str(order["refunded"])))


def credited_deals(profiles: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(customer id, deal id) of each deal's one customer whose value it is: of those the deal is on (a deal may have
    several contacts), the one whose current association is the oldest, then by customer id (metrics/facts.sql's
    `deal_book`)."""
    first: dict[str, tuple[str, str]] = {}
    for profile in profiles:
        for deal in profile["deals"]:
            claim = (deal["associated_at"], profile["customer_id"])
            first[deal["deal_id"]] = min(first.get(deal["deal_id"], claim), claim)
    return {(customer_id, deal_id) for deal_id, (_, customer_id) in first.items()}


def won_deals(profile: dict[str, Any], crm_currency: str, credited: set[tuple[str, str]]) -> list[tuple[str, Decimal]]:
    """Each won deal of a profile view that has an amount and is credited to the customer: its currency (one naming
    none is in `crm_currency`, the CRM's company currency) and amount."""
    return [
        (deal["currency"] or crm_currency, Decimal(str(deal["amount"])))
        for deal in profile["deals"]
        if deal["status"] == "won"
        and deal["amount"] is not None
        and (profile["customer_id"], deal["deal_id"]) in credited
    ]


def earned(profile: dict[str, Any], shop: ShopConfig, credited: set[tuple[str, str]]) -> Decimal:
    """A customer's lifetime value to date: what their orders earned, and their won deals in the shop's currency."""
    orders = sum((revenue_of(order) for order in profile["orders"]), Decimal(0))
    deals = won_deals(profile, shop.deal_currency, credited)
    return orders + sum((amount for told, amount in deals if told == shop.currency), Decimal(0))


def deals_apart(profiles: list[dict[str, Any]], shop: ShopConfig, credited: set[tuple[str, str]]) -> dict[str, Any]:
    """The won deals that are not revenue, in another currency than the shop's: how many, and their amounts by
    currency."""
    apart = [
        (told, amount)
        for profile in profiles
        for told, amount in won_deals(profile, shop.deal_currency, credited)
        if told != shop.currency
    ]
    by_currency: dict[str, Decimal] = {}
    for told, amount in apart:
        by_currency[told] = by_currency.get(told, Decimal(0)) + amount
    return {"count": len(apart), "by_currency": {told: float(amount) for told, amount in sorted(by_currency.items())}}


def cross_channel_conversion_rate(journeys: list[dict[str, Any]]) -> float:
    """Runs that converted on another channel than the one they started from, out of all runs."""
    if not journeys:
        return 0.0
    crossed = [
        run
        for run in journeys
        if run["outcome"] == "goal" and run.get("converted_on") and run["converted_on"] != run.get("entry_channel")
    ]
    return round(len(crossed) / len(journeys), 4)


def audit(
    sent: list[dict[str, Any]],
    profiles: dict[str, dict[str, Any]],
    activity: dict[str, list[dict[str, Any]]],
    rules: ConsistencyRules,
    erased: dict[str, str],
) -> list[dict[str, Any]]:
    """Every rule of the scenario contract a sent message broke, one entry per (message, rule)."""
    violations: list[dict[str, Any]] = []
    seen: Counter[tuple[str, str, str, str]] = Counter()
    for message in sent:
        at = datetime.fromisoformat(message["at"])
        profile = profiles.get(message["customer_id"])
        broken = []
        step = (message["customer_id"], message["journey"], message["step"], message["execution"])
        seen[step] += 1
        if seen[step] > 1:
            broken.append("sent_twice")
        if message["customer_id"] in erased and message["at"] >= erased[message["customer_id"]]:
            broken.append("sent_after_erasure")
        offer = message.get("offer")
        if offer and not set(offer["skus"]) & set(message["products"]):
            broken.append("offer_on_uncovered_product")
        if profile is not None and message["category"] == Category.marketing:
            broken.extend(_marketing_rules(message, at, profile, activity.get(message["customer_id"], []), rules))
        violations.extend({"at": message["at"], "customer_id": message["customer_id"], "rule": rule} for rule in broken)
    violations.extend(_offer_disagreements(sent, profiles))
    return violations


def _offer_disagreements(sent: list[dict[str, Any]], profiles: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Two messages to one customer showing different codes for the same product while the first was still live."""
    found = []
    shown: dict[str, list[dict[str, Any]]] = {}
    for message in sent:
        offer = message.get("offer")
        if not offer:
            continue
        issued = {given["code"]: given for given in profiles.get(message["customer_id"], {}).get("offers", [])}
        for earlier in shown.setdefault(message["customer_id"], []):
            record = issued.get(earlier["code"], {})
            closed_at = min(record.get("expires_at") or "9999", record.get("redeemed_at") or "9999")
            overlapping = set(earlier["skus"]) & set(offer["skus"])
            if earlier["code"] != offer["code"] and overlapping and message["at"] < closed_at:
                found.append({"at": message["at"], "customer_id": message["customer_id"], "rule": "offer_disagreement"})
        shown[message["customer_id"]].append(offer)
    return found


def _marketing_rules(
    message: dict[str, Any],
    at: datetime,
    profile: dict[str, Any],
    activity: list[dict[str, Any]],
    rules: ConsistencyRules,
) -> list[str]:
    broken = []
    bought_before = {
        sku
        for order in profile["orders"]
        if datetime.fromisoformat(order["at"]) < at and OrderState(order["state"]).is_purchase
        for sku in order["skus"]
    }
    # An offer names its products as much as the message does.
    named = set(message["products"]) | set((message.get("offer") or {}).get("skus", []))
    if named & bought_before:
        broken.append("named_a_product_already_bought")
    # The customer's word on this channel as it stood when the message went out, by when they gave it.
    given = sorted(
        (datetime.fromisoformat(change["at"]), change["status"])
        for entry in activity
        for channel, change in entry.get("consent", {}).items()
        if channel == message["channel"] and datetime.fromisoformat(entry["at"]) < at
    )
    if given and given[-1][1] == "unsubscribed":
        broken.append("after_opt_out")
    opened = sum(
        1 for entry in activity if entry["type"] == "ticket_opened" and datetime.fromisoformat(entry["at"]) < at
    )
    solved = sum(
        1 for entry in activity if entry["type"] == "ticket_solved" and datetime.fromisoformat(entry["at"]) < at
    )
    if opened > solved:
        broken.append("during_open_ticket")
    if message["channel"] in rules.quiet_hours.channels:
        zone = ZoneInfo(profile.get("timezone") or rules.quiet_hours.default_timezone)
        local = at.astimezone(zone).time()
        start, end = time.fromisoformat(rules.quiet_hours.start), time.fromisoformat(rules.quiet_hours.end)
        if (start <= local or local < end) if start > end else (start <= local < end):
            broken.append("in_quiet_hours")
    return broken
