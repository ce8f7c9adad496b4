"""Analytics facts a fault used to lose (docs/analytics.md, "How facts are written"): each is in the lake once the
retry AWS makes is done, under the id the fault-free path gives it, so the metrics count it once."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from omnijourney.analytics import stream
from omnijourney.analytics.facts import Fact, FactKind
from omnijourney.analytics.stream import FactsNotPut
from omnijourney.platform import aws
from omnijourney.profiles import store
from omnijourney.runtime import ledger, ledger_records, runs
from omnijourney.runtime.ledger_records import LedgerStatus
from omnijourney_tools.lake import records_in
from omnijourney_tools.local import LocalBackend
from tests.conftest import RECEIVED_AT, delivery, signed
from tests.integration.conftest import Harness
from tests.integration.test_reconcile import claimed, ses_publishes
from tests.integration.test_retried_journey_work import FailingOnce, throttled

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
EMAIL = "lena.fischer@example.com"
# scenarios/holdout_measures_lift.jsonl's fifth customer, whom post_purchase's split draws into the holdout group.
HOLDOUT_ORDER = {
    "id": 5830010000051,
    "name": "#H005-1",
    "email": "holdout005@example.com",
    "created_at": "2026-03-03T10:00:00Z",
    "currency": "EUR",
    "total_price": "129.95",
    "financial_status": "paid",
    "source_name": "web",
    "customer": {"id": 7400000000005, "email": "holdout005@example.com"},
    "line_items": [
        {"id": 58300100000510, "sku": "SHOE-TRAIL-42", "title": "SHOE-TRAIL-42", "quantity": 1, "price": "129.95"}
    ],
}


def facts_of(backend: LocalBackend, kind: FactKind, **columns: Any) -> list[dict[str, Any]]:
    """The lake's rows of `kind` with these column values, as delivered (a fact put twice is two rows, one id)."""
    rows = [record for record in records_in(backend.fact_records()) if record["kind"] == kind.value]
    return [row for row in rows if all(row.get(name) == value for name, value in columns.items())]


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class PutLostOnce:
    """`stream.flush` of the profile function (which runs on the main thread; journey Tasks run on moto's) failing
    once as when Firehose kept refusing and the retry ran in another container: what that unit collected is gone."""

    def __init__(self) -> None:
        self.flush = stream.flush
        self.lost = 0

    def __call__(self) -> None:
        if threading.current_thread() is threading.main_thread() and not self.lost:
            self.lost += 1
            stream.discard()
            raise FactsNotPut("analytics fact(s) refused by Firehose 5 times")
        self.flush()


