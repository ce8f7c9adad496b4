"""A journey's holdout lift (docs/metrics.md): the treatment's conversion rate less the holdout's, its 95% confidence
interval and two-sided p-value, and the group sizes that could detect the journey's minimum detectable effect.

The statistics are statsmodels': the Agresti-Caffo interval for a difference of two proportions and the Agresti-Caffo
test (`confint_proportions_2indep` and `test_proportions_2indep`, method "agresti-caffo": one Wald statistic over the
counts plus one success and one failure in each group), a matching pair, so the interval excludes 0 exactly when the
p-value is below ALPHA; the added counts keep both sound with a handful of customers or none converting, where Wald's
fails and the score interval finds no root. The sizes are the power of a two-sided z-test on Cohen's h
(`NormalIndPower`, `proportion_effectsize`) over the pooled rate of both groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# statsmodels ships no type information.
from statsmodels.stats.power import NormalIndPower  # type: ignore[import-untyped]
from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
    confint_proportions_2indep,
    proportion_effectsize,
    test_proportions_2indep,
)

from omnijourney.journeys.language import ConversionRule, Holdout

ALPHA = 0.05  # 95% intervals; significant below this p-value
POWER = 0.8  # the chance of detecting a lift of the minimum detectable effect, were it there
DIGITS = 4
# The interval's and the test's method: the same statistic, so they never contradict each other.
METHOD = "agresti-caffo"


@dataclass(frozen=True)
class GroupConversion:
    """One group's customers (each once per journey, from their first entry) and how many converted."""

    customers: int
    converted: int
    rate: float | None


@dataclass(frozen=True)
class Conversion:
    """What counted as converting: the event, on which channels (any when empty), within how many days."""

    event: str
    channels: list[str]
    within_days: int


@dataclass(frozen=True)
class HoldoutLift:
    conversion: Conversion
    treatment: GroupConversion
    holdout: GroupConversion
    # Absolute, as a fraction: 0.09 is 9 percentage points. None until both groups have customers.
    lift: float | None
    confidence_interval: list[float] | None
    p_value: float | None
    minimum_detectable_effect: float
    # Customers each group needs to detect the minimum detectable effect, at the journey's split.
    needed: dict[str, int]
    # Customers each group still lacks to reach that size.
    more_needed: dict[str, int]
    significant: bool


def holdout_lift(
    rule: ConversionRule, holdout: Holdout, treatment: tuple[int, int], held_out: tuple[int, int]
) -> HoldoutLift:
    """The lift from each group's (customers, converted)."""
    treated, control = _group(*treatment), _group(*held_out)
    lift = interval = p_value = None
    if treated.customers and control.customers:
        counts = (treated.converted, treated.customers, control.converted, control.customers)
        # Degenerate groups (all or none converting) make statsmodels divide by zero on the way (ratios it computes and
        # does not return here); its answers hold.
        with np.errstate(divide="ignore", invalid="ignore"):
            low, high = confint_proportions_2indep(*counts, compare="diff", method=METHOD, alpha=ALPHA)
            tested = test_proportions_2indep(*counts, compare="diff", method=METHOD, alternative="two-sided")
        lift = _rounded(treated.converted / treated.customers - control.converted / control.customers)
        interval = [_rounded(low), _rounded(high)]
        p_value = None if math.isnan(tested.pvalue) else _rounded(tested.pvalue)
    customers = treated.customers + control.customers
    needed = _needed(holdout, (treated.converted + control.converted) / customers if customers else 0.0)
    have = {"treatment": treated.customers, "holdout": control.customers}
    more_needed = {group: max(size - have[group], 0) for group, size in needed.items()}
    return HoldoutLift(
        conversion=Conversion(rule.event.value, list(rule.channels), rule.within_days),
        treatment=treated,
        holdout=control,
        lift=lift,
        confidence_interval=interval,
        p_value=p_value,
        minimum_detectable_effect=holdout.minimum_detectable_effect,
        needed=needed,
        more_needed=more_needed,
        significant=p_value is not None and p_value < ALPHA and not any(more_needed.values()),
    )


def _group(customers: int, converted: int) -> GroupConversion:
    return GroupConversion(customers, converted, _rounded(converted / customers) if customers else None)


def _needed(holdout: Holdout, baseline: float) -> dict[str, int]:
    """Each group's size for a two-sided test at ALPHA to detect the minimum detectable effect over `baseline`
    (the pooled rate of both groups: the holdout's own, from its few customers, would swing the sizes with each
    conversion) with POWER, the groups in the split's proportion."""
    effect = holdout.minimum_detectable_effect
    better = min(baseline + effect, 1.0)
    size = abs(proportion_effectsize(better, better - effect))
    ratio = holdout.percent / (100 - holdout.percent)
    treatment = NormalIndPower().solve_power(effect_size=size, alpha=ALPHA, power=POWER, ratio=ratio)
    return {"treatment": math.ceil(treatment), "holdout": math.ceil(treatment * ratio)}


def _rounded(value: float) -> float:
    return round(float(value), DIGITS)
