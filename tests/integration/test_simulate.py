"""`omnijourney simulate`: the scenario contract, end to end through the real handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnijourney_tools.cli import main
from tests.conftest import ROOT
from tests.integration.test_scenarios import report_file

SHOES = ROOT / "scenarios" / "shoes.jsonl"
PHONE = "+4915123456789"


@pytest.fixture(scope="module")
def shoes_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    # The session's shared run (tests/integration/test_scenarios.py).
    text = report_file(tmp_path_factory, "shoes").read_text()
    return text, json.loads(text)


def test_the_store_sees_the_web_cart_by_phone_and_the_pos_order_clears_it(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    before, after = report["lookups"][1], report["lookups"][2]
    assert before["status"] == 200
    assert [item["sku"] for item in before["profile"]["cart"]["items"]] == ["SHOE-TRAIL-42"]
    assert before["profile"]["cart"]["channel"] == "web"
    assert before["profile"]["identifiers"]["phone"] == [PHONE]
    assert after["profile"]["cart"] is None
    assert [(o["channel"], o["skus"]) for o in after["profile"]["orders"]] == [("pos", ["SHOE-TRAIL-42"])]
    assert after["profile"]["lifecycle_stage"] == "first_time_customer"


def test_before_identifying_the_store_cannot_find_the_customer(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    assert report["lookups"][0] == {
        "line": 8,
        "status": 404,
        "profile": None,
        "error": f"no customer has phone {PHONE}",
    }


def test_every_input_is_answered_and_the_bad_signature_changes_nothing(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    statuses = {entry["line"]: entry["status"] for entry in report["inputs"]}
    assert statuses.pop(12) == 401
    assert set(statuses.values()) == {202}
    [profile] = report["profiles"]
    looked_up = report["lookups"][-1]["profile"]
    # the API's view adds unconfirmed sends and journeys' sales tasks (both from the ledger) to the stored profile's
    assert (looked_up.pop("pending_messages"), looked_up.pop("sales_tasks")) == ([], [])
    assert profile == looked_up | {"recent_activity": profile["recent_activity"]}
    assert (report["metrics"]["customers"], report["metrics"]["orders"], report["metrics"]["revenue"]) == (1, 1, 129.95)


def sent(report: dict, journey: str) -> list[dict]:
    return [m for m in report["messages"] if m["journey"] == journey and m["status"] == "sent"]


def test_the_abandoned_cart_email_names_the_web_cart_an_hour_after_checkout(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    [email] = sent(report, "abandoned_cart")
    assert (email["at"], email["channel"], email["to"]) == (
        "2026-03-02T19:13:06+00:00",
        "email",
        "lena.fischer@example.com",
    )
    assert email["products"] == ["SHOE-TRAIL-42"]


def test_buying_the_shoes_in_store_ends_the_cart_journey_before_its_sms(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    [run] = [run for run in report["journeys"] if run["journey"] == "abandoned_cart"]
    assert (run["outcome"], run["ended_at"], run["converted_on"]) == ("goal", "2026-03-04T10:30:46+00:00", "pos")
    assert not [m for m in report["messages"] if m["channel"] == "sms"]


def test_the_post_purchase_cross_sell_leaves_out_the_shoes_and_reaches_the_store(
    shoes_report: tuple[str, dict],
) -> None:
    _, report = shoes_report
    thank_you, _, cross_sell, store_note = sent(report, "post_purchase")
    assert (thank_you["category"], thank_you["at"]) == ("transactional", "2026-03-04T10:30:46+00:00")
    assert cross_sell["products"] == store_note["products"] == ["SOCK-MERINO-M", "CARE-KIT"]
    [note] = [n for n in report["lookups"][-1]["profile"]["next_best_actions"] if n["channel"] == "in_store"]
    assert "Merino Running Socks" in note["text"]
    assert "Trail Runner" not in note["text"].split("Suggest:")[1]


def test_an_open_support_ticket_holds_marketing_until_it_is_solved(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    review = [m for m in report["messages"] if m["step"] == "review_request"]
    held, delivered = review[:-1], review[-1]
    assert {(m["status"], m["reason"]) for m in held} == {("deferred", "open_ticket")}
    assert held[0]["at"] == "2026-03-06T10:30:46+00:00"  # two days after the order, the ticket opened that morning
    assert delivered["status"] == "sent"
    assert "2026-03-08T15:05:11+00:00" < delivered["at"] < "2026-03-08T21:05:11+00:00"  # within 6 h of the solve


def test_an_unanswered_support_follow_up_becomes_a_call_center_task(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    check, call = sent(report, "support_follow_up")
    assert (check["category"], check["at"]) == ("service", "2026-03-08T19:05:11+00:00")
    assert (call["channel"], call["at"]) == ("call_center", "2026-03-10T19:05:11+00:00")


def test_the_story_breaks_no_consistency_rule(shoes_report: tuple[str, dict]) -> None:
    _, report = shoes_report
    assert report["metrics"]["consistency_score"] == 1.0
    assert report["metrics"]["consistency_violations"] == []


# The same scenario gives the same report byte for byte: tests/integration/test_golden_reports.py.


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "scenario.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_malformed_line_stops_with_its_number_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '{"at": "2026-03-02T18:05:01Z"}', "", '{"at": "2026-03-02T18:06:00Z", "lookup": {}}')
    assert main(["simulate", str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"{path}:3: lookup: takes exactly one identifier"


def test_lines_out_of_time_order_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '{"at": "2026-03-02T18:05:01Z"}', '{"at": "2026-03-02T18:00:00Z"}')
    assert main(["simulate", str(path)]) == 2
    assert "scenario.jsonl:2: at 2026-03-02T18:00:00+00:00 is earlier than the line before" in capsys.readouterr().err


def test_rejected_inputs_are_reported_with_their_status(tmp_path: Path) -> None:
    events = ROOT / "events"
    path = write(
        tmp_path,
        json.dumps({"at": "2026-03-02T18:05:00Z", "source": "segment", "raw": '{"type": "track",'}),
        json.dumps(
            {
                "at": "2026-03-02T18:05:01Z",
                "source": "segment",
                "file": f"{events}/segment/page.json",
                "signature": "missing",
            }
        ),
        json.dumps({"at": "2026-03-02T18:05:02Z", "source": "mailchimp", "body": {}}),
        json.dumps({"at": "2026-03-02T18:05:03Z", "source": "twilio", "file": f"{events}/twilio/inbound_stop.json"}),
        json.dumps({"at": "2026-03-02T18:05:04Z", "source": "ses", "file": f"{events}/ses/complaint.json"}),
        json.dumps({"at": "2026-03-02T18:06:00Z", "erase": {"phone": "+49 151 23456789"}}),
        json.dumps({"at": "2026-03-02T18:07:00Z", "lookup": {"phone": "+49 151 23456789"}}),
    )
    report_path = tmp_path / "report.json"
    assert main(["simulate", str(path), "--report", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert [(entry["line"], entry["status"]) for entry in report["inputs"]] == [
        (1, 400),
        (2, 401),
        (3, 404),
        (4, 202),
        (5, 202),
        (6, 200),
    ]
    assert report["lookups"][0]["status"] == 404
    assert report["profiles"] == [p for p in report["profiles"] if PHONE not in p["identifiers"]["phone"]]
