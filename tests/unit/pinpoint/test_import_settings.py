"""`omnijourney import pinpoint settings`: an application's quiet time and journey limits (get-application-settings)
set in config/consistency.yaml, in place, the rest of the user's file as it was; every other setting reported with
what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnijourney.platform.configfile import load
from omnijourney.runtime.consistency import ConsistencyRules
from omnijourney_tools.cli import main
from tests.unit.pinpoint.importing import FIXTURES as PINPOINT_FIXTURES
from tests.unit.pinpoint.importing import copied_project, pinpoint_import

FIXTURES = PINPOINT_FIXTURES / "settings"
CONSISTENCY = "consistency.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copied_project(tmp_path)


def _import(project: Path, *files: Path | str) -> int:
    return pinpoint_import("settings", project, files, "--config", str(project / "config"))


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_quiet_time_and_the_journey_cap_are_set_in_place_and_the_config_still_validates(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / "config" / CONSISTENCY
    before = path.read_text(encoding="utf-8")

    assert _import(project, "application_settings.json") == 0

    after = path.read_text(encoding="utf-8")
    assert _changed_lines(before, after) == [
        ("  messages: 4", "  messages: 5"),
        ("  days: 7", "  days: 10"),
        ('  start: "21:00"', '  start: "22:00"'),
        ('  end: "09:00"', '  end: "07:30"'),
    ]
    rules = load(path, ConsistencyRules)
    assert (rules.quiet_hours.start, rules.quiet_hours.end) == ("22:00", "07:30")
    assert (rules.frequency_cap.messages, rules.frequency_cap.days) == (5, 10)
    capsys.readouterr()
    assert main(["journeys", "validate", str(project / "journeys"), "--config", str(project / "config")]) == 0


def test_every_setting_is_reported_with_what_it_became_or_what_to_do(project: Path) -> None:
    assert _import(project, "application_settings.json") == 0

    report = (project / "pinpoint-import.md").read_text(encoding="utf-8")
    assert (
        "became config/consistency.yaml (quiet_hours.start, quiet_hours.end, frequency_cap.messages, "
        "frequency_cap.days)"
    ) in report
    assert "| QuietTime 22:00–07:30 | quiet_hours start and end |" in report
    assert "| JourneyLimits.TimeframeCap (5 in 10 days) | frequency_cap messages and days |" in report
    for decision in (
        "QuietTime: Pinpoint kept every message of every channel back in quiet time, and a campaign did not send "
        "what fell in it; omnijourney holds marketing messages on sms, push only",
        "JourneyLimits.DailyCap (2): omnijourney has one cap across journeys, now 5 in 10 days (from "
        "TimeframeCap); a journey may add its own: `settings: {frequency_cap: {messages: 2, days: 1}}`",
        "JourneyLimits: omnijourney's frequency_cap counts marketing messages only",
        "JourneyLimits.TotalCap (12): no equivalent",
        "Limits.Daily (3): campaigns are not imported",
        "Limits.Total (10): campaigns are not imported",
        "Limits.MessagesPerSecond (50): sending rates are account quotas",
        "Limits.MaximumDuration (3600): no equivalent",
        "Limits.Session (2): in-app messages are not supported",
        "CampaignHook (FILTER: arn:aws:lambda:us-east-1:123456789012:function:filter-campaign): campaigns are not "
        "imported, nor their hook",
    ):
        assert f"- [ ] {decision}" in report


def test_a_daily_cap_alone_is_a_cap_over_one_day(project: Path) -> None:
    assert _import(project, "write_request.json") == 0

    rules = load(project / "config" / CONSISTENCY, ConsistencyRules)
    assert (rules.frequency_cap.messages, rules.frequency_cap.days) == (3, 1)
    assert (rules.quiet_hours.start, rules.quiet_hours.end) == ("20:30", "08:00")
    report = (project / "pinpoint-import.md").read_text(encoding="utf-8")
    assert "| CloudWatchMetricsEnabled | always on: the stack's CloudWatch dashboard and alarms" in report


def test_a_section_written_in_flow_style_stays_so_with_its_comment(project: Path) -> None:
    path = project / "config" / CONSISTENCY
    text = path.read_text(encoding="utf-8").replace(
        "frequency_cap:\n  messages: 4\n  days: 7\n", "frequency_cap: {messages: 4, days: 7}  # agreed with legal\n"
    )
    path.write_text(text, encoding="utf-8")

    assert _import(project, "write_request.json") == 0

    assert "frequency_cap: {messages: 3, days: 1}  # agreed with legal\n" in path.read_text(encoding="utf-8")


def test_pinpoint_without_a_cap_leaves_omnijourneys_and_says_so(project: Path) -> None:
    settings = project / "settings.json"
    settings.write_text(json.dumps({"JourneyLimits": {"DailyCap": 0, "TotalCap": 0}}), encoding="utf-8")
    before = (project / "config" / CONSISTENCY).read_text(encoding="utf-8")

    assert _import(project, settings) == 0

    assert (project / "config" / CONSISTENCY).read_text(encoding="utf-8") == before
    assert "- [ ] JourneyLimits: Pinpoint capped nothing; omnijourney's frequency_cap stays at 4 in 7 days" in (
        project / "pinpoint-import.md"
    ).read_text(encoding="utf-8")


def test_importing_the_same_settings_again_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(project, "application_settings.json") == 0
    first = (project / "config" / CONSISTENCY).read_text(encoding="utf-8")
    capsys.readouterr()

    assert _import(project, "application_settings.json") == 0

    assert "wrote 0 file(s), 1 unchanged" in capsys.readouterr().out
    assert (project / "config" / CONSISTENCY).read_text(encoding="utf-8") == first


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"QuietTime": {"Start": "10pm", "End": "07:00"}},
            "application settings: QuietTime.Start: should be a time of day as Pinpoint writes it, HH:mm from 00:00 "
            "to 23:59 (e.g. 21:30), and QuietTime needs both Start and End",
        ),
        (
            {"QuietTime": {"Start": "22:00"}},
            "application settings: QuietTime.End: should be a time of day as Pinpoint writes it, HH:mm from 00:00 "
            "to 23:59 (e.g. 21:30), and QuietTime needs both Start and End",
        ),
        (
            {"CampaignHook": {"Mode": "SOMETIMES"}},
            "application settings: CampaignHook.Mode: 'SOMETIMES' is not one of Pinpoint's Mode values: DELIVERY, "
            "FILTER",
        ),
        (
            {"JourneyLimits": {"DailyCap": "two"}},
            "application settings: JourneyLimits.DailyCap: should be a whole number",
        ),
    ],
)
def test_bad_settings_are_refused_naming_file_record_and_field_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    document = json.loads((FIXTURES / "application_settings.json").read_text(encoding="utf-8"))
    document["ApplicationSettingsResource"] |= change
    bad = project / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    before = (project / "config" / CONSISTENCY).read_text(encoding="utf-8")

    assert _import(project, bad) == 2

    assert capsys.readouterr().err == f"{bad}: {message}\nNothing was written.\n"
    assert (project / "config" / CONSISTENCY).read_text(encoding="utf-8") == before
    assert not (project / "pinpoint-import.md").exists()


def test_two_applications_settings_at_once_are_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(project, "application_settings.json", "write_request.json") == 2

    assert capsys.readouterr().err == (
        f"{FIXTURES / 'write_request.json'}: application settings: is a second application's settings: import one "
        "application's settings at a time\nNothing was written.\n"
    )


def test_a_config_folder_without_consistency_yaml_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "config" / CONSISTENCY).unlink()

    assert _import(project, "write_request.json") == 2

    assert capsys.readouterr().err == (
        f"{project / 'config' / CONSISTENCY}: no such file: the settings go into the project's "
        "config/consistency.yaml (--config)\nNothing was written.\n"
    )
