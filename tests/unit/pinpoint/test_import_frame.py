"""What every `import pinpoint` shares: exports read as the AWS CLI prints them and refused in plain words at the field
at fault, one report document built by successive imports, and files written all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnijourney_tools.pinpoint.exports import JOURNEY, SEGMENT, ImportRefused, read_exports
from omnijourney_tools.pinpoint.outputs import IMPORTED_MARK, Outputs
from omnijourney_tools.pinpoint.report import MigrationReport, merged_report

WELCOME = {
    "Id": "2ba8bd4b6a5a4f70a1a2c8f1d7e3a9b0",
    "ApplicationId": "7e3b2c1d0f9a4e8b9c6d5a4b3c2d1e0f",
    "Name": "Welcome series",
    "StartActivity": "a1",
    "Activities": {"a1": {"EMAIL": {"TemplateName": "Welcome", "MessageConfig": {"FromAddress": "shop@example.com"}}}},
    "State": "ACTIVE",
}


def _file(tmp_path: Path, document: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("document", "shape"),
    [
        ({"JourneyResponse": WELCOME}, "JourneyResponse"),
        ({"JourneysResponse": {"Item": [WELCOME]}}, "JourneyResponse"),
        ({k: v for k, v in WELCOME.items() if k not in ("Id", "ApplicationId")}, "WriteJourneyRequest"),
    ],
    ids=["get-journey", "list-journeys", "create-journey request"],
)
def test_a_journey_is_read_as_each_aws_cli_command_prints_it(tmp_path: Path, document: Any, shape: str) -> None:
    [export] = read_exports([_file(tmp_path, document)], JOURNEY)
    assert (export.record, export.shape, export.body["Name"]) == ("journey 'Welcome series'", shape, "Welcome series")


def test_a_listed_journey_is_named_with_its_place_in_the_list(tmp_path: Path) -> None:
    second = WELCOME | {"Name": "Win back", "Id": "c0ffee"}
    exports = read_exports([_file(tmp_path, {"JourneysResponse": {"Item": [WELCOME, second]}})], JOURNEY)
    assert [export.record for export in exports] == [
        "journey 'Welcome series' (item 1)",
        "journey 'Win back' (item 2)",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"JourneyResponse": WELCOME | {"Activities": {"a1": {"EMAIL": {"Template": "Welcome"}}}}},
            "export.json: journey 'Welcome series': Activities.a1.EMAIL: 'Template' is not a field of Pinpoint's "
            "EmailMessageActivity; it has MessageConfig, NextActivity, TemplateName, TemplateVersion",
        ),
        (
            {"JourneyResponse": WELCOME | {"Activities": {"a1": {"WHATSAPP": {}}}}},
            "export.json: journey 'Welcome series': Activities.a1: 'WHATSAPP' is not a field of Pinpoint's Activity; "
            "it has CUSTOM, ConditionalSplit, Description, EMAIL, Holdout, MultiCondition, PUSH, RandomSplit, SMS, "
            "Wait, ContactCenter",
        ),
        (
            {"JourneyResponse": WELCOME | {"Limits": {"DailyCap": "ten"}}},
            "export.json: journey 'Welcome series': Limits.DailyCap: should be a whole number",
        ),
        (
            {"JourneyResponse": {k: v for k, v in WELCOME.items() if k != "ApplicationId"}},
            "export.json: journey 'Welcome series': (the object): Pinpoint's JourneyResponse needs 'ApplicationId'",
        ),
        ('{"JourneyResponse": {"Name": "Welcome",', "export.json: is not JSON at line 1, column 40: Expecting"),
        (
            {"SegmentResponse": {"Name": "VIP"}},
            'export.json: holds no Pinpoint journey: expected the AWS CLI\'s output, one of {"JourneyResponse": …}',
        ),
    ],
    ids=["unknown field", "unknown activity type", "wrong type", "missing field", "not JSON", "another object"],
)
def test_a_malformed_export_is_refused_naming_file_record_and_field(
    tmp_path: Path, document: Any, message: str
) -> None:
    with pytest.raises(ImportRefused) as refused:
        read_exports([_file(tmp_path, document)], JOURNEY)
    assert str(refused.value).replace(str(tmp_path) + "/", "").startswith(message)


def test_an_endpoint_like_value_is_never_quoted_in_a_refusal(tmp_path: Path) -> None:
    segment = {"Name": "VIP", "Dimensions": {"UserAttributes": {"email": {"Values": "lena@example.com"}}}}
    with pytest.raises(ImportRefused) as refused:
        read_exports([_file(tmp_path, {"WriteSegmentRequest": segment})], SEGMENT)
    assert "Dimensions.UserAttributes.email.Values: should be a list" in str(refused.value)
    assert "lena@example.com" not in str(refused.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match=r"nope\.json: no such file"):
        read_exports([tmp_path / "nope.json"], JOURNEY)


def _report(section: str, name: str) -> MigrationReport:
    report = MigrationReport(section)
    journey = report.object("journey", name, "pinpoint/j.json")
    journey.became = "journeys/x.yaml"
    journey.mapped("activity `a1` (EMAIL)", "step `welcome_email`: send email")
    journey.decide("Limits.MessagesPerSecond 50", "SES sends at the account's rate; raise it with AWS if needed")
    return report


def test_successive_imports_build_one_report_and_a_repeated_one_replaces_its_own_section() -> None:
    document = merged_report(None, _report("Journeys", "Welcome series"))
    document = merged_report(document, _report("Templates", "Welcome"))
    document = merged_report(document, _report("Journeys", "Win back"))
    assert document.count("## Journeys") == 1
    assert "Win back" in document
    assert "Welcome series" not in document
    assert "## Templates" in document
    assert "- [ ] Limits.MessagesPerSecond 50: SES sends at the account's rate" in document
    assert "| activity `a1` (EMAIL) | step `welcome_email`: send email |" in document


def test_the_printed_report_counts_objects_and_decisions() -> None:
    assert _report("Journeys", "Welcome series").text().splitlines()[-1] == (
        "Journeys: 1 journey(s) imported; 1 decision(s) left for a person"
    )


def test_files_are_written_only_on_commit_and_an_unchanged_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "journeys" / "welcome.yaml"
    outputs = Outputs()
    outputs.add(target, f"{IMPORTED_MARK}\njourney: welcome\n", source="j.json")
    assert not target.exists()
    assert outputs.commit() == [target]
    again = Outputs()
    again.add(target, f"{IMPORTED_MARK}\njourney: welcome\n", source="j.json")
    assert again.commit() == []
    assert [path.name for path in target.parent.iterdir()] == ["welcome.yaml"]


def test_a_hand_written_file_is_not_replaced_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "welcome.yaml"
    target.write_text("journey: welcome  # ours\n", encoding="utf-8")
    with pytest.raises(ImportRefused, match="exists and was not written by an import; move it away or pass --force"):
        Outputs().add(target, f"{IMPORTED_MARK}\n", source="j.json")
    forced = Outputs(replace_any=True)
    forced.add(target, f"{IMPORTED_MARK}\n", source="j.json")
    forced.commit()
    assert target.read_text(encoding="utf-8") == f"{IMPORTED_MARK}\n"


def test_two_objects_for_one_file_are_refused(tmp_path: Path) -> None:
    outputs = Outputs()
    outputs.add(tmp_path / "welcome.yaml", "a", source="j.json")
    with pytest.raises(ImportRefused, match="two objects would both be written to"):
        outputs.add(tmp_path / "welcome.yaml", "b", source="k.json")
