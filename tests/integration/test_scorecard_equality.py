"""Issue 18's "done when": `omnijourney metrics --lake DIR --json` gives the figures of the simulate report's `metrics`,
computed the other way (Python over the profiles, the ledger and the runs at the end of the run).

Every shipped scenario is checked in tests/integration/test_golden_reports.py, which simulates each once for its
golden report and its lake and compares `from_the_lake` with `from_the_report`. The small lakes here are where the
two ways could part: an offer that expired, and the lifecycle stages the SQL renders from config/lifecycle.yaml.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omnijourney.app import config
from omnijourney_tools.cli import main
from omnijourney_tools.simulation.metrics import audit
from tests.integration.test_scorecard import event, message, metrics_json, order, write_lake

FIGURES = [
    "customers",
    "events",
    "orders",
    "revenue",
    "cross_channel_conversion_rate",
    "consistency_score",
    "messages_sent",
    "messages_suppressed",
    "suppressed_by_reason",
]


def figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """What both ways must agree on, the violations by rule and customer among them."""
    return {name: metrics[name] for name in FIGURES} | {
        "clv.average": metrics["clv"]["average"],
        "clv.by_customer": metrics["clv"]["by_customer"],
        "clv.deals_apart": metrics["clv"]["deals_apart"],
        "violations": sorted((v["rule"], v["customer_id"], v["at"]) for v in metrics["consistency_violations"]),
    }


def from_the_lake(scorecard: dict[str, Any]) -> dict[str, Any]:
    return figures(scorecard) | {
        "state_transitions": scorecard["state_transitions"],
        "clv.by_stage": scorecard["clv"]["by_stage"],
    }


def from_the_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report's figures as the lake can know them: an execution's transitions are a fact when it ends (the report
    also counts those of runs still waiting), and each live profile's stage with its lifetime value."""
    metrics = report["metrics"]
    revenue: defaultdict[str, list[Decimal]] = defaultdict(list)
    for profile in report["profiles"]:
        revenue[profile["lifecycle_stage"]].append(Decimal(str(metrics["clv"]["by_customer"][profile["customer_id"]])))
    by_stage = {
        stage: {
            "customers": len(values),
            "revenue": float(sum(values)),
            "average": round(float(sum(values)) / len(values), 2),
        }
        for stage, values in revenue.items()
    }
    return figures(metrics) | {
        "state_transitions": sum(run["transitions"] for run in report["journeys"] if run["ended_at"] is not None),
        "clv.by_stage": by_stage,
    }


# Offers: Mia's first code expired before she was shown a second for the same shoes; Noa's was still live.
ISSUED = datetime(2025, 3, 1, 10, tzinfo=UTC)
OFFERS = [
    # customer, code, expires, shown again with another code at
    ("cust-mia", "SPRING-MIA1", ISSUED + timedelta(days=2), ("SPRING-MIA2", ISSUED + timedelta(days=4))),
    ("cust-noa", "SPRING-NOA1", ISSUED + timedelta(days=7), ("SPRING-NOA2", ISSUED + timedelta(days=4))),
]
SHOE = "SHOE-TRAIL-43"


def offer_facts() -> list[dict[str, Any]]:
    facts: list[dict[str, Any]] = []
    for customer, code, expires_at, (second, shown_at) in OFFERS:
        facts.append(event(f"{customer}-visit", ISSUED - timedelta(hours=1), customer, "page_viewed", "web"))
        for shown, when, expiry in [(code, ISSUED, expires_at), (second, shown_at, shown_at + timedelta(days=7))]:
            facts.append(
                {
                    "fact_id": f"issued-{shown}",
                    "kind": "offer_issued",
                    "occurred_at": when,
                    "customer_id": customer,
                    "offer_code": shown,
                    "skus": [SHOE],
                    "expires_at": expiry,
                }
            )
            facts.append(
                message(
                    f"sent-{shown}",
                    when,
                    customer,
                    "sent",
                    skus=[SHOE],
                    offer_code=shown,
                    offer_skus=[SHOE],
                    execution=f"run-{shown}",
                )
            )
    return facts


def python_audit() -> list[tuple[str, str, str]]:
    """The simulate report's audit of the same messages, each customer's profile holding the codes it was issued."""
    sent, profiles = [], {}
    for customer, code, expires_at, (second, shown_at) in OFFERS:
        issued = [(code, ISSUED, expires_at), (second, shown_at, shown_at + timedelta(days=7))]
        profiles[customer] = {
            "customer_id": customer,
            "orders": [],
            "timezone": None,
            "offers": [{"code": c, "expires_at": e.isoformat(), "redeemed_at": None} for c, _, e in issued],
        }
        sent += [
            {
                "at": when.isoformat(),
                "customer_id": customer,
                "journey": "abandoned_cart",
                "step": "cart_email",
                "execution": f"run-{shown}",
                "category": "marketing",
                "channel": "email",
                "products": [SHOE],
                "offer": {"code": shown, "skus": [SHOE]},
            }
            for shown, when, _ in issued
        ]
    sent.sort(key=lambda sent_message: sent_message["at"])
    found = audit(sent, profiles, {}, config.consistency(), {})
    return sorted((v["rule"], v["customer_id"], v["at"]) for v in found)


