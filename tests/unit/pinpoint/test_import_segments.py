"""`omnijourney import pinpoint segments`: Pinpoint's dimensional segments (get-segment, get-segments) become shared
segments in config/segments.yaml that hold the customers Pinpoint's held, in a block of the file that each import
replaces, the user's own text kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omnijourney.journeys.segments import SEGMENTS_FILE, load_segments
from omnijourney.profiles.model import Profile
from omnijourney.runtime.conditions import Facts, Happened, segments_now
from omnijourney_tools.cli import main
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.pinpoint.names import imported_segments
from omnijourney_tools.pinpoint.segment_block import BLOCK_END, BLOCK_START
from tests.unit.pinpoint.importing import FIXTURES as PINPOINT_FIXTURES
from tests.unit.pinpoint.importing import copied_project, pinpoint_import

FIXTURES = PINPOINT_FIXTURES / "segments"
DIMENSIONAL = ("dimensional.json", "groups.json", "unmapped.json", "write_request.json")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copied_project(tmp_path)


def _import(project: Path, *files: Path | str) -> int:
    return pinpoint_import("segments", project, files, "--config", str(project / "config"))


def _customer(**profile: Any) -> Profile:
    at = NOW - timedelta(days=200)
    return Profile.model_validate({"customer_id": "cus_1", "created_at": at, "updated_at": at, **profile})


def _members(project: Path, customer: Profile, *, viewed_days_ago: int | None = None) -> set[str]:
    """The imported segments the customer is in, computed as the profile function does."""
    history = (
        [Happened("page_viewed", None, NOW - timedelta(days=viewed_days_ago), {"channel": "web"})]
        if viewed_days_ago is not None
        else []
    )
    with definitions_from(config_dir=project / "config"):
        config = load_segments(project / "config" / SEGMENTS_FILE)
        facts = Facts(NOW, ZoneInfo("Europe/Berlin"), history)
        members = segments_now(config, customer, facts, set(config.segments), "evt").members
    return {name for name in members if "_part_" not in name} - {"vip", "opted_out_everywhere", "browsed_not_bought"}


GOLD_RUNNER: dict[str, Any] = {
    "traits": {
        "Tier": "gold",
        "FavoriteSport": "trail running",
        "Store": "hamburg",
        "Newsletter": "weekly",
        "purchases": 3,
        "country": "US",
    },
    "identifiers": {"email": ["runner@example.com"]},
}


def test_imported_segments_load_and_the_project_validates_with_a_journey_entering_one(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(project, *DIMENSIONAL) == 0
    (project / "journeys" / "pinpoint_gold.yaml").write_text(
        "journey: pinpoint_gold\nentry: {segment: active_gold_runners}\nsteps:\n"
        "  - id: thanks\n    send: {channel: email, template: welcome_email, category: marketing}\n",
        encoding="utf-8",
    )
    capsys.readouterr()

    code = main(["journeys", "validate", str(project / "journeys"), "--config", str(project / "config")])

    assert (code, capsys.readouterr().err) == (0, "")
    segments = load_segments(project / "config" / SEGMENTS_FILE).segments
    # The journeys import finds each by its Pinpoint id.
    assert imported_segments(segments) == {
        "3e5f8a9b0c1d2e3f4a5b6c7d8e9f0a1b": "active_gold_runners",
        "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1": "germany",
        "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2": "german_shoppers_to_win_back",
        "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3": "berlin_iphone_users",
    }
    assert segments["opted_in_sms"].when.reachable_by == ["sms"]


@pytest.mark.parametrize(
    ("change", "viewed_days_ago", "inside"),
    [
        ({}, 2, True),
        ({"traits": GOLD_RUNNER["traits"] | {"Tier": "platinum"}}, 2, True),
        ({"traits": GOLD_RUNNER["traits"] | {"Tier": "silver"}}, 2, False),  # INCLUSIVE gold, platinum
        ({"traits": GOLD_RUNNER["traits"] | {"FavoriteSport": "swimming"}}, 2, False),  # CONTAINS run or trail
        ({"traits": GOLD_RUNNER["traits"] | {"Store": "closed-store"}}, 2, False),  # EXCLUSIVE
        ({"traits": GOLD_RUNNER["traits"] | {"purchases": 1}}, 2, False),  # metric at least 2
        ({"traits": GOLD_RUNNER["traits"] | {"country": "DE"}}, 2, False),  # country US or CA
        ({"identifiers": {"phone": ["+14155550100"]}}, 2, False),  # channel EMAIL
        ({}, 9, False),  # active within 7 days
        ({}, None, False),
    ],
)
def test_an_imported_dimensional_segment_holds_whom_pinpoint_held(
    project: Path, change: dict[str, Any], viewed_days_ago: int | None, inside: bool
) -> None:
    assert _import(project, "dimensional.json") == 0

    found = _members(project, _customer(**(GOLD_RUNNER | change)), viewed_days_ago=viewed_days_ago)

    assert ("active_gold_runners" in found) is inside


@pytest.mark.parametrize(
    ("profile", "viewed_days_ago", "inside"),
    [
        ({"traits": {"country": "DE"}, "identifiers": {"phone": ["+4915100000001"]}, "consent": "sms"}, 40, True),
        ({"traits": {"country": "DE"}, "push": True}, None, True),
        ({"traits": {"country": "DE"}, "push": True}, 20, False),  # NONE of active in 30 days
        ({"traits": {"country": "AT"}, "push": True}, None, False),  # source segment Germany
        ({"traits": {"country": "DE"}, "identifiers": {"phone": ["+4915100000001"]}}, None, False),  # no SMS opt-in
    ],
)
def test_segment_groups_combine_their_source_segments_and_dimensions_as_pinpoint_did(
    project: Path, profile: dict[str, Any], viewed_days_ago: int | None, inside: bool
) -> None:
    assert _import(project, "groups.json") == 0
    consent = profile.pop("consent", None)
    if consent:
        profile["consent"] = {consent: {"status": "subscribed", "updated_at": NOW, "source": "test"}}
    if profile.pop("push", False):
        profile["traits"] |= {"push_endpoint_arn": "arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/app/1"}

    found = _members(project, _customer(**profile), viewed_days_ago=viewed_days_ago)

    assert ("german_shoppers_to_win_back" in found) is inside
    assert "germany" in found or profile["traits"]["country"] != "DE"


def test_a_segment_with_a_dimension_without_equivalent_holds_nobody_until_decided(project: Path) -> None:
    assert _import(project, "unmapped.json") == 0

    found = _members(project, _customer(traits={"sessions": 5}))

    assert "berlin_iphone_users" not in found
    report = (project / "pinpoint-import.md").read_text(encoding="utf-8")
    for part in (
        "Attributes.SignedUp (AFTER 2024-01-01T00:00:00Z)",
        *(f"Demographic.{key}" for key in ("AppVersion", "DeviceType", "Make", "Model", "Platform")),
        "Location.GPSPoint",
    ):
        assert f"- [ ] Dimensions.{part}: no equivalent (" in report
    assert (
        "until you replace `tags: [pinpoint_unmapped]` in segment 'berlin_iphone_users' with a test of your own, "
        "it matches nobody"
    ) in report
    # What did come over is kept, strictly above 3 as Pinpoint's GREATER_THAN.
    decided = load_segments(project / "config" / SEGMENTS_FILE).segments["berlin_iphone_users"]
    assert decided.when.traits is not None
    assert decided.when.traits["sessions"].at_least == 3
    assert decided.when.segments is not None
    assert decided.when.segments.none_of == ["berlin_iphone_users_part_1"]


def test_an_imported_list_segment_is_reported_with_its_size_and_what_to_do(project: Path) -> None:
    before = (project / "config" / SEGMENTS_FILE).read_text(encoding="utf-8")

    assert _import(project, "imported_list.json") == 0

    report = (project / "pinpoint-import.md").read_text(encoding="utf-8")
    assert "became nothing: an imported segment is a list of endpoints, not a condition" in report
    assert (
        "- [ ] imported segment (1420 endpoints: 1180 EMAIL, 240 SMS): bring its endpoints over with "
        "`omnijourney import pinpoint endpoints`"
    ) in report
    assert (project / "config" / SEGMENTS_FILE).read_text(encoding="utf-8") == before


def test_the_users_own_text_is_kept_and_a_reimport_replaces_only_its_block(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / "config" / SEGMENTS_FILE
    own = path.read_text(encoding="utf-8").replace("date_traits: [birthday]", "date_traits: [birthday]  # ours")
    path.write_text(own, encoding="utf-8")
    assert _import(project, *DIMENSIONAL) == 0
    first = path.read_text(encoding="utf-8")
    capsys.readouterr()

    assert _import(project, *DIMENSIONAL) == 0
    assert "wrote 0 file(s), 1 unchanged" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == first
    assert first.startswith(own.rstrip())
    assert first.count(BLOCK_START) == 1

    # Importing one segment again keeps those imported before.
    assert _import(project, "write_request.json") == 0
    assert path.read_text(encoding="utf-8") == first


def test_the_block_goes_inside_the_segments_mapping_whatever_follows_it(project: Path) -> None:
    path = project / "config" / SEGMENTS_FILE
    path.write_text(
        "# Our segments.\nsegments:\n    vip:\n        when: {orders: {at_least: 3}}\n\n"
        "# Dates.\ndate_traits: [birthday]\n",
        encoding="utf-8",
    )

    assert _import(project, "write_request.json") == 0

    text = path.read_text(encoding="utf-8")
    assert text.endswith(f"    {BLOCK_END}\n\n# Dates.\ndate_traits: [birthday]\n")
    assert set(load_segments(path).segments) == {"vip", "opted_in_sms"}


def test_a_segment_of_the_users_own_with_an_imported_name_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / "config" / SEGMENTS_FILE
    before = path.read_text(encoding="utf-8") + "  germany:\n    when: {traits: {country: {equals: DE}}}\n"
    path.write_text(before, encoding="utf-8")

    assert _import(project, "groups.json") == 2

    assert capsys.readouterr().err == (
        f"{path}: already defines 'germany' outside the imported block; rename yours or the Pinpoint segment "
        "(its Name)\nNothing was written.\n"
    )
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("Dimensions", "Attributes", "Tier", "AttributeType"),
            "SOMETIMES",
            "segment 'Active Gold Runners': Dimensions.Attributes.Tier.AttributeType: 'SOMETIMES' is not one of "
            "Pinpoint's AttributeType values: INCLUSIVE, EXCLUSIVE, CONTAINS, BEFORE, AFTER, ON, BETWEEN",
        ),
        (
            ("Dimensions", "Metrics", "purchases", "ComparisonOperator"),
            "MORE_THAN",
            "segment 'Active Gold Runners': Dimensions.Metrics.purchases.ComparisonOperator: 'MORE_THAN' is not one "
            "of Pinpoint's comparison operators: GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL, "
            "EQUAL",
        ),
        (
            ("Dimensions", "Behavior", "Recency", "Duration"),
            "DAY_90",
            "segment 'Active Gold Runners': Dimensions.Behavior.Recency.Duration: 'DAY_90' is not one of Pinpoint's "
            "Duration values: HR_24, DAY_7, DAY_14, DAY_30",
        ),
        (
            ("Dimensions", "Demographic", "Channel", "Values"),
            ["FAX"],
            "segment 'Active Gold Runners': Dimensions.Demographic.Channel.Values[0]: 'FAX' is not one of "
            "Pinpoint's ChannelType values: PUSH, GCM, APNS, APNS_SANDBOX, APNS_VOIP, APNS_VOIP_SANDBOX, ADM, SMS, "
            "VOICE, EMAIL, BAIDU, CUSTOM, IN_APP",
        ),
        (
            ("Dimensions", "Location", "Country", "Values"),
            "US",
            "segment 'Active Gold Runners': Dimensions.Location.Country.Values: should be a list",
        ),
    ],
)
def test_a_bad_segment_is_refused_naming_file_record_and_field_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], path: tuple[str, ...], value: object, message: str
) -> None:
    document = json.loads((FIXTURES / "dimensional.json").read_text(encoding="utf-8"))
    held = document["SegmentResponse"]
    for key in path[:-1]:
        held = held[key]
    held[path[-1]] = value
    bad = project / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    before = (project / "config" / SEGMENTS_FILE).read_text(encoding="utf-8")

    assert _import(project, "groups.json", bad) == 2

    assert capsys.readouterr().err == f"{bad}: {message}\nNothing was written.\n"
    assert (project / "config" / SEGMENTS_FILE).read_text(encoding="utf-8") == before
    assert not (project / "pinpoint-import.md").exists()


def test_a_group_built_on_an_imported_list_holds_nobody_until_decided(project: Path, tmp_path: Path) -> None:
    refined = tmp_path / "refined.json"
    refined.write_text(
        json.dumps(
            {
                "Name": "VIPs in Germany",
                "SegmentGroups": {
                    "Groups": [
                        {
                            "SourceSegments": [{"Id": "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4"}],
                            "Dimensions": [{"Location": {"Country": {"Values": ["DE"]}}}],
                        }
                    ]
                },
            }
        ),
        encoding="utf-8",
    )

    assert _import(project, "imported_list.json", refined) == 0

    assert "vips_in_germany" in load_segments(project / "config" / SEGMENTS_FILE).segments
    assert "vips_in_germany" not in _members(project, _customer(traits={"country": "DE"}))
    assert (
        "- [ ] SegmentGroups.Groups[0].SourceSegments[0] (segment d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4): no equivalent "
        "(not among the segments imported (an imported list, or one not exported)"
    ) in (project / "pinpoint-import.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("groups", "customer"),
    [
        # Not the Berlin iPhone users: Pinpoint reached only those outside that segment.
        ({"Groups": [{"SourceSegments": [{"Id": "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"}]}], "Include": "NONE"}, {}),
        # The Berlin iPhone users or those in Germany.
        (
            {
                "Groups": [
                    {"SourceSegments": [{"Id": "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"}]},
                    {"Dimensions": [{"Location": {"Country": {"Values": ["DE"]}}}]},
                ],
                "Include": "ANY",
            },
            {"traits": {"country": "DE"}},
        ),
    ],
)
def test_a_segment_leaving_out_or_standing_in_for_one_that_holds_nobody_holds_nobody_until_decided(
    project: Path, tmp_path: Path, groups: dict[str, Any], customer: dict[str, Any]
) -> None:
    around = tmp_path / "around.json"
    around.write_text(json.dumps({"Name": "Around Berlin iPhones", "SegmentGroups": groups}))

    assert _import(project, "unmapped.json", around) == 0

    assert "around_berlin_iphones" not in _members(project, _customer(**customer))
    assert (
        "- [ ] segment 'around_berlin_iphones': it leaves out or may stand in for berlin_iphone_users, which "
        "match(es) nobody until a person decides (tag pinpoint_unmapped)"
    ) in (project / "pinpoint-import.md").read_text(encoding="utf-8")
