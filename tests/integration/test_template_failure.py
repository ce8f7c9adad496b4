"""A template that validates but cannot be filled in for this customer (a number filter on a total they do not have)
holds that one message, in words, and the journey goes on: the step neither fails the run nor leaves its ledger entry
pending, and the error's text (which may quote the customer's data) reaches no execution history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omnijourney_tools.cli import main

ROOT = Path(__file__).resolve().parents[2]
JOURNEY = """\
journey: order_total_probe
entry: {event: identify}
steps:
  - id: total
    send: {channel: email, template: order_total_email, category: transactional}
  - id: thanks
    send: {channel: email, template: thanks_email, category: transactional}
"""
TEMPLATES = {
    "order_total_email": "channel: email\nsubject: Your order\nbody: 'It came to {{ last_order_total | round }}.'\n",
    "thanks_email": "channel: email\nsubject: Thanks\nbody: 'Thanks {{ first_name }}.'\n",
}


def _report(tmp_path: Path) -> dict[str, Any]:
    journeys = tmp_path / "journeys"
    (journeys / "templates").mkdir(parents=True)
    (journeys / "order_total_probe.yaml").write_text(JOURNEY)
    for name, text in TEMPLATES.items():
        (journeys / "templates" / f"{name}.yaml").write_text(text)
    identify = (ROOT / "events" / "segment" / "identify_app.json").read_text()
    scenario = tmp_path / "probe.jsonl"
    scenario.write_text(json.dumps({"at": "2026-03-02T10:00:00Z", "source": "segment", "body": json.loads(identify)}))
    report = tmp_path / "report.json"
    assert main(["simulate", str(scenario), "--journeys", str(journeys), "--report", str(report), "--quiet"]) == 0
    return dict(json.loads(report.read_text()))


def test_a_template_that_cannot_be_filled_in_holds_its_message_and_the_journey_goes_on(tmp_path: Path) -> None:
    report = _report(tmp_path)
    by_step = {message["step"]: message for message in report["messages"]}
    assert (by_step["total"]["status"], by_step["total"]["reason"], by_step["total"]["text"]) == (
        "suppressed",
        "template_failed",
        None,
    )
    assert by_step["thanks"]["status"] == "sent"
    [run] = report["journeys"]
    assert run["outcome"] == "completed"
    assert run["path"] == ["total", "thanks"]
