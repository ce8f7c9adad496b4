"""Shared segments through the real handlers on moto: a segment entry starts a journey, the daily evaluation runs
once per local day, the history keeps what segments test and erasure takes it; and the two journeys built on
segments, birthday and browse abandonment, in their scenarios."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.events import EventType
from omnijourney.profiles import store
from omnijourney.profiles.service import record_event
from omnijourney.runtime import runs as journey_runs
from omnijourney.runtime import triggers
from omnijourney.runtime.segments import history_properties, with_segments
from tests.conftest import RECEIVED_AT, ROOT, delivery, sample, signed
from tests.integration.conftest import Harness
from tests.integration.test_scenarios import scenario_report

SCENARIOS = ROOT / "scenarios"


def segment_post(case: str, **changes: Any) -> Delivery:
    return signed(delivery("segment", case, body=json.dumps(sample("segment", case) | changes).encode()))


def viewed_twice(harness: Harness) -> str:
    """Lena identifies in the app, then views the trail runner yesterday and today (Berlin): browsed, not bought."""
    harness.deliver(segment_post("identify_app"))
    for n, at in enumerate((RECEIVED_AT - timedelta(days=1), RECEIVED_AT - timedelta(minutes=5))):
        stamp = at.isoformat().replace("+00:00", "Z")
        harness.deliver(segment_post("product_viewed", messageId=f"view-{n}", timestamp=stamp, sentAt=stamp))
    status, view = harness.lookup(email="lena.fischer@example.com")
    assert status == 200
    return str(view["customer_id"])


def test_entering_a_segment_starts_the_journey_on_it(harness: Harness) -> None:
    customer_id = viewed_twice(harness)
    _, view = harness.profile(customer_id)
    assert view["segments"] == ["browsed_not_bought"]
    (run,) = [run for run in journey_runs.of_customers([customer_id]) if run.journey == "browse_abandonment"]
    assert run.running
    # The second view put her in: the run's entry is that event, so a redelivery starts nothing new.
    harness.deliver(segment_post("product_viewed", messageId="view-1"))
    assert len([run for run in journey_runs.of_customers([customer_id]) if run.journey == "browse_abandonment"]) == 1


def test_time_moves_a_customer_only_on_the_day_their_segments_are_due(harness: Harness) -> None:
    customer_id = viewed_twice(harness)
    backend = harness.backend
    viewed = store.load(customer_id)
    assert viewed is not None
    # Her first view (3 March in Berlin) leaves the 3-day window on 6 March: nothing to do before.
    assert viewed.profile.segments_due == datetime(2026, 3, 6).date()
    backend.call_function("journey_schedule", {"segments": "daily"})
    again = store.load(customer_id)
    assert again is not None
    assert again.version == viewed.version  # not due: nothing read or written
    # Three days on, after midnight in Berlin, the views are out of the window: she leaves the segment.
    backend.clock.advance_to(datetime(2026, 3, 6, 23, 30, tzinfo=UTC))
    backend.call_function("journey_schedule", {"segments": "daily"})
    later = store.load(customer_id)
    assert later is not None
    assert later.profile.segments == {}
    assert later.profile.segments_due is None  # nothing left that time alone can change


def test_a_birthday_entry_survives_a_failed_hourly_run(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    traits = sample("segment", "identify_app")["traits"] | {"birthday": "1990-03-05"}
    harness.deliver(segment_post("identify_app", traits=traits))
    _, view = harness.lookup(email="lena.fischer@example.com")
    customer_id = str(view["customer_id"])
    backend = harness.backend
    backend.clock.advance_to(datetime(2026, 3, 4, 23, 30, tzinfo=UTC))  # 00:30 on 5 March in Berlin

    def throttled(*_: Any, **__: Any) -> None:
        raise RuntimeError("StartExecution throttled")

    with monkeypatch.context() as patched:
        patched.setattr(triggers, "_start", throttled)
        with pytest.raises(RuntimeError):
            backend.call_function("journey_schedule", {"segments": "daily"})
    backend.call_function("journey_schedule", {"segments": "daily"})  # the next hour
    (run,) = [run for run in journey_runs.of_customers([customer_id]) if run.journey == "birthday"]
    assert run.running


def test_two_views_processed_at_once_are_counted_together(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    harness.deliver(segment_post("identify_app"))
    views = []
    for n, at in enumerate((RECEIVED_AT - timedelta(minutes=6), RECEIVED_AT - timedelta(minutes=5))):
        stamp = at.isoformat().replace("+00:00", "Z")
        (event,) = get_source("segment").parse(
            segment_post("product_viewed", messageId=f"view-{n}", timestamp=stamp, sentAt=stamp)
        )
        views.append(event)
    first, second = views
    save = store.save
    interleaved: list[str] = []

    def second_view_meanwhile(record: store.ProfileRecord, profile: Any, keys: list[str]) -> None:
        # The second view is processed in full right after the first one's profile write, before it returns.
        save(record, profile, keys)
        if not interleaved:
            interleaved.append(second.event_id)
            interleaved.append(str(record_event(second, with_segments, history_properties(second)).customer_id))

    monkeypatch.setattr(store, "save", second_view_meanwhile)
    record_event(first, with_segments, history_properties(first))
    stored = store.load(interleaved[1])
    assert stored is not None
    assert set(stored.profile.segments) == {"browsed_not_bought"}


def test_history_keeps_only_the_named_properties_and_erasure_takes_them(harness: Harness) -> None:
    customer_id = viewed_twice(harness)
    (event,) = get_source("segment").parse(delivery("segment", "product_viewed"))
    store.append_history(customer_id, event, keep_properties={"category", "not_sent"})
    kept = [entry for entry in store.history([customer_id]) if entry.event_id == event.event_id]
    assert [entry.kept_properties for entry in kept] == [{"category": "Running Shoes"}]
    assert all(entry.event_type == EventType.product_viewed.value for entry in kept)
    status, _ = harness.erase(customer_id)
    assert status == 200
    assert store.history([customer_id]) == []


@pytest.fixture(scope="module")
def birthday(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario_report(tmp_path_factory, "birthday")


@pytest.fixture(scope="module")
def browsing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scenario_report(tmp_path_factory, "browse_abandonment")


def test_birthday_emails_go_at_nine_on_the_day_where_each_customer_lives(birthday: dict[str, Any]) -> None:
    sent = {message["to"]: message["at"] for message in birthday["messages"] if message["status"] == "sent"}
    assert sent == {
        "aroha.ngata@example.com": "2026-03-14T20:00:00+00:00",  # 09:00 on the 15th in Auckland (NZDT)
        "sam.rivera@example.com": "2026-03-15T16:00:00+00:00",  # 09:00 on the 15th in Los Angeles (PDT)
        # Signed up at noon on his birthday in Berlin: wished at once, not at nine the day after.
        "jonas.weber@example.com": "2026-03-15T11:00:02+00:00",
    }


def test_no_birthday_message_the_day_before_nor_without_a_channel_that_may_be_used(birthday: dict[str, Any]) -> None:
    assert "noor.haddad@example.com" not in {message["to"] for message in birthday["messages"]}
    # Tom has a phone but no SMS opt-in: reachable by neither channel, the journey ends with nothing sent or held.
    paths = sorted(run["path"] for run in birthday["journeys"] if run["journey"] == "birthday")
    assert ["wait_for_the_morning", "which_channel", "done"] in paths
    assert not [message for message in birthday["messages"] if message["status"] == "suppressed"]


def test_browse_abandonment_reminds_the_one_who_viewed_twice_and_added_nothing(browsing: dict[str, Any]) -> None:
    (message,) = browsing["messages"]
    assert (message["to"], message["status"], message["at"]) == (
        "lena.vogel@example.com",
        "sent",
        "2026-03-10T20:30:01+00:00",  # two hours after her second view
    )
    (run,) = browsing["journeys"]
    assert run["path"] == ["give_them_two_hours", "reminder_email"]
    # In the segment after the second view; out of it once three days pass without one.
    lookups = {entry["line"]: entry["profile"]["segments"] for entry in browsing["lookups"]}
    assert lookups[11] == ["browsed_not_bought"]
    assert lookups[17] == []
