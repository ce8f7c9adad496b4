"""One scenario per rule of the scenario contract (shared/scenario-format.md), each checked from its report.

Every scenario in scenarios/ named here runs once per test session through `omnijourney simulate`
(the real handlers, the compiled journeys on moto, the consistency guards); the tests read what a
marketer or store would see in the report: messages with their status and reason, journey outcomes,
lookups, input statuses and profiles, and the independent audit's `consistency_violations`.

Reports are shared between pytest-xdist workers: each run is made once per session, by the first worker
that needs it; a worker that needs a report another is making runs the ones nobody has started yet. Each run
also writes its analytics lake (`--lake`), which the golden reports and the scorecard's tests read.
"""

from __future__ import annotations

import json
import os
import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omnijourney_tools.cli import main
from tests.conftest import ROOT

SCENARIOS = ROOT / "scenarios"
# Journeys that only tests publish: a careless flash sale the guards have to hold.
SCENARIO_JOURNEYS = Path(__file__).parent / "scenario_journeys"
PHONE = "+4915123456789"
EMAIL = "lena.fischer@example.com"
Report = dict[str, Any]
Line = dict[str, Any]


@dataclass(frozen=True)
class Run:
    """How a report is made: scenarios/<name>.jsonl as it is, or a variant of it written by `lines`."""

    lines: Callable[[Path], list[Line]] | None = None  # given the folder of reports (a variant may read one)
    journeys: Path | None = None
    after: str | None = None  # the run whose report `lines` reads


def _once_each(_: Path) -> list[Line]:
    """The duplicates scenario with each delivery once (its first time), lookups and clock lines kept."""
    seen: set[str] = set()
    kept = []
    for line in scenario_lines("duplicate_webhooks").values():
        key = json.dumps({k: v for k, v in line.items() if k != "at"}, sort_keys=True)
        if "source" in line and key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return kept


def _accepted_only(folder: Path) -> list[Line]:
    """The rejected-inputs scenario without the lines its report shows refused."""
    report = json.loads((folder / "rejected_inputs_change_nothing.json").read_text())
    refused = {entry["line"] for entry in report["inputs"] if entry["status"] >= 400}
    return [line for number, line in scenario_lines("rejected_inputs_change_nothing").items() if number not in refused]


RUNS = {
    "stop_by_sms_holds_the_cart_reminder": Run(),
    "guards_hold_a_careless_flash_sale": Run(journeys=SCENARIO_JOURNEYS),
    "bought_in_store_never_promoted": Run(),
    "ticket_holds_marketing": Run(),
    "duplicate_webhooks": Run(),
    "duplicate_webhooks_once_each": Run(lines=_once_each),
    "web_cart_found_in_store": Run(),
    "rejected_inputs_change_nothing": Run(),
    "rejected_inputs_accepted_only": Run(lines=_accepted_only, after="rejected_inputs_change_nothing"),
    "night_sms_waits_for_morning": Run(),
    "erased_customer_gets_nothing": Run(),
    "shoes": Run(),
    "one_offer_every_channel": Run(),
    # Issue 14: each checked in a test_scenario_<topic>.py of its own.
    "two_devices_carts_merge": Run(),
    "junk_identifiers_never_merge": Run(),
    "orders_that_are_not_revenue": Run(),
    "native_zendesk_ticket": Run(),
    "birthday": Run(),
    "browse_abandonment": Run(),
    # Issue 18: checked in test_holdout_lift.py.
    "holdout_measures_lift": Run(),
    # Issue 21: checked in test_scenario_hubspot.py.
    "b2b_cart_to_sales": Run(),
    "hubspot_deal_won": Run(),
}


