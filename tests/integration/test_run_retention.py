"""Journey runs do not stay for ever: an ended run expires RUN_RETENTION_DAYS after its end (DynamoDB's TTL deletes
it; moto does not, so the tests read the attribute and the table's TTL setting)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnijourney.app.storage import TTL_ATTRIBUTES
from omnijourney.journeys.contract import Entry
from omnijourney.platform.aws import client
from omnijourney.platform.settings import get_settings
from omnijourney.runtime import runs
from tests.integration.conftest import Harness

STARTED = datetime(2026, 3, 2, 18, 8, tzinfo=UTC)
ENDED = datetime(2026, 3, 9, 18, 8, tzinfo=UTC)


def started_run() -> runs.JourneyRunRecord:
    entry = Entry(event_id="segment:m-1", type="cart_updated", channel="web", source="segment", at=STARTED)
    return runs.start("cus_lena", "abandoned_cart", "abandoned_cart-lena-1", STARTED, entry)


def stored(run: runs.JourneyRunRecord) -> runs.JourneyRunRecord:
    found = runs.get(run.customer_id, run.journey, run.execution)
    assert found is not None
    return found


def test_a_running_run_never_expires(harness: Harness) -> None:
    assert stored(started_run()).expires_at is None


def test_an_ended_run_expires_its_retention_after_its_end_and_a_later_end_changes_nothing(harness: Harness) -> None:
    run = started_run()

    assert runs.end(run, runs.RunOutcome.goal, ENDED)
    assert not runs.end(stored(run), runs.RunOutcome.stopped, ENDED + timedelta(days=30))

    assert stored(run).expires_at == ENDED + timedelta(days=runs.RUN_RETENTION_DAYS)


def test_the_runs_table_expires_items_by_that_attribute(harness: Harness) -> None:
    ttl = client("dynamodb").describe_time_to_live(TableName=get_settings().journey_runs_table)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": runs.JourneyRunRecord.expires_at.attr_name,
    }
    assert TTL_ATTRIBUTES["journey_runs_table"] == runs.JourneyRunRecord.expires_at.attr_name
