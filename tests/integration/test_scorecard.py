"""The scorecard from a small lake written here as docs/analytics.md lays it out: the figures a marketer reads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omnijourney_tools import lake as lake_files
from omnijourney_tools.cli import main
from omnijourney_tools.scorecard.definitions import Scope
from omnijourney_tools.scorecard.engine import DuckDbLake
from omnijourney_tools.scorecard.scorecard import Scorecard, scorecard

BERLIN = Scope(quiet_start="21:00", quiet_end="09:00", quiet_channels=("sms", "push"), default_timezone="Europe/Berlin")


def write_lake(lake: Path, facts: list[dict[str, Any]]) -> Path:
    """The facts as `simulate --lake` writes them: Parquet under lake/facts/kind=<kind>/day=<day>/."""
    lake_files.write(lake, [fact | {"day": fact["occurred_at"].date().isoformat()} for fact in facts])
    return lake


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def event(fact_id: str, when: datetime, customer: str, event_type: str, channel: str, **more: Any) -> dict[str, Any]:
    return {
        "fact_id": fact_id,
        "kind": "event",
        "occurred_at": when,
        "customer_id": customer,
        "event_id": fact_id,
        "event_type": event_type,
        "channel": channel,
        "source": "segment",
        **more,
    }


def order(
    fact_id: str,
    when: datetime,
    customer: str,
    order_id: str,
    total: str,
    skus: list[str],
    state: str = "placed",
    channel: str = "web",
) -> list[dict[str, Any]]:
    """An order as the functions record it: its event and its order fact."""
    return [
        event(f"{fact_id}-event", when, customer, "order_completed", channel),
        {
            "fact_id": fact_id,
            "kind": "order",
            "occurred_at": when,
            "customer_id": customer,
            "event_id": fact_id,
            "channel": channel,
            "order_id": order_id,
            "order_state": state,
            "amount": Decimal(total),
            "currency": "EUR",
            "skus": skus,
        },
    ]


def message(fact_id: str, when: datetime, customer: str, status: str, **more: Any) -> dict[str, Any]:
    return {
        "fact_id": fact_id,
        "kind": "message",
        "occurred_at": when,
        "customer_id": customer,
        "status": status,
        "journey": "abandoned_cart",
        "step": "cart_email",
        "execution": f"run-{customer}",
        "category": "marketing",
        "channel": "email",
        "skus": [],
        "template": "cart_reminder",
        **more,
    }


def run(fact_id: str, when: datetime, customer: str, kind: str, channel: str | None, **more: Any) -> dict[str, Any]:
    return {
        "fact_id": fact_id,
        "kind": kind,
        "occurred_at": when,
        "customer_id": customer,
        "journey": "abandoned_cart",
        "execution": f"run-{customer}",
        "channel": channel,
        **more,
    }


def shop_month() -> list[dict[str, Any]]:
    """Ana (who came from the app, then merged with her web profile), Ben (a test order and a cancelled one), Cleo
    (erased on day 4, messaged on day 5); their messages and journey runs."""
    refund = {
        "fact_id": "refund-1",
        "kind": "refund",
        "occurred_at": at(3, 9),
        "customer_id": "cust-ana",
        "order_id": "o-1",
        "refund_id": "r-1",
        "amount": Decimal("20"),
        "currency": "EUR",
    }
    return [
        event("e-app", at(1, 9), "cust-ana-app", "identify", "app"),
        *order("o-2", at(1, 9, 30), "cust-ana-app", "o-2", "30.00", ["CARE-KIT"], channel="pos"),
        event("e-web", at(1, 10), "cust-ana", "page_viewed", "web"),
        {
            "fact_id": "merge-1",
            "kind": "merge",
            "occurred_at": at(1, 11),
            "customer_id": "cust-ana",
            "merged_id": "cust-ana-app",
        },
        *order("o-1", at(2, 10), "cust-ana", "o-1", "120.00", ["SHOE-TRAIL-42"]),
        refund,
        refund,  # delivered twice: counted once
        event("e-ben", at(2, 8), "cust-ben", "page_viewed", "web"),
        *order("o-3", at(2, 9), "cust-ben", "o-3", "50.00", ["SOCKS"], state="test"),
        *order("o-4", at(2, 10), "cust-ben", "o-4", "80.00", ["SHOE-ROAD-40"]),
        event("e-ben-cancel", at(3, 8), "cust-ben", "order_cancelled", "web"),
        {
            "fact_id": "o-4-cancelled",
            "kind": "order",
            "occurred_at": at(3, 8),
            "customer_id": "cust-ben",
            "order_id": "o-4",
            "order_state": "cancelled",
            "amount": Decimal("80.00"),
            "currency": "EUR",
            "skus": ["SHOE-ROAD-40"],
            "channel": "web",
        },
        event("e-cleo", at(1, 12), "cust-cleo", "message_received", "sms"),
        *order("o-5", at(1, 13), "cust-cleo", "o-5", "40.00", ["SHOE-TRAIL-43"]),
        {"fact_id": "erasure-1", "kind": "erasure", "occurred_at": at(4, 9), "customer_id": "cust-cleo"},
        run("ana-start", at(1, 10), "cust-ana", "run_started", "web", run_group="treatment"),
        run("ana-end", at(2, 10), "cust-ana", "run_ended", "pos", outcome="goal", transitions=7),
        run("ben-start", at(2, 8), "cust-ben", "run_started", "web", run_group="treatment"),
        run("ben-end", at(2, 10), "cust-ben", "run_ended", "web", outcome="goal", transitions=5),
        run("cleo-start", at(1, 12), "cust-cleo", "run_started", "sms", run_group="holdout"),
        run("cleo-end", at(4, 9), "cust-cleo", "run_ended", None, outcome="stopped", transitions=3),
        message("m-shoe", at(3, 12), "cust-ana", "sent", skus=["SHOE-TRAIL-42"]),
        message(
            "m-night-sms", at(2, 21, 30), "cust-ben", "sent", channel="sms", step="cart_sms", timezone="Europe/Berlin"
        ),
        message("m-day-sms", at(2, 10), "cust-ben", "sent", channel="sms", step="cart_sms", execution="run-ben-2"),
        message("m-stop", at(2, 11), "cust-ben", "suppressed", channel="sms", step="cart_sms", reason="opted_out"),
        message("m-cap", at(3, 11), "cust-ben", "suppressed", reason="frequency_cap", execution="run-ben-3"),
        message("m-wait", at(2, 22), "cust-ana", "deferred", channel="sms", step="cart_sms", reason="quiet_hours"),
        message("m-morning", at(3, 8), "cust-ana", "sent", channel="sms", step="cart_sms"),
        message("m-erased", at(5, 9), "cust-cleo", "sent", category="transactional"),
        message("m-winback", at(3, 10), "cust-ben", "sent", journey="win_back", step="come_back", channel="push"),
        # Ben says stop to email, opens a ticket and has it solved; the messages each break one rule.
        {
            "fact_id": "consent-ben",
            "kind": "consent",
            "occurred_at": at(2, 12),
            "customer_id": "cust-ben",
            "channel": "email",
            "status": "unsubscribed",
        },
        message("m-after-stop", at(2, 13), "cust-ben", "sent", execution="run-ben-4"),
        message("m-twice", at(2, 10, 5), "cust-ben", "sent", channel="sms", step="cart_sms", execution="run-ben-2"),
        event("e-ticket-open", at(3, 7), "cust-ben", "ticket_opened", "support"),
        message("m-during-ticket", at(3, 7, 30), "cust-ben", "sent", channel="in_store", step="store_note"),
        event("e-ticket-solved", at(3, 9), "cust-ben", "ticket_solved", "support"),
        message(
            "m-uncovered",
            at(4, 10),
            "cust-ben",
            "sent",
            channel="in_store",
            step="store_note",
            execution="run-ben-5",
            skus=["SOCKS"],
            offer_code="GLOVES-1",
            offer_skus=["GLOVES"],
        ),
        # Ana is shown two codes for one product while the first is still live.
        message(
            "m-offer-1",
            at(4, 10),
            "cust-ana",
            "sent",
            skus=["SHOE-TRAIL-43"],
            offer_code="SPRING-1",
            offer_skus=["SHOE-TRAIL-43"],
            execution="run-ana-2",
        ),
        message(
            "m-offer-2",
            at(4, 11),
            "cust-ana",
            "sent",
            skus=["SHOE-TRAIL-43"],
            offer_code="SPRING-2",
            offer_skus=["SHOE-TRAIL-43"],
            execution="run-ana-3",
        ),
    ]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lake(tmp_path_factory.mktemp("lake"), shop_month())


@pytest.fixture(scope="module")
def card(lake: Path) -> Scorecard:
    return scorecard(DuckDbLake(lake), BERLIN, step_order={"abandoned_cart": ["cart_sms", "cart_email"]})


def test_scorecard_counts_each_fact_once_under_the_surviving_customer(card: Scorecard) -> None:
    assert (card.customers, card.events, card.orders) == (2, 10, 4)
    assert card.revenue == 130.0  # 120 - 20 refunded (once) + 30 in store; test and cancelled orders earn nothing
    assert card.clv.average == 65.0
    assert card.clv.by_customer == {"cust-ana": 130.0, "cust-ben": 0.0}
    assert {channel: value.customers for channel, value in card.clv.by_first_channel.items()} == {"app": 1, "web": 1}


def test_audit_finds_each_rule_a_sent_message_broke(card: Scorecard) -> None:
    assert [(v.at, v.customer_id, v.rule) for v in card.consistency_violations] == [
        ("2025-03-02T10:05:00+00:00", "cust-ben", "sent_twice"),
        ("2025-03-02T13:00:00+00:00", "cust-ben", "after_opt_out"),
        ("2025-03-02T21:30:00+00:00", "cust-ben", "in_quiet_hours"),  # 22:30 in Berlin
        ("2025-03-03T07:30:00+00:00", "cust-ben", "during_open_ticket"),
        ("2025-03-03T12:00:00+00:00", "cust-ana", "named_a_product_already_bought"),
        ("2025-03-04T10:00:00+00:00", "cust-ben", "offer_on_uncovered_product"),
        ("2025-03-04T11:00:00+00:00", "cust-ana", "offer_disagreement"),
        ("2025-03-05T09:00:00+00:00", "cust-cleo", "sent_after_erasure"),
    ]
    assert (card.messages_sent, card.consistency_score) == (12, round(1 - 8 / 12, 4))
    assert (card.messages_suppressed, card.suppressed_by_reason) == (2, {"frequency_cap": 1, "opted_out": 1})


def test_runs_convert_across_channels_and_their_transitions_are_billed(card: Scorecard) -> None:
    assert card.cross_channel_conversion_rate == 0.3333  # Ana's web cart converted in the store; Ben stayed on the web
    assert (card.state_transitions, card.state_transitions_cost_usd) == (15, 15 * 0.025 / 1000)


def test_funnel_shows_each_journey_step_by_step(card: Scorecard) -> None:
    funnel = card.funnel

    cart = funnel["abandoned_cart"]
    assert cart.entered == {"holdout": 1, "treatment": 2}
    assert [(step.step, step.sent, step.deferred, step.held) for step in cart.steps] == [
        ("cart_sms", 4, 1, {"opted_out": 1}),
        ("cart_email", 5, 0, {"frequency_cap": 1}),
        ("store_note", 2, 0, {}),
    ]
    assert cart.ended == {"goal": 2, "stopped": 1}
    assert [(step.step, step.sent) for step in funnel["win_back"].steps] == [("come_back", 1)]


def metrics_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> dict[str, Any]:
    assert main(["metrics", *arguments, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_a_range_of_days_counts_what_happened_in_it(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    day_one = metrics_json(capsys, "--lake", str(lake), "--from", "2025-03-01", "--to", "2025-03-01")

    # Ana's in-store order and Cleo's web order that day; nothing was sent yet. Cleo was erased on day 4, after the
    # range: day one's figures stay what they were before her erasure.
    assert (day_one["customers"], day_one["orders"], day_one["revenue"]) == (2, 2, 70.0)
    assert (day_one["messages_sent"], day_one["consistency_score"]) == (0, 1.0)


def test_one_journey_s_figures(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    winback = metrics_json(capsys, "--lake", str(lake), "--journey", "win_back")
    cart = metrics_json(capsys, "--lake", str(lake), "--journey", "abandoned_cart")

    assert (winback["messages_sent"], cart["messages_sent"]) == (1, 11)
    assert list(cart["funnel"]) == ["abandoned_cart"]
    assert cart["customers"] == winback["customers"] == 2  # customers and orders stay whole


def test_scorecard_in_words_for_a_marketer(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "--lake", str(lake)]) == 0

    words = capsys.readouterr().out
    assert "Customers: 2, with 10 events and 4 orders; revenue 130.00." in words
    assert "Lifetime value: 65.00 per customer on average." in words
    assert "Consistency score: 0.33: 8 violations among the messages sent" in words
    assert "  in_quiet_hours at 2025-03-02T21:30:00+00:00 for cust-ben" in words
    assert "Messages: 12 sent, 2 held back by the guards (1× frequency_cap, 1× opted_out)." in words


def test_what_cannot_be_asked_is_refused_in_words(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["metrics", "--lake", str(lake), "--journey", "black_friday"]) == 2
    assert "no journey is named 'black_friday'" in capsys.readouterr().err
    assert main(["metrics", "--lake", str(lake), "--from", "2025-03-02", "--to", "2025-03-01"]) == 2
    assert "--from 2025-03-02 is after --to 2025-03-01" in capsys.readouterr().err
    assert main(["metrics", "--lake", str(tmp_path)]) == 2
    assert "holds no facts" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["metrics", "--lake", str(lake), "--from", "1st of March"])
    assert "'1st of March' is not a day written YYYY-MM-DD" in capsys.readouterr().err


def merge(survivor: str, merged: str, when: datetime) -> dict[str, Any]:
    """A merge fact: its id is the pair's, so a replayed merge is the same fact whenever it says it happened."""
    return {
        "fact_id": f"merge-{survivor}-{merged}",
        "kind": "merge",
        "occurred_at": when,
        "customer_id": survivor,
        "merged_id": merged,
    }


