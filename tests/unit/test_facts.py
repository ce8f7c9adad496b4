"""Analytics facts: their records as Firehose reads them, and the stream that puts them (docs/analytics.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from omnijourney.analytics import facts, stream
from omnijourney.analytics.facts import Fact, FactKind
from omnijourney.analytics.stream import MAX_BYTES, MAX_RECORDS, FactsNotPut, FactStream, batches
from omnijourney.events import CanonicalEvent, Channel, EventType, Order, event_digest
from omnijourney.platform.settings import get_settings

AT = datetime(2026, 3, 4, 10, 30, 45, 123000, tzinfo=UTC)
RECIPIENT = "lena.fischer@example.com"


def bounce() -> CanonicalEvent:
    return CanonicalEvent(
        event_id=f"ses:0100018e-mail:Bounce:{RECIPIENT}:2026-03-04T10:30:45.123Z",
        source="ses",
        type=EventType.message_bounced,
        name="Bounce",
        channel=Channel.email,
        occurred_at=AT,
        received_at=AT,
    )


def pos_order() -> CanonicalEvent:
    order = Order(order_id="5820009876543", total=Decimal("129.95"), currency="EUR", items=({"sku": "SHOE-TRAIL-42"},))
    return bounce().model_copy(
        update={
            "event_id": "shopify:orders/create:5820009876543",
            "source": "shopify",
            "type": EventType.order_completed,
            "channel": Channel.pos,
            "order": order,
        }
    )


def test_a_record_is_one_json_line_with_millis_exact_amounts_partition_keys_and_no_nulls() -> None:
    record = facts.order_fact(pos_order(), "cus_1").record()
    assert record.endswith(b"\n")
    assert record.count(b"\n") == 1
    data = json.loads(record, parse_float=Decimal)
    assert data["occurred_at"] == 1772620245123
    assert data["amount"] == Decimal("129.95")
    assert (data["kind"], data["day"], data["skus"], data["order_state"]) == (
        "order",
        "2026-03-04",
        ["SHOE-TRAIL-42"],
        "placed",
    )
    assert None not in data.values()
    assert "refund_id" not in data


def test_a_fact_built_twice_has_one_id_and_another_fact_another() -> None:
    assert (
        facts.event_fact(bounce(), "cus_1", known=True).fact_id
        == facts.event_fact(bounce(), "cus_2", known=False).fact_id
    )
    assert (
        facts.event_fact(bounce(), "cus_1", known=True).fact_id
        != facts.event_fact(pos_order(), "cus_1", known=True).fact_id
    )
    [email, sms] = [facts.consent_fact(bounce(), "cus_1", channel, "unsubscribed") for channel in ("email", "sms")]
    assert email.fact_id != sms.fact_id


def test_an_event_id_carrying_a_recipient_reaches_no_fact_only_that_the_customer_is_known() -> None:
    event_fact = facts.event_fact(bounce(), "cus_1", known=True)
    assert RECIPIENT.encode() not in event_fact.record()
    data = json.loads(event_fact.record())
    assert (data["event_id"], data["known"]) == (event_digest(bounce().event_id), True)


def test_an_issued_offer_says_when_it_expires() -> None:
    expires_at = datetime(2026, 3, 11, 10, 30, 45, 123000, tzinfo=UTC)
    record = facts.offer_issued_fact("cus_1", "SPRING-6298C38AAD89", ["SHOE-TRAIL-42"], AT, expires_at).record()
    data = json.loads(record)
    assert (data["offer_code"], data["occurred_at"], data["expires_at"]) == (
        "SPRING-6298C38AAD89",
        1772620245123,
        1772620245123 + 7 * 24 * 3600 * 1000,
    )


def test_a_fact_refuses_a_column_the_table_does_not_have() -> None:
    with pytest.raises(ValueError, match="email"):
        Fact(FactKind.event, AT, "cus_1", ("x",), {"email": RECIPIENT})


class FakeFirehose:
    """Refuses the records it is told to, once each, as Firehose reports them in RequestResponses."""

    def __init__(self, refuse: set[int] | None = None, always: bool = False) -> None:
        self.calls: list[list[bytes]] = []
        self.refuse = refuse or set()
        self.always = always

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        records = [record["Data"] for record in Records]
        first = not self.calls
        self.calls.append(records)
        refused = [self.always or (first and index in self.refuse) for index in range(len(records))]
        responses = [{"ErrorCode": "ServiceUnavailableException"} if no else {"RecordId": "r"} for no in refused]
        return {"FailedPutCount": sum(refused), "RequestResponses": responses}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream.time, "sleep", lambda _: None)


def erasures(count: int) -> list[Fact]:
    return [facts.erasure_fact(f"cus_{n}", AT) for n in range(count)]


def test_only_the_records_firehose_refused_are_put_again() -> None:
    firehose = FakeFirehose(refuse={1, 3})
    sent = erasures(4)
    FactStream("facts", firehose).put(sent)
    assert firehose.calls == [[fact.record() for fact in sent], [sent[1].record(), sent[3].record()]]


def test_records_firehose_keeps_refusing_fail_the_unit_of_work() -> None:
    firehose = FakeFirehose(always=True)
    with pytest.raises(FactsNotPut, match="2 analytics fact"):
        FactStream("facts", firehose).put(erasures(2))
    assert len(firehose.calls) == stream.ATTEMPTS


def test_batches_stay_within_put_record_batch_limits() -> None:
    many = [b"x\n"] * (MAX_RECORDS + 1)
    assert [len(batch) for batch in batches(many)] == [MAX_RECORDS, 1]
    big = [b"y" * (MAX_BYTES // 3)] * 4
    assert [len(batch) for batch in batches(big)] == [3, 1]


def test_without_a_stream_configured_nothing_is_collected_nor_put(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNIJOURNEY_FACTS_STREAM", raising=False)
    get_settings.cache_clear()
    stream.emit(*erasures(2))
    firehose = FakeFirehose()
    monkeypatch.setenv("OMNIJOURNEY_FACTS_STREAM", "facts")
    get_settings.cache_clear()
    monkeypatch.setattr("omnijourney.platform.aws.client", lambda service: firehose)
    try:
        stream.flush()
        stream.emit(*erasures(1))
        stream.flush()
    finally:
        get_settings.cache_clear()
    assert firehose.calls == [[erasures(1)[0].record()]]