def _shared_folder(factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this session sees (each worker's basetemp sits inside it)."""
    base = factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "scenario-reports"
    folder.mkdir(exist_ok=True)
    return folder


def _claim(folder: Path, name: str) -> bool:
    """Whether this worker is the one to run `name` (the first to create its lock file)."""
    try:
        os.close(os.open(folder / f"{name}.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _run(folder: Path, name: str) -> None:
    run = RUNS[name]
    try:
        scenario = SCENARIOS / f"{name}.jsonl"
        if run.lines is not None:
            scenario = folder / f"{name}.jsonl"
            scenario.write_text("".join(json.dumps(line) + "\n" for line in run.lines(folder)))
        partial = folder / f"{name}.partial"
        arguments = [
            "simulate",
            str(scenario),
            "--quiet",
            "--report",
            str(partial),
            "--lake",
            str(lake_folder(folder, name)),
        ]
        assert main([*arguments, *(["--journeys", str(run.journeys)] if run.journeys else [])]) == 0
        partial.replace(folder / f"{name}.json")
    except BaseException:
        (folder / f"{name}.failed").touch()
        raise


def _spare(folder: Path) -> str | None:
    """A run no worker has started yet and that could start now."""
    return next(
        (
            name
            for name, run in RUNS.items()
            if not (folder / f"{name}.lock").exists() and (run.after is None or (folder / f"{run.after}.json").exists())
        ),
        None,
    )


def scenario_report(factory: pytest.TempPathFactory, name: str) -> Report:
    """The report of the run `name`, made by this worker or, while another makes it, waited for by running
    the runs nobody has started yet."""
    return dict(json.loads(report_file(factory, name).read_text()))


def report_file(factory: pytest.TempPathFactory, name: str) -> Path:
    """The report file of the run `name` (see scenario_report)."""
    folder = _shared_folder(factory)
    report = folder / f"{name}.json"
    if (RUNS[name].after is None or (folder / f"{RUNS[name].after}.json").exists()) and _claim(folder, name):
        _run(folder, name)
    deadline = clock.monotonic() + 300
    while not report.exists():
        if (folder / f"{name}.failed").exists() or clock.monotonic() > deadline:
            pytest.fail(f"scenario run {name} failed in another test or worker")
        spare = _spare(folder)
        if spare is not None and _claim(folder, spare):
            _run(folder, spare)
        else:
            clock.sleep(0.1)
    return report


def lake_folder(folder: Path, name: str) -> Path:
    return folder / f"{name}.lake"


def scenario_lake(factory: pytest.TempPathFactory, name: str) -> Path:
    """The analytics lake the run `name` wrote (see scenario_report)."""
    return lake_folder(report_file(factory, name).parent, name)


def scenario_lines(name: str) -> dict[int, Line]:
    """The lines of scenarios/<name>.jsonl by line number, `file` paths made absolute for a variant elsewhere."""
    texts = enumerate((SCENARIOS / f"{name}.jsonl").read_text().splitlines(), start=1)
    lines = {number: json.loads(text) for number, text in texts if text.strip()}
    return {
        n: line | ({"file": str((SCENARIOS / line["file"]).resolve())} if "file" in line else {})
        for n, line in lines.items()
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sent(report: Report, **match: Any) -> list[dict[str, Any]]:
    return [m for m in report["messages"] if m["status"] == "sent" and all(m[k] == v for k, v in match.items())]


def messages(report: Report, step: str) -> list[dict[str, Any]]:
    return [message for message in report["messages"] if message["step"] == step]


def run_of(report: Report, journey: str) -> dict[str, Any]:
    [run] = [run for run in report["journeys"] if run["journey"] == journey]
    return run


def lookup(report: Report, line: int) -> dict[str, Any]:
    [entry] = [entry for entry in report["lookups"] if entry["line"] == line]
    return entry


def consistent(report: Report) -> None:
    assert report["metrics"]["consistency_violations"] == []


# Rule 1: no marketing message on a channel after the customer opted out of it.

UNSUBSCRIBED_AT = at("2026-03-04T07:20:14.366Z")  # the List-Unsubscribe click in the cart email, per SES


@pytest.fixture(scope="module")
def opted_out(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "stop_by_sms_holds_the_cart_reminder")


def test_after_stop_by_sms_the_cart_journey_sends_no_sms(opted_out: Report) -> None:
    """The same story without the STOP texts the cart at noon (see rejected_inputs_change_nothing)."""
    assert [m for m in opted_out["messages"] if m["channel"] == "sms"] == []
    run = run_of(opted_out, "abandoned_cart")
    # Two days later at noon in Berlin, when the SMS was due, the journey found no SMS allowed and ended.
    assert (run["outcome"], run["ended_at"], run["reason"]) == ("exited", "2026-03-04T11:00:00+00:00", "reminders sent")
    after_stop = lookup(opted_out, 10)["profile"]
    assert after_stop["consent"]["sms"] == "unsubscribed"
    assert after_stop["identifiers"]["phone"] == [PHONE]
    consistent(opted_out)


def test_an_email_unsubscribe_holds_the_next_marketing_email(opted_out: Report) -> None:
    [reminder] = messages(opted_out, "resend_welcome")
    assert (reminder["at"], reminder["channel"], reminder["category"]) == (
        "2026-03-05T18:12:42+00:00",
        "email",
        "marketing",
    )
    assert (reminder["status"], reminder["reason"]) == ("suppressed", "opted_out")
    late = [m for m in sent(opted_out, category="marketing", channel="email") if at(m["at"]) >= UNSUBSCRIBED_AT]
    assert late == []
    consent = lookup(opted_out, 12)["profile"]["consent"]
    assert (consent["email"], consent["sms"]) == ("unsubscribed", "unsubscribed")
    consistent(opted_out)


def test_an_email_complaint_is_not_undone_by_a_later_shopify_update(opted_out: Report) -> None:
    # Line 7: SES complaint at 07:12:55; line 8: customers/update at 08:41:13; line 10: the store looks her up.
    assert lookup(opted_out, 10)["profile"]["consent"]["email"] == "unsubscribed"


# Rules 1 and 2 when a journey forgets to ask: the guards hold what it would send.


@pytest.fixture(scope="module")
def careless(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "guards_hold_a_careless_flash_sale")


def test_a_journey_that_texts_without_asking_is_held_after_stop(careless: Report) -> None:
    [text] = messages(careless, "sale_text")
    assert (text["at"], text["channel"], text["to"]) == ("2026-03-03T18:06:11+00:00", "sms", PHONE)
    assert (text["status"], text["reason"]) == ("suppressed", "opted_out")
    consistent(careless)


def test_a_journey_naming_shoes_bought_in_store_is_held(careless: Report) -> None:
    [email] = messages(careless, "sale_email")
    assert (email["at"], email["channel"]) == ("2026-03-04T18:06:11+00:00", "email")
    assert email["products"] == ["SHOE-TRAIL-42"]
    assert (email["status"], email["reason"]) == ("suppressed", "already_purchased")
    assert sent(careless) == []
    assert [(o["channel"], o["skus"]) for o in lookup(careless, 8)["profile"]["orders"]] == [("pos", ["SHOE-TRAIL-42"])]
    consistent(careless)


# Rule 2: no marketing message that names a SKU after the customer ordered that SKU, on any channel.


@pytest.fixture(scope="module")
def bought_in_store(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "bought_in_store_never_promoted")


def test_after_buying_the_shoes_in_store_the_cart_sms_names_only_the_socks(bought_in_store: Report) -> None:
    [email] = sent(bought_in_store, step="cart_email")
    assert email["products"] == ["SHOE-TRAIL-42", "SOCK-MERINO-M"]
    [text] = sent(bought_in_store, step="cart_sms")
    assert (text["at"], text["to"], text["products"]) == ("2026-03-04T11:00:00+00:00", PHONE, ["SOCK-MERINO-M"])
    # The shoe offer covers no sock: the reminder goes out without it, so no code reaches the till that cannot apply.
    assert (text["offer"], text["template"]) == (None, "abandoned_cart_sms")
    assert text["offer_withheld"] == {"offer": "spring_shoes", "reason": "offer_not_on_promoted_products"}
    # Buying part of the cart is not the journey's goal: it goes on, for what is left.
    assert run_of(bought_in_store, "abandoned_cart")["outcome"] == "exited"
    before, after = lookup(bought_in_store, 9)["profile"], lookup(bought_in_store, 11)["profile"]
    assert [item["sku"] for item in before["cart"]["items"]] == ["SHOE-TRAIL-42", "SOCK-MERINO-M"]
    assert [item["sku"] for item in after["cart"]["items"]] == ["SOCK-MERINO-M"]
    assert [(o["channel"], o["skus"]) for o in after["orders"]] == [("pos", ["SHOE-TRAIL-42"])]
    consistent(bought_in_store)


def test_no_marketing_message_names_a_product_ordered_before_it(bought_in_store: Report) -> None:
    [profile] = bought_in_store["profiles"]
    marketing = sent(bought_in_store, category="marketing")
    assert len(marketing) == 5  # welcome, cart email, cart SMS, review request, cross-sell
    for message in marketing:
        ordered = {sku for order in profile["orders"] if at(order["at"]) < at(message["at"]) for sku in order["skus"]}
        assert not set(message["products"]) & ordered, message
    [cross_sell] = sent(bought_in_store, step="cross_sell")
    assert cross_sell["products"] == ["SOCK-MERINO-M", "CARE-KIT"]
    consistent(bought_in_store)


# Rule 3: no marketing message while the customer has an open support ticket.

TICKET_OPENED_AT = at("2026-03-03T16:02:10Z")
TICKET_SOLVED_AT = at("2026-03-06T11:20:37Z")


@pytest.fixture(scope="module")
def ticket(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "ticket_holds_marketing")


def test_a_ticket_opened_ends_the_cart_journey_before_its_sms(ticket: Report) -> None:
    run = run_of(ticket, "abandoned_cart")
    assert (run["outcome"], run["reason"]) == ("exited", "exit_ticket_opened")
    assert run["ended_at"] == "2026-03-03T16:02:11+00:00"  # as the ticket came in
    assert messages(ticket, "cart_sms") == []
    consistent(ticket)


def test_marketing_waits_while_the_ticket_is_open_and_goes_out_once_it_is_solved(ticket: Report) -> None:
    *held, delivered = messages(ticket, "resend_welcome")
    assert [(m["at"], m["status"], m["reason"]) for m in held] == [
        ("2026-03-05T18:12:42+00:00", "deferred", "open_ticket"),  # three days after the welcome, as planned
        ("2026-03-06T00:12:42+00:00", "deferred", "open_ticket"),  # checked again every 6 hours
        ("2026-03-06T06:12:42+00:00", "deferred", "open_ticket"),
    ]
    assert delivered["status"] == "sent"
    assert TICKET_SOLVED_AT < at(delivered["at"]) <= TICKET_SOLVED_AT + timedelta(hours=6)
    during = [m for m in sent(ticket, category="marketing") if TICKET_OPENED_AT <= at(m["at"]) <= TICKET_SOLVED_AT]
    assert during == []
    open_ticket = lookup(ticket, 9)["profile"]["open_tickets"]
    assert [(t["ticket_id"], t["subject"]) for t in open_ticket] == [("48190", "Does the Trail Runner 42 run small?")]
    assert lookup(ticket, 11)["profile"]["open_tickets"] == []
    consistent(ticket)


# Rule 4: duplicate deliveries of a webhook change nothing the second time; no message is sent twice.


@pytest.fixture(scope="module")
def duplicates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Report]:
    return (
        scenario_report(tmp_path_factory, "duplicate_webhooks"),
        scenario_report(tmp_path_factory, "duplicate_webhooks_once_each"),
    )


def test_every_duplicate_delivery_is_accepted(duplicates: tuple[Report, Report]) -> None:
    twice, once = duplicates
    assert (len(twice["inputs"]), len(once["inputs"])) == (20, 10)
    assert {entry["status"] for entry in twice["inputs"]} == {202}
    consistent(twice)


def test_duplicates_leave_everything_as_one_delivery_would(duplicates: tuple[Report, Report]) -> None:
    twice, once = duplicates
    assert twice["profiles"] == once["profiles"]
    assert twice["messages"] == once["messages"]
    assert twice["journeys"] == once["journeys"]
    assert [entry["profile"] for entry in twice["lookups"]] == [entry["profile"] for entry in once["lookups"]]
    assert twice["metrics"] == once["metrics"]
    consistent(twice)


def test_resent_webhooks_start_no_journey_and_send_no_message_twice(duplicates: tuple[Report, Report]) -> None:
    twice, _ = duplicates
    [item] = lookup(twice, 9)["profile"]["cart"]["items"]  # Product Added came twice
    assert (item["sku"], item["quantity"]) == ("SHOE-TRAIL-42", 1)
    # post_purchase and support_follow_up re-enter on every order and every solved ticket.
    assert Counter(run["journey"] for run in twice["journeys"]) == dict.fromkeys(
        ["welcome_series", "abandoned_cart", "post_purchase", "support_follow_up"], 1
    )
    steps = Counter((m["journey"], m["step"]) for m in sent(twice))
    assert set(steps.values()) == {1}
    assert steps[("post_purchase", "thank_you")] == steps[("support_follow_up", "satisfaction_check")] == 1
    [profile] = twice["profiles"]
    assert [(o["order_id"], o["total"]) for o in profile["orders"]] == [("5820009876543", 129.95)]
    assert (twice["metrics"]["orders"], twice["metrics"]["revenue"]) == (1, 129.95)
    consistent(twice)


# Rule 5: a cart built anonymously on the web is on the profile found by phone in the store.


@pytest.fixture(scope="module")
def web_cart(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "web_cart_found_in_store")


def test_before_identifying_the_web_shopper_is_not_found_by_phone(web_cart: Report) -> None:
    assert lookup(web_cart, 4)["status"] == 404
    identified = lookup(web_cart, 6)["profile"]  # by email, after the app identify
    assert [item["sku"] for item in identified["cart"]["items"]] == ["SHOE-TRAIL-42"]
    assert identified["identifiers"]["phone"] == []
    consistent(web_cart)


def test_a_text_from_the_phone_alone_does_not_show_the_web_cart(web_cart: Report) -> None:
    texted = lookup(web_cart, 8)
    assert texted["status"] == 200
    assert texted["profile"]["cart"] is None
    assert texted["profile"]["customer_id"] != lookup(web_cart, 6)["profile"]["customer_id"]
    consistent(web_cart)


def test_once_support_links_phone_and_email_the_store_sees_the_web_cart_by_phone(web_cart: Report) -> None:
    found = lookup(web_cart, 10)["profile"]
    assert found["customer_id"] == lookup(web_cart, 6)["profile"]["customer_id"]
    assert [(item["sku"], item["quantity"]) for item in found["cart"]["items"]] == [("SHOE-TRAIL-42", 1)]
    assert found["cart"]["channel"] == "web"
    assert found["identifiers"]["phone"] == [PHONE]
    assert found["identifiers"]["anonymous_id"] == ["3f6c9d52-7a1e-4c1b-9a63-2f5d8c1e4b70"]
    assert "SMS received" in [entry["name"] for entry in found["recent_activity"]]  # the text came along
    assert [profile["customer_id"] for profile in web_cart["profiles"]] == [found["customer_id"]]
    consistent(web_cart)


# Rule 6: a rejected input changes nothing; an accepted one is never lost.


@pytest.fixture(scope="module")
def rejected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Report]:
    return (
        scenario_report(tmp_path_factory, "rejected_inputs_change_nothing"),
        scenario_report(tmp_path_factory, "rejected_inputs_accepted_only"),
    )


def test_each_rejected_input_is_answered_with_its_status(rejected: tuple[Report, Report]) -> None:
    report, _ = rejected
    statuses = {entry["line"]: entry["status"] for entry in report["inputs"]}
    assert {line: status for line, status in statuses.items() if status != 202} == {
        2: 400,  # malformed JSON
        4: 400,  # signed, but a track without `event` (quarantined)
        5: 413,  # a Segment message over 32 KB
        7: 401,  # no signature
        8: 404,  # an unknown source
        13: 401,  # STOP with a wrong signature
        14: 401,  # an in-store order with a wrong signature
        15: 401,  # a ticket replayed after the signature's 5 minutes
        16: 400,  # signed, but a ticket without requester
    }
    assert sorted(line for line, status in statuses.items() if status == 202) == [1, 3, 6, 9, 10, 11, 12]
    consistent(report)


def test_rejected_inputs_leave_everything_as_if_they_were_never_sent(rejected: tuple[Report, Report]) -> None:
    report, accepted_only = rejected
    assert report["profiles"] == accepted_only["profiles"]
    assert report["messages"] == accepted_only["messages"]
    assert report["journeys"] == accepted_only["journeys"]
    assert [entry["profile"] for entry in report["lookups"]] == [entry["profile"] for entry in accepted_only["lookups"]]
    assert report["metrics"] == accepted_only["metrics"]
    consistent(report)


def test_what_the_rejected_inputs_would_have_done_did_not_happen(rejected: tuple[Report, Report]) -> None:
    report, _ = rejected
    profile = lookup(report, 17)["profile"]
    assert [(item["sku"], item["quantity"]) for item in profile["cart"]["items"]] == [("SHOE-TRAIL-42", 1)]  # no socks
    assert profile["orders"] == []  # the forged order
    # Neither the forged STOP nor the unsubscribe from an unknown source (Mailchimp) counted.
    assert (profile["consent"]["email"], profile["consent"]["sms"]) == ("subscribed", "subscribed")
    assert profile["open_tickets"] == []  # the replayed ticket
    [text] = sent(report, step="cart_sms")  # so the cart journey ran its course
    assert (text["at"], text["to"], text["products"]) == ("2026-03-04T11:00:00+00:00", PHONE, ["SHOE-TRAIL-42"])
    consistent(report)


ACCEPTED_ON_LINES_1_3_6_9_10_11_12 = (
    "page",
    "Product Viewed",
    "Product Added",
    "customers/create",
    "checkouts/create",
    "identify",
    "customers/update",
)


def test_every_accepted_input_is_on_the_profile(rejected: tuple[Report, Report]) -> None:
    report, _ = rejected
    [profile] = report["profiles"]
    assert sorted(entry["name"] for entry in profile["recent_activity"]) == sorted(ACCEPTED_ON_LINES_1_3_6_9_10_11_12)
    consistent(report)


# Rule 7: marketing SMS and push wait for the recipient's daytime.

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "night_sms_waits_for_morning")


def test_a_win_back_sms_due_at_night_in_new_york_waits_for_ten_in_the_morning(night: Report) -> None:
    waited, delivered = messages(night, "win_back_text")
    assert (waited["status"], waited["reason"], waited["channel"]) == ("deferred", "quiet_hours", "sms")
    # A week after she came back, at 23:40 in New York (05:40 in the shop's Berlin).
    assert at(waited["at"]).astimezone(NEW_YORK).isoformat() == "2026-09-21T23:40:01-04:00"
    assert delivered["status"] == "sent"
    # The end of win_back's own quiet hours (20:00 to 10:00) in her timezone, not in the shop's (08:00 UTC).
    assert at(delivered["at"]).astimezone(NEW_YORK).isoformat() == "2026-09-22T10:00:00-04:00"
    assert delivered["to"] == "+12125550147"
    consistent(night)


def test_an_email_at_night_is_not_deferred(night: Report) -> None:
    [email] = messages(night, "we_miss_you")
    assert (email["status"], email["channel"], email["category"]) == ("sent", "email", "marketing")
    assert at(email["at"]).astimezone(NEW_YORK).isoformat() == "2026-09-14T23:40:01-04:00"
    run = run_of(night, "win_back")
    assert (run["started_at"], run["outcome"]) == (email["at"], "completed")
    consistent(night)


def test_every_marketing_sms_goes_out_in_the_recipients_daytime(night: Report) -> None:
    [profile] = night["profiles"]
    assert (profile["timezone"], profile["consent"]["sms"]) == ("America/New_York", "subscribed")  # Twilio START
    texts = sent(night, channel="sms", category="marketing")
    assert texts
    for text in texts:
        assert time(9) <= at(text["at"]).astimezone(ZoneInfo(profile["timezone"])).time() < time(21)
    consistent(night)


# Rule 8: after erasure the customer is not found and receives nothing more.

ERASED_AT = at("2026-03-05T09:00:00Z")


@pytest.fixture(scope="module")
def erased(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "erased_customer_gets_nothing")


def test_after_erasure_the_store_finds_no_one(erased: Report) -> None:
    assert lookup(erased, 9)["status"] == 200  # the store saw her the day before
    assert [(entry["line"], entry["status"]) for entry in erased["inputs"] if entry["line"] == 10] == [(10, 200)]
    assert [lookup(erased, line)["status"] for line in (11, 12, 14)] == [404, 404, 404]  # phone, loyalty id, email
    assert erased["profiles"] == []
    assert erased["metrics"]["customers"] == 0


def test_the_erased_customer_gets_nothing_more(erased: Report) -> None:
    assert [m for m in erased["messages"] if at(m["at"]) >= ERASED_AT] == []
    assert messages(erased, "review_request") == []  # post_purchase would have asked two days after the order
    run = run_of(erased, "post_purchase")
    assert (run["outcome"], run["ended_at"]) == ("stopped", "2026-03-05T09:00:00+00:00")
    assert all(run["outcome"] != "running" for run in erased["journeys"])
    # The audit finds nothing sent after the erasure (what it flags from before is a known audit bug, below).
    assert [v for v in erased["metrics"]["consistency_violations"] if at(v["at"]) >= ERASED_AT] == []


def test_the_report_keeps_no_address_of_the_erased_customer(erased: Report) -> None:
    assert erased["messages"]
    assert {message["to"] for message in erased["messages"]} == {None}


def test_a_retried_order_webhook_after_erasure_does_not_bring_her_back(erased: Report) -> None:
    assert [entry["status"] for entry in erased["inputs"] if entry["line"] == 13] == [202]
    assert lookup(erased, 14) == {
        "line": 14,
        "status": 404,
        "profile": None,
        "error": f"no customer has email {EMAIL}",
    }


def test_the_erasure_story_breaks_no_consistency_rule(erased: Report) -> None:
    consistent(erased)
