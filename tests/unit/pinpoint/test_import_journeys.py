"""`omnijourney import pinpoint journeys`: what each Pinpoint journey becomes, the report of every activity and
setting, and bad exports refused in plain words with nothing written (no moto: the round trip through `simulate` is
tests/integration/test_pinpoint_journeys.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from omnijourney_tools.cli import main
from omnijourney_tools.pinpoint.conditions import duration, event_match
from omnijourney_tools.pinpoint.exports import Export, ImportRefused
from tests.unit.pinpoint.journey_exports import FIXTURES, import_journeys, project

IMPORTED = ("welcome.json", "loyalty.json", "purchase_follow_up.json")
PURCHASE_FOLLOW_UP = """\
# Imported from Amazon Pinpoint by `omnijourney import pinpoint`
# Pinpoint journey 'Purchase Follow-up': State CANCELLED
journey: purchase_follow_up
description: Buyers, after each purchase
entry:
  event: order_completed
re_entry: always
audience:
  segment: pinpoint_buyers
settings:
  quiet_hours:
    start: '21:00'
    end: 08:00
    channels:
    - email
    - sms
    - push

steps:
  # Pinpoint activity `p1gold` (ConditionalSplit): Gold members a day later (its EvaluationWaitTime)
  - id: yes_no_split_p1gold
    wait:
      days: 1
  # Pinpoint activity `p1gold` (ConditionalSplit): Gold members a day later
  - id: yes_no_split_p1gold_check
    branch:
      cases:
      - when:
          traits:
            tier:
              equals: gold
        goto: multivariate_split_p2which
      otherwise: wait_p3holiday
  # Pinpoint activity `p2which` (MultiCondition); a case tests a placeholder tag: write its condition (see the report)
  - id: multivariate_split_p2which
    branch:
      cases:
      - when:
          segment: pinpoint_vip
        goto: contact_center_p4call
      - when:
          tags:
          - pinpoint_condition_p2which
        goto: thank_you_email
      otherwise: review_request_sms
  # Pinpoint activity `p4call` (ContactCenter): A personal thank-you call
  - id: contact_center_p4call
    send:
      channel: call_center
      template: purchase_follow_up_call_task
      category: service
  # Pinpoint activity `p8crm` (CUSTOM): Tell the CRM a VIP will be called
  - id: custom_p8crm
    send:
      channel: webhook
      target: crm_example_com
      template: custom_p8crm_payload
      category: marketing
    next: journey_end
  # Pinpoint activity `p5thanks` (EMAIL)
  - id: thank_you_email
    send:
      channel: email
      template: thank_you_email
      category: marketing
    next: journey_end
  # Pinpoint activity `p6review` (SMS)
  - id: review_request_sms
    send:
      channel: sms
      template: review_request_sms
      category: marketing
    next: journey_end
  # Pinpoint activity `p3holiday` (Wait)
  - id: wait_p3holiday
    exit: Pinpoint waited here until 2026-12-24T09:00:00Z
  # where the journey's paths end
  - id: journey_end
    exit: end of the Pinpoint journey
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return project(tmp_path)


def journey_file(folder: Path, name: str) -> str:
    return (folder / "journeys" / f"{name}.yaml").read_text(encoding="utf-8")


def test_a_journey_becomes_its_steps_in_the_order_participants_meet_them(folder: Path) -> None:
    assert import_journeys(folder, "purchase_follow_up.json") == 0
    assert journey_file(folder, "purchase_follow_up") == PURCHASE_FOLLOW_UP