def test_an_expired_offer_is_live_no_more_for_either_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = write_lake(tmp_path, offer_facts())

    scorecard = metrics_json(capsys, "--lake", str(lake))

    noa_shown_again = (ISSUED + timedelta(days=4)).isoformat()
    # Mia's second code came after her first expired: no disagreement. Noa's first was live for three more days.
    assert figures(scorecard)["violations"] == [("offer_disagreement", "cust-noa", noa_shown_again)]
    assert python_audit() == [("offer_disagreement", "cust-noa", noa_shown_again)]


# Lifecycle stages as of the end of 30 September 2025 (the scorecard's --to), by config/lifecycle.yaml.
LAST_DAY = datetime(2025, 9, 30, tzinfo=UTC)
END = LAST_DAY + timedelta(days=1)


def before(days: int) -> datetime:
    return END - timedelta(days=days)


def stage_facts() -> list[dict[str, Any]]:
    """Rae ordered twice, Lou once 200 days before the end, Fay once 90 days before it, Kim once 10 days before; Pat
    gave an email in the app (merged into her web profile) and never ordered; Ted's only order was refunded in full;
    Vic browsed anonymously."""
    refund = {
        "fact_id": "refund-ted",
        "kind": "refund",
        "occurred_at": before(10),
        "customer_id": "cust-ted",
        "order_id": "o-ted",
        "refund_id": "r-ted",
        "amount": Decimal("30.00"),
        "currency": "EUR",
    }
    return [
        *order("o-rae-1", before(30), "cust-rae", "o-rae-1", "50.00", ["SOCKS"]),
        *order("o-rae-2", before(20), "cust-rae", "o-rae-2", "70.00", ["CARE-KIT"]),
        *order("o-lou", before(200), "cust-lou", "o-lou", "40.00", ["SHOE-ROAD-40"]),
        *order("o-fay", before(90), "cust-fay", "o-fay", "60.00", ["SHOE-TRAIL-42"]),
        *order("o-kim", before(10), "cust-kim", "o-kim", "25.00", ["SOCKS"]),
        event("e-pat-web", before(30), "cust-pat", "page_viewed", "web", known=False),
        event("e-pat-app", before(20), "cust-pat-app", "identify", "app", known=True),
        {
            "fact_id": "merge-pat",
            "kind": "merge",
            "occurred_at": before(10),
            "customer_id": "cust-pat",
            "merged_id": "cust-pat-app",
        },
        event("e-ted", before(30), "cust-ted", "identify", "web", known=True),
        *order("o-ted", before(30), "cust-ted", "o-ted", "30.00", ["SHOE-ROAD-40"]),
        refund,
        event("e-vic", before(10), "cust-vic", "page_viewed", "web", known=False),
    ]


def test_each_customer_is_in_the_first_lifecycle_stage_whose_conditions_they_meet_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = write_lake(tmp_path, stage_facts())

    scorecard = metrics_json(capsys, "--lake", str(lake), "--to", LAST_DAY.date().isoformat())

    # In the order of config/lifecycle.yaml; each customer's revenue tells which stage they are in.
    assert scorecard["clv"]["by_stage"] == {
        "lapsed": {"customers": 1, "revenue": 40.0, "average": 40.0},  # Lou
        "at_risk": {"customers": 1, "revenue": 60.0, "average": 60.0},  # Fay, 90 days to the day
        "repeat_customer": {"customers": 1, "revenue": 120.0, "average": 120.0},  # Rae
        "first_time_customer": {"customers": 1, "revenue": 25.0, "average": 25.0},  # Kim
        "prospect": {"customers": 2, "revenue": 0.0, "average": 0.0},  # Pat (known through the app), Ted (refunded)
        "visitor": {"customers": 1, "revenue": 0.0, "average": 0.0},  # Vic
    }
    assert main(["metrics", "--lake", str(lake), "--to", LAST_DAY.date().isoformat()]) == 0
    assert "  in stage repeat_customer: 1 customer, 120.00 on average" in capsys.readouterr().out


def test_a_stage_is_as_of_the_end_of_the_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = write_lake(tmp_path, stage_facts())

    # 85 days before the end Lou had bought 115 days before (at risk) and Fay 5 days before (a first-time customer);
    # the others had not come yet.
    earlier = metrics_json(capsys, "--lake", str(lake), "--to", (LAST_DAY - timedelta(days=85)).date().isoformat())

    assert {stage: value["customers"] for stage, value in earlier["clv"]["by_stage"].items()} == {
        "at_risk": 1,
        "first_time_customer": 1,
    }
