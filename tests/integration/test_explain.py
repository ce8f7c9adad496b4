"""Simulations that explain (issue 16, item 7): the report's `text` of every message, `path` of every run and
`skipped` entries, and the timeline `omnijourney simulate` prints, read as a marketer reads them."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from omnijourney_tools.cli import main
from tests.conftest import EVENTS
from tests.integration.test_scenarios import Report, scenario_report

START = datetime.fromisoformat("2026-03-02T18:00:00+00:00")
LENA = "user-5521"  # identified with an email in the app: in the cart journey's audience
NOBODY_YET = "user-7000"  # never gave an email: not


def _checkout(at: datetime, message_id: str, user_id: str) -> dict[str, Any]:
    body = json.loads((EVENTS / "segment" / "checkout_started.json").read_text())
    stamp = at.isoformat().replace("+00:00", "Z")
    body |= {"messageId": message_id, "userId": user_id, "timestamp": stamp, "sentAt": stamp}
    body |= {"originalTimestamp": stamp, "receivedAt": stamp, "anonymousId": f"anon-{user_id}"}
    body["context"]["traits"] = {"userId": user_id, "anonymousId": f"anon-{user_id}"}
    return {"at": at.isoformat(), "source": "segment", "body": body}


def _identify(at: datetime) -> dict[str, Any]:
    body = json.loads((EVENTS / "segment" / "identify_app.json").read_text())
    stamp = at.isoformat().replace("+00:00", "Z")
    body |= {"timestamp": stamp, "sentAt": stamp, "originalTimestamp": stamp, "receivedAt": stamp}
    return {"at": at.isoformat(), "source": "segment", "body": body}


# Lena checks out twice within an hour (the second finds her run in progress), then again four days later, after
# the run ended (the journey's re_entry rule, 7 days, keeps her out); another shopper, never identified, checks out.
CHECKOUTS_TWICE = [
    _identify(START),
    _checkout(START + timedelta(minutes=5), "checkout-1", LENA),
    _checkout(START + timedelta(minutes=35), "checkout-2", LENA),
    _checkout(START + timedelta(minutes=40), "checkout-3", NOBODY_YET),
    _checkout(START + timedelta(days=4), "checkout-4", LENA),
]
ERASED_AFTER = [
    *CHECKOUTS_TWICE,
    {"at": (START + timedelta(days=5)).isoformat(), "erase": {"email": "lena.fischer@example.com"}},
]


@dataclass(frozen=True)
class Simulated:
    report: str  # the JSON report's text
    printed: str  # what `omnijourney simulate` printed


def _simulate(folder: Path, name: str, lines: list[dict[str, Any]], *options: str) -> Simulated:
    scenario, report = folder / f"{name}.jsonl", folder / f"{name}.json"
    scenario.write_text("".join(json.dumps(line) + "\n" for line in lines))
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert main(["simulate", str(scenario), "--report", str(report), *options]) == 0
    return Simulated(report.read_text(), printed.getvalue())


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Simulated, Simulated]:
    """The checkouts scenario, simulated twice: with the timeline, and `--quiet`."""
    folder = tmp_path_factory.mktemp("explain")
    return _simulate(folder, "first", CHECKOUTS_TWICE), _simulate(folder, "second", CHECKOUTS_TWICE, "--quiet")


def _customer_of(report: Report, user_id: str) -> str:
    [profile] = [profile for profile in report["profiles"] if user_id in profile["identifiers"]["user_id"]]
    return str(profile["customer_id"])


def test_a_journey_that_passes_an_entry_over_says_why(checkouts: tuple[Simulated, Simulated]) -> None:
    report = json.loads(checkouts[0].report)
    lena, nobody = _customer_of(report, LENA), _customer_of(report, NOBODY_YET)
    skipped = [entry for entry in report["skipped"] if entry["journey"] == "abandoned_cart"]
    assert skipped == [
        {"at": "2026-03-02T18:35:00+00:00", "customer_id": lena, "journey": "abandoned_cart", "reason": "running"},
        {"at": "2026-03-02T18:40:00+00:00", "customer_id": nobody, "journey": "abandoned_cart", "reason": "audience"},
        {"at": "2026-03-06T18:00:00+00:00", "customer_id": lena, "journey": "abandoned_cart", "reason": "re_entry"},
    ]
    [run] = [run for run in report["journeys"] if run["journey"] == "abandoned_cart"]
    assert (run["customer_id"], run["started_at"]) == (lena, "2026-03-02T18:05:00+00:00")


def test_the_report_with_its_new_lists_is_the_same_byte_for_byte(checkouts: tuple[Simulated, Simulated]) -> None:
    first, second = checkouts
    assert first.report == second.report


def test_erasure_scrubs_the_texts_and_forgets_the_skipped_entries(
    checkouts: tuple[Simulated, Simulated], tmp_path: Path
) -> None:
    before = json.loads(checkouts[0].report)
    lena = _customer_of(before, LENA)
    assert any(message["text"] for message in before["messages"] if message["customer_id"] == lena)
    after = json.loads(_simulate(tmp_path, "erased", ERASED_AFTER, "--quiet").report)
    hers = [message for message in after["messages"] if message["customer_id"] == lena]
    assert hers, "the ledger keeps that messages went out"
    assert [(message["to"], message["text"]) for message in hers] == [(None, None)] * len(hers)
    assert {entry["customer_id"] for entry in after["skipped"]} == {_customer_of(after, NOBODY_YET)}


@pytest.fixture(scope="module")
def night_sms(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "night_sms_waits_for_morning")


def test_a_sent_message_has_its_text_and_a_held_one_none(night_sms: Report) -> None:
    by_status = {(message["channel"], message["status"]): message["text"] for message in night_sms["messages"]}
    assert by_status[("sms", "deferred")] is None
    sms = by_status[("sms", "sent")]
    assert sms["subject"] is None
    assert sms["body"] == "omnijourney shop: new running gear is in, Maya. Reply STOP to opt out."
    email = by_status[("email", "sent")]
    assert email["subject"]
    assert email["body"]
    for message in night_sms["messages"]:
        assert (message["text"] is not None) == (message["status"] == "sent")


def test_the_email_and_the_sms_show_the_one_code_they_offer(tmp_path_factory: pytest.TempPathFactory) -> None:
    report = scenario_report(tmp_path_factory, "one_offer_every_channel")
    offered = [message for message in report["messages"] if message["offer"]]
    assert {message["channel"] for message in offered} >= {"email", "sms"}
    for message in offered:
        assert message["offer"]["code"] in message["text"]["body"]


@pytest.mark.parametrize("name", ["stop_by_sms_holds_the_cart_reminder", "one_offer_every_channel"])
def test_the_path_is_the_branch_taken(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    report = scenario_report(tmp_path_factory, name)
    [run] = [run for run in report["journeys"] if run["journey"] == "abandoned_cart"]
    texted = any(m["step"] == "cart_sms" for m in report["messages"] if m["execution"] == run["execution"])
    branch = ["cart_sms"] if texted else []
    assert run["path"] == ["give_them_an_hour", "cart_email", "two_days_later", "sms_allowed", *branch, "done"]
    assert run["transitions"] > len(run["path"])  # helper states (the Choices, the planned wait) are not steps


def test_the_customer_who_said_stop_takes_the_branch_without_sms(tmp_path_factory: pytest.TempPathFactory) -> None:
    report = scenario_report(tmp_path_factory, "stop_by_sms_holds_the_cart_reminder")
    [run] = [run for run in report["journeys"] if run["journey"] == "abandoned_cart"]
    assert run["path"][-2:] == ["sms_allowed", "done"]


def test_the_timeline_tells_who_got_what_and_every_skip_in_words(checkouts: tuple[Simulated, Simulated]) -> None:
    printed = checkouts[0].printed
    assert "abandoned_cart not started for cus_" in printed
    assert "a run of this journey is already in progress for the customer" in printed
    assert "the journey's re_entry rule does not let the customer in again yet" in printed
    assert "the customer is not in the journey's audience" in printed
    [cart_email] = [row for row in printed.splitlines() if "abandoned_cart › cart_email" in row]
    # 19:05 UTC is 20:05 in Berlin, where Lena is.
    assert "Mon 02 Mar 19:05 UTC" in cart_email
    assert "at 20:05 Europe/Berlin" in cart_email
    assert "email" in cart_email
    assert "sent to lena.fischer@example.com" in cart_email


def test_quiet_prints_only_the_summary(checkouts: tuple[Simulated, Simulated]) -> None:
    printed = checkouts[1].printed
    assert "UTC" not in printed
    assert "journeys: 1 runs" in printed