def test_every_step_names_the_pinpoint_activity_it_came_from(folder: Path) -> None:
    assert import_journeys(folder, *IMPORTED) == 0
    for path in sorted((folder / "journeys").glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        steps = [n for n, line in enumerate(lines) if line.startswith("  - id: ")]
        assert steps, path.name
        for n in steps:
            assert re.match(r"  # (Pinpoint activity `\w+` \(\w+\)|where the journey's paths end)", lines[n - 1]), (
                f"{path.name}: {lines[n]}"
            )


def test_the_start_condition_and_settings_become_entry_re_entry_and_settings(folder: Path) -> None:
    assert import_journeys(folder, *IMPORTED) == 0
    welcome = yaml.safe_load(journey_file(folder, "welcome_series"))
    assert welcome["entry"] == {
        "event": "tracked",
        "name": "Account Created",
        "where": {"properties.plan": {"equals": "pro"}, "properties.seats": {"at_least": 2}},
    }
    assert welcome["re_entry"] == {"after_days": 30}
    assert welcome["settings"] == {
        "quiet_hours": {"start": "22:00", "end": "07:00", "channels": ["email", "sms", "push"]},
        "frequency_cap": {"messages": 5, "days": 7},
    }
    vip = yaml.safe_load(journey_file(folder, "vip_offers"))
    assert (vip["entry"], vip["re_entry"]) == ({"segment": "pinpoint_vip"}, "never")
    nudge = yaml.safe_load(journey_file(folder, "app_session_nudge"))
    assert nudge["entry"] == {"event": "tracked", "name": "Application Opened"}


def test_every_activity_and_setting_is_in_the_report(folder: Path) -> None:
    assert import_journeys(folder, *IMPORTED) == 0
    report = (folder / "pinpoint-import.md").read_text(encoding="utf-8")
    for export in IMPORTED:
        document = json.loads((FIXTURES / export).read_text(encoding="utf-8"))
        journeys = document.get("JourneysResponse", {}).get("Item") or [document.get("JourneyResponse", document)]
        for journey in journeys:
            for activity in journey["Activities"]:
                assert f"activity `{activity}`" in report, activity
            settings = [key for key in journey if key not in ("Activities", "StartActivity")]
            settings += [f"Limits.{key}" for key in journey.get("Limits", {})]
            for key in settings:
                assert key in report, f"{journey['Name']}: {key}"


def test_what_has_no_equivalent_is_a_decision_saying_what_to_do(folder: Path) -> None:
    assert import_journeys(folder, *IMPORTED) == 0
    report = (folder / "pinpoint-import.md").read_text(encoding="utf-8")
    decisions = [line for line in report.splitlines() if line.startswith("- [ ] ")]
    expected = [
        "activity `e5crm` (CUSTOM): not imported: it called the Lambda function crm-sync, and omnijourney delivers "
        "by signed webhooks (an https URL); participants go on to step `comeback_push` without it. Give the function "
        "a function URL",
        "activity `p8crm` (CUSTOM): it now sends a signed webhook to target `crm_example_com` (config/webhooks.yaml: "
        "https://crm.example.com/pinpoint/vip-calls); it is internal (no EndpointTypes of a channel): business "
        "guards only.",
        "activity `w5until` (Wait) until 2026-03-05T09:00:00Z: omnijourney has no wait until a date: this waits 3 "
        "days, the time from the journey's Schedule.StartTime (when everyone in its segment enters) to the date;",
        "activity `p3holiday` (Wait) until 2026-12-24T09:00:00Z: omnijourney has no wait until a date, and this "
        "journey's participants enter at different times: the path ends here",
        "activity `p7holiday` (EMAIL): not imported: no path from StartActivity (or past a wait until a date) "
        "reaches it",
        "State DRAFT: imported all the same",
        "State CANCELLED: imported all the same",
        "Limits.TotalCap 10: omnijourney has no lifetime cap",
        "activity `a1welcome` (EMAIL): Pinpoint does not say whether this message is marketing or transactional",
    ]
    for words in expected:
        assert any(line.startswith(f"- [ ] {words}") for line in decisions), words


def test_a_template_not_imported_yet_is_named_by_the_validator(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "journeys" / "templates" / "session_nudge.yaml").unlink()
    assert import_journeys(folder, "loyalty.json") == 0
    assert "activity `s1push` (PUSH) template `session_nudge`: not in" in capsys.readouterr().out
    assert main(["journeys", "validate", str(folder / "journeys"), "--config", str(folder / "config")]) == 1
    assert "steps[0].send.template: no template 'session_nudge' in templates/" in capsys.readouterr().err


def test_a_segment_not_imported_yet_is_a_placeholder_the_validator_names(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "config" / "segments.yaml").write_text("segments: {}\n", encoding="utf-8")
    assert import_journeys(folder, "loyalty.json") == 0
    assert yaml.safe_load(journey_file(folder, "vip_offers"))["entry"] == {"segment": "pinpoint_segment_seg_vip_123"}
    assert main(["journeys", "validate", str(folder / "journeys"), "--config", str(folder / "config")]) == 1
    assert "no segment 'pinpoint_segment_seg_vip_123'" in capsys.readouterr().err


def test_a_second_import_of_the_same_exports_writes_nothing(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert import_journeys(folder, *IMPORTED) == 0
    assert "wrote 6 file(s)" in capsys.readouterr().out  # 4 journeys, a webhook target and its payload
    assert import_journeys(folder, *IMPORTED) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("wrote 0 file(s), 5 unchanged;")


@pytest.mark.parametrize(
    ("export", "message"),
    [
        (
            "bad_shape.json",
            "journey 'Cart Reminder': Activities.a1.EMAIL.TemplateName: should be text",
        ),
        (
            "unknown_activity.json",
            "journey 'Chat Nudge': Activities.a1: 'WHATSAPP' is not a field of Pinpoint's Activity; it has "
            "CUSTOM, ConditionalSplit, Description, EMAIL, Holdout, MultiCondition, PUSH, RandomSplit, SMS, Wait, "
            "ContactCenter",
        ),
        (
            "dangling_next.json",
            "journey 'Broken Link' (item 2): Activities.a2.Wait.NextActivity: names activity 'a9', which is not one "
            "of the journey's Activities (a1, a2)",
        ),
    ],
)
def test_a_bad_export_is_refused_by_file_record_and_field_and_nothing_is_written(
    folder: Path, capsys: pytest.CaptureFixture[str], export: str, message: str
) -> None:
    assert import_journeys(folder, "welcome.json", export) == 2
    assert capsys.readouterr().err == f"{FIXTURES / export}: {message}\nNothing was written.\n"
    assert not list((folder / "journeys").glob("*.yaml"))
    assert not (folder / "pinpoint-import.md").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"StartActivity": None},
            "StartActivity: a journey needs StartActivity, the activity its participants start at",
        ),
        (
            {"Activities": {"a1": {"Description": "nothing to do"}}},
            "Activities.a1: an activity has exactly one type of EMAIL, SMS, PUSH, ContactCenter, Wait, "
            "ConditionalSplit, MultiCondition, RandomSplit, Holdout, CUSTOM; this one has none",
        ),
        (
            {"StartCondition": None},
            "StartCondition: a journey needs the event or the segment its participants start on "
            "(EventStartCondition.EventFilter, or SegmentStartCondition.SegmentId)",
        ),
        (
            {"Activities": {"a1": {"Wait": {"WaitTime": {"WaitFor": "P1M"}}}}},
            "Activities.a1.Wait.WaitTime.WaitFor: 'P1M' is not a duration omnijourney can wait: write an ISO-8601 "
            "duration of weeks, days, hours and minutes, e.g. PT1H, P2D or P1DT12H",
        ),
    ],
)
def test_a_journey_omnijourney_cannot_follow_is_refused_in_plain_words(
    folder: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    journey: dict[str, object] = {
        "Name": "Small",
        "StartCondition": {"SegmentStartCondition": {"SegmentId": "seg-vip-123"}},
        "StartActivity": "a1",
        "Activities": {"a1": {"EMAIL": {"TemplateName": "VIP Offer A"}}},
    }
    changed = {key: value for key, value in (journey | change).items() if value is not None}
    export = folder / "small.json"
    export.write_text(json.dumps(changed), encoding="utf-8")
    assert import_journeys(folder, str(export)) == 2
    assert capsys.readouterr().err == f"{export}: journey 'Small': {message}\nNothing was written.\n"


@pytest.mark.parametrize(
    ("text", "waited"),
    [("PT1H", {"hours": 1}), ("P2D", {"days": 2}), ("P1DT12H", {"days": 1, "hours": 12}), ("P1W", {"days": 7})],
)
def test_iso_durations_become_waits(text: str, waited: dict[str, int]) -> None:
    assert duration(Export(Path("j.json"), "journey 'J'", "WriteJourneyRequest", {}), text, "WaitFor") == waited


def test_a_duration_of_nothing_is_refused() -> None:
    export = Export(Path("j.json"), "journey 'J'", "WriteJourneyRequest", {})
    with pytest.raises(ImportRefused, match=r"^j\.json: journey 'J': WaitFor: 'PT0M' waits no time at all$"):
        duration(export, "PT0M", "WaitFor")


@pytest.mark.parametrize(
    ("pinpoint_event", "match"),
    [
        ("_email.open", {"event": "message_opened"}),
        ("EMAIL_CLICK", {"event": "message_clicked"}),
        ("_email.hardbounce", {"event": "message_bounced"}),
        ("_monetization.purchase", {"event": "order_completed"}),
        ("Account Created", {"event": "tracked", "name": "Account Created"}),
        ("_userauth.sign_up", {"event": "tracked", "name": "_userauth.sign_up"}),
    ],
)
def test_pinpoint_events_become_the_events_omnijourney_sees(pinpoint_event: str, match: dict[str, str]) -> None:
    assert event_match(pinpoint_event).match == match


def test_a_custom_activity_calling_a_url_becomes_a_webhook_target_its_payload_and_a_send(folder: Path) -> None:
    webhooks = folder / "config" / "webhooks.yaml"
    before = webhooks.read_text(encoding="utf-8")
    assert import_journeys(folder, "purchase_follow_up.json") == 0

    after = webhooks.read_text(encoding="utf-8")
    assert after.startswith(before.split("targets:")[0])  # the file's own text stays
    target = yaml.safe_load(after)["targets"]["crm_example_com"]
    assert target == {
        "url": "https://crm.example.com/pinpoint/vip-calls",
        "secret": {"ssm": "/omnijourney/{stage}/webhook-targets/crm_example_com"},
        "reaches_customer": False,  # no endpoint types: internal, business guards only
    }
    assert yaml.safe_load(after)["targets"]["order_desk"] == yaml.safe_load(before)["targets"]["order_desk"]
    payload = yaml.safe_load((folder / "journeys" / "templates" / "custom_p8crm_payload.yaml").read_text())
    assert payload == {
        "channel": "webhook",
        "json": {"customer_id": "{{ customer_id }}", "journey": "purchase_follow_up", "data": "vip-thank-you-call"},
    }
