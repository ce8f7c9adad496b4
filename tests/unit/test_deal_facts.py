"""The `deal` facts (docs/analytics.md): what HubSpot deal events told of the deal's value, one fact per property on
each customer's copy of the deal, and nothing of its name or any other free text."""

from __future__ import annotations

import json
from decimal import Decimal

from omnijourney.analytics import facts
from omnijourney.edge.sources import get_source
from omnijourney.events import CanonicalEvent
from omnijourney.profiles.model import digest, stamp_of
from tests.conftest import delivery


def deal_events() -> list[CanonicalEvent]:
    """events/hubspot/deal_property_change.json: deal 9101's name, amount, currency, owner, close date and stage."""
    return get_source("hubspot").parse(delivery("hubspot", "deal_property_change"))


def deal_facts(event: CanonicalEvent, customer_id: str = "cus_lena") -> list[facts.Fact]:
    """The facts of a copy of the deal that holds what the event told."""
    assert event.deal is not None
    told = [
        facts.DealTelling(name, value, *stamp_of(event.occurred_at, event.event_id))
        for name, value in event.deal.properties.items()
    ]
    return facts.deal_facts(customer_id, event.deal.deal_id, told)


def records(event: CanonicalEvent) -> list[dict[str, object]]:
    return [json.loads(fact.record(), parse_float=Decimal) for fact in deal_facts(event)]


def test_a_deal_event_tells_the_amount_currency_and_stage_and_nothing_else() -> None:
    told = [record for event in deal_events() for record in records(event)]

    assert [(r["deal_property"], r.get("amount"), r.get("currency"), r.get("status")) for r in told] == [
        ("amount", Decimal("1299.00"), None, None),
        ("deal_currency_code", None, "EUR", None),
        ("dealstage", None, None, "closedwon"),
    ]
    assert {(r["kind"], r["deal_id"], r["customer_id"], r["day"]) for r in told} == {
        ("deal", "9101", "cus_lena", "2026-03-04")
    }
    # The deal's name, its owner and its close date are no part of its value: none reaches the lake.
    everything = b"".join(fact.record() for event in deal_events() for fact in deal_facts(event))
    assert b"Trail running kit" not in everything
    assert b"83712" not in everything


def test_a_cleared_amount_is_told_without_a_value() -> None:
    amount = next(event for event in deal_events() if event.deal and "amount" in event.deal.properties)
    assert amount.deal is not None
    cleared = amount.model_copy(update={"deal": amount.deal.model_copy(update={"properties": {"amount": None}})})

    [record] = records(cleared)

    assert record["deal_property"] == "amount"
    assert "amount" not in record


def test_each_telling_is_its_own_fact_per_customer_and_written_again_the_same() -> None:
    [amount, currency, stage] = [fact for event in deal_events() for fact in deal_facts(event)]
    again = [fact for event in deal_events() for fact in deal_facts(event)]
    colleague = [fact for event in deal_events() for fact in deal_facts(event, "cus_colleague")]

    assert len({amount.fact_id, currency.fact_id, stage.fact_id}) == 3
    assert [fact.fact_id for fact in again] == [amount.fact_id, currency.fact_id, stage.fact_id]
    # The colleague's copy of the deal is theirs: the lake keeps both, and the metrics count the deal once.
    assert not {fact.fact_id for fact in colleague} & {amount.fact_id, currency.fact_id, stage.fact_id}
    # The profile's stamp of the event that told it: the lake breaks ties as the profile does.
    assert json.loads(stage.record())["event_id"] == digest(deal_events()[-1].event_id)