def three_profiles() -> list[dict[str, Any]]:
    """Ava, Bo and Cy, three profiles of one person; the order is Ava's."""
    return [
        event("e-cy", at(2, 7), "cust-cy", "identify", "app"),
        event("e-bo", at(2, 8), "cust-bo", "identify", "web"),
        event("e-ava", at(2, 8), "cust-ava", "identify", "web"),
        *order("o-ava", at(2, 9), "cust-ava", "o-ava", "100.00", ["SHOE-TRAIL-42"]),
    ]


@pytest.mark.parametrize(
    "merges",
    [
        # The later merge recorded first: Ava into Bo at 11:00, then (a late event of 10:00) Bo, holding Ava, into Cy.
        [merge("cust-bo", "cust-ava", at(2, 11)), merge("cust-cy", "cust-bo", at(2, 10)),
         merge("cust-cy", "cust-ava", at(2, 10))],
        # In order, then Cy's first event replayed: its merges are put again with that event's time, 07:00.
        [merge("cust-bo", "cust-ava", at(2, 10)), merge("cust-cy", "cust-bo", at(2, 12)),
         merge("cust-cy", "cust-ava", at(2, 12)), merge("cust-cy", "cust-bo", at(2, 7)),
         merge("cust-cy", "cust-ava", at(2, 7))],
    ],
    ids=["merged_out_of_order", "merges_replayed"],
)  # fmt: skip
def test_merged_ids_count_as_the_end_of_their_merge_chain_whatever_the_merges_times(
    tmp_path: Path, merges: list[dict[str, Any]]
) -> None:
    card = scorecard(DuckDbLake(write_lake(tmp_path, three_profiles() + merges)), BERLIN)

    assert (card.customers, card.events) == (1, 4)
    assert card.clv.by_customer == {"cust-cy": 100.0}


def test_an_erasure_after_the_range_changes_none_of_its_figures(tmp_path: Path) -> None:
    march = Scope(**{**BERLIN.__dict__, "first_day": date(2025, 3, 1), "last_day": date(2025, 3, 31)})
    before = scorecard(DuckDbLake(write_lake(tmp_path / "before", shop_month())), march)
    erased_in_april = {"fact_id": "erasure-2", "kind": "erasure", "occurred_at": at(1, 9) + timedelta(days=40)}
    after = scorecard(
        DuckDbLake(write_lake(tmp_path / "after", [*shop_month(), erased_in_april | {"customer_id": "cust-ana"}])),
        march,
    )

    assert (after.customers, after.orders, after.revenue, after.clv) == (
        before.customers,
        before.orders,
        before.revenue,
        before.clv,
    )
    assert after.customers == 2  # Ana and Ben; Cleo was erased in March
    # An open-ended scorecard counts the live profiles: Ana no more.
    assert scorecard(DuckDbLake(tmp_path / "after"), BERLIN).clv.by_customer == {"cust-ben": 0.0}
