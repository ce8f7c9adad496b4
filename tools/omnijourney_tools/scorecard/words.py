"""The scorecard in plain words, for a marketer reading a terminal."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from omnijourney_tools.scorecard.definitions import Scope
from omnijourney_tools.scorecard.lift import GroupConversion, HoldoutLift
from omnijourney_tools.scorecard.scorecard import JourneyFunnel, Scorecard


def in_words(card: Scorecard, scope: Scope, lake: Path | str) -> list[str]:
    days = f"from {scope.first_day or 'the first fact'} to {scope.last_day or 'the last fact'}"
    journeys = f"journey {scope.journey}" if scope.journey else "every journey"
    lines = [
        f"Scorecard of {lake}, {days}, {journeys}:",
        f"Customers: {card.customers}, with {card.events} {_plural(card.events, 'event')} and {card.orders} "
        f"{_plural(card.orders, 'order')}; revenue {card.revenue:.2f}.",
        f"Lifetime value: {card.clv.average:.2f} per customer on average.",
        *(
            f"  first came from {channel}: {value.customers} {_plural(value.customers, 'customer')}, "
            f"{value.average:.2f} on average"
            for channel, value in card.clv.by_first_channel.items()
        ),
        *(
            f"  in stage {stage}: {value.customers} {_plural(value.customers, 'customer')}, "
            f"{value.average:.2f} on average"
            for stage, value in card.clv.by_stage.items()
        ),
        *_deals_apart(card),
        f"Cross-channel conversion: {card.cross_channel_conversion_rate:.1%} of journey runs reached their goal on "
        "another channel than the one they started from.",
        *_consistency(card),
        f"Messages: {card.messages_sent} sent, {card.messages_suppressed} held back by the guards"
        + (
            f" ({', '.join(f'{n}× {reason}' for reason, n in card.suppressed_by_reason.items())})."
            if card.messages_suppressed
            else "."
        ),
        f"Step Functions: {card.state_transitions} state transitions, ${card.state_transitions_cost_usd:.4f} "
        "at $0.025 per 1,000.",
    ]
    for journey, funnel in card.funnel.items():
        lines.extend(_funnel(journey, funnel))
    lines.extend(lift_sentence(journey, lift) for journey, lift in card.holdout_lift.items())
    return lines


def _deals_apart(card: Scorecard) -> list[str]:
    apart = card.clv.deals_apart
    if not apart.count:
        return []
    amounts = ", ".join(f"{amount:.2f} {currency}" for currency, amount in apart.by_currency.items())
    return [
        f"  not counted: {apart.count} won {_plural(apart.count, 'deal')} in another currency than the shop's "
        f"({amounts})."
    ]


def _consistency(card: Scorecard) -> list[str]:
    if not card.consistency_violations:
        return [f"Consistency score: {card.consistency_score:.2f}: no message sent broke a consistency rule."]
    by_rule = Counter(violation.rule for violation in card.consistency_violations)
    return [
        f"Consistency score: {card.consistency_score:.2f}: {len(card.consistency_violations)} "
        f"{_plural(len(card.consistency_violations), 'violation')} among the messages sent "
        f"({', '.join(f'{n}× {rule}' for rule, n in sorted(by_rule.items()))}):",
        *(f"  {v.rule} at {v.at} for {v.customer_id}" for v in card.consistency_violations),
    ]


def _funnel(journey: str, funnel: JourneyFunnel) -> list[str]:
    entered = sum(funnel.entered.values())
    groups = ", ".join(f"{n} {group}" for group, n in sorted(funnel.entered.items()))
    lines = [f"Journey {journey}: {entered} {_plural(entered, 'run')} entered" + (f" ({groups})" if groups else "")]
    for step in funnel.steps:
        held = sum(step.held.values())
        reasons = ", ".join(f"{n}× {reason}" for reason, n in step.held.items())
        lines.append(
            f"  {step.step}: {step.sent} sent, {held} held"
            + (f" ({reasons})" if reasons else "")
            + (f", {step.deferred} deferred" if step.deferred else "")
        )
    goal = funnel.ended.get("goal", 0)
    others = ", ".join(f"{n} {outcome}" for outcome, n in funnel.ended.items() if outcome != "goal")
    lines.append(f"  reached the goal: {goal}" + (f"; other ends: {others}" if others else ""))
    return lines


def lift_sentence(journey: str, lift: HoldoutLift) -> str:
    """One sentence: each group's conversion, the lift with its interval, and whether it can be trusted yet."""
    conversion = lift.conversion
    did = "ordered" if conversion.event == "order_completed" else f"converted ({conversion.event})"
    channels = f" on {' or '.join(conversion.channels)}" if conversion.channels else ""
    window = f"within {conversion.within_days} {_plural(conversion.within_days, 'day')} of the split"
    treated, held = lift.treatment, lift.holdout
    got_it = f"of the {treated.customers} {_plural(treated.customers, 'customer')} who got it"
    head = f"Holdout lift of {journey}: "
    if lift.lift is None or lift.confidence_interval is None:
        return head + (
            f"{treated.customers} {_plural(treated.customers, 'customer')} got it, {held.customers} in the holdout: "
            "no lift to measure until both groups have customers."
        )
    low, high = lift.confidence_interval
    figures = (
        f"{_percent(treated)} {got_it} {did}{channels} {window}, {_percent(held)} of the "
        f"{held.customers} in the holdout did: {points(lift.lift)} points (95% CI {points(low)} to {points(high)}, "
        f"p = {lift.p_value if lift.p_value is not None else 'unknown'})"
    )
    detect = f"to detect {points(lift.minimum_detectable_effect).lstrip('+')} points"
    if lift.significant:
        verdict = "significant"
    elif any(lift.more_needed.values()):
        more = lift.more_needed
        missing = [f"{more['treatment']:,} more who get it"] if more["treatment"] else []
        missing += [f"{more['holdout']:,} more in the holdout"] if more["holdout"] else []
        verdict = f"not significant yet — about {' and '.join(missing)} needed {detect}"
    else:
        verdict = f"not significant: the groups are large enough {detect}, so the lift is likely smaller than that"
    return f"{head}{figures}, {verdict}."


def _percent(group: GroupConversion) -> str:
    return f"{group.converted / group.customers:.0%}"


def points(fraction: float) -> str:
    return f"{fraction * 100:+.0f}".replace("-", "−")


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"