def test_an_erasure_whose_delete_failed_is_in_the_lake_only_once_the_retry_erased_the_customer(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert harness.deliver(signed(delivery("shopify", "customers_create")))[0] == 202
    _, view = harness.lookup(email=EMAIL)
    customer_id = view["customer_id"]
    erase = FailingOnce(store.erase, throttled("BatchWriteItem"))
    monkeypatch.setattr(store, "erase", erase)

    with pytest.raises(ClientError):
        harness.erase(customer_id)
    assert harness.lookup(email=EMAIL)[0] == 200
    assert facts_of(harness.backend, FactKind.erasure) == []  # the lake does not say erased while she is there

    assert harness.erase(customer_id)[0] == 200  # the caller asks again

    assert harness.lookup(email=EMAIL)[0] == 404
    erased = facts_of(harness.backend, FactKind.erasure, customer_id=customer_id)
    assert len({row["fact_id"] for row in erased}) == 1


def test_an_erasure_whose_fact_was_refused_puts_it_when_asked_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert harness.deliver(signed(delivery("shopify", "customers_create")))[0] == 202
    _, view = harness.lookup(email=EMAIL)
    firehose = aws.client("firehose")
    put = firehose.put_record_batch
    refused: list[int] = []

    def refusing(**request: Any) -> Any:
        if len(refused) < stream.ATTEMPTS:  # every attempt of the erasure's put
            refused.append(len(request["Records"]))
            answers = [{"ErrorCode": "ServiceUnavailableException"} for _ in request["Records"]]
            return {"FailedPutCount": len(answers), "RequestResponses": answers}
        return put(**request)

    monkeypatch.setattr(firehose, "put_record_batch", refusing)

    assert harness.erase(view["customer_id"])[0] == 503
    assert facts_of(harness.backend, FactKind.erasure) == []
    assert harness.erase(view["customer_id"])[0] == 404  # erased already: the retry puts what the first collected

    erased = facts_of(harness.backend, FactKind.erasure, customer_id=view["customer_id"])
    assert len({row["fact_id"] for row in erased}) == 1


def test_a_send_ses_confirms_is_in_the_lake_as_sent_under_the_id_of_a_send_the_function_marked(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function died between SES taking the welcome email and the ledger: the entry stays `pending`, and no
    `message` fact was put. SES's Send record confirms it and puts the fact; that put is lost, and the record,
    delivered again, finds the entry confirmed and puts it again."""
    pending = claimed()
    flush = PutLostOnce()
    monkeypatch.setattr(stream, "flush", flush)

    ses_publishes(harness, "send")

    assert flush.lost == 1
    assert ledger_records.get(pending.customer_id, pending.message_key).status == LedgerStatus.sent
    # The id the function's own mark would have given it (docs/analytics.md: customer, entry key, status).
    marked = Fact(FactKind.message, pending.at, pending.customer_id, (pending.customer_id, pending.message_key, "sent"))
    sent = facts_of(harness.backend, FactKind.message, execution=pending.message_key.split("#", 1)[0])
    assert {(row["status"], row["step"], row["fact_id"]) for row in sent} == {("sent", "welcome", marked.fact_id)}


def test_an_offer_issued_by_a_task_that_failed_before_its_ledger_entry_is_in_the_lake(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cart email's Task issued the spring offer on the profile, then its ledger entry was throttled. The retried
    Task presents the live offer, issued seconds earlier, and puts its `offer_issued` fact with its issue time."""
    assert harness.deliver(signed(delivery("shopify", "customers_create")))[0] == 202
    assert harness.deliver(signed(delivery("shopify", "checkouts_create")))[0] == 202
    claim = FailingOnce(
        ledger.claim,
        PutError("Failed to put item", cause=throttled("PutItem")),
        when=lambda record, **_: record.step == "cart_email",
    )
    monkeypatch.setattr(ledger, "claim", claim)

    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))  # the cart email, retried by Step Functions

    assert len(claim.calls) == 2
    [offer] = harness.lookup(email=EMAIL)[1]["offers"]
    issued = facts_of(harness.backend, FactKind.offer_issued, offer_code=offer["code"])
    assert len({row["fact_id"] for row in issued}) == 1
    assert {row["occurred_at"] for row in issued} == {millis(datetime.fromisoformat(offer["issued_at"]))}
    [cart_email] = [entry for entry in ledger_records.every_entry() if entry.step == "cart_email"]
    assert cart_email.at > datetime.fromisoformat(offer["issued_at"])  # the entry is the retry's


def test_a_holdout_run_that_ended_before_its_event_was_delivered_again_has_its_run_started_fact(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order starts post_purchase; the event's facts are refused, and the record waits to be received again.
    Meanwhile the run reaches its split and ends in the holdout group. The redelivered order starts nothing, and
    puts the run's `run_started` fact (the lift counts holdout runs from it), as of the run's start."""
    flush = PutLostOnce()
    monkeypatch.setattr(stream, "flush", flush)
    order = signed(delivery("shopify", "orders_create", body=json.dumps(HOLDOUT_ORDER).encode()))
    assert harness.post(order)[0] == 202
    with pytest.raises(RuntimeError, match="did not drain"):
        harness.backend.drain(max_rounds=1)
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(days=10))
    [run] = runs.every_run()
    assert (run.journey, run.outcome) == ("post_purchase", "holdout")

    harness.backend.drain()

    assert flush.lost == 1
    started = facts_of(harness.backend, FactKind.run_started, execution=run.execution)
    assert [(row["run_group"], row["occurred_at"]) for row in started] == [("holdout", millis(run.started_at))]
    assert len(list(runs.every_run())) == 1
