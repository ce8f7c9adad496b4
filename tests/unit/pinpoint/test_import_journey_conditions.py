"""`omnijourney import pinpoint journeys` on what Pinpoint decides over time: yes/no splits on a message's events
(evaluated at once or after a wait), waits until a date after other waits, LocalTime schedules, start segments not
imported yet, attribute tests of one name and marketing SMS. Each journey is small and written here, so the behaviour
it pins is in view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from omnijourney_tools.cli import main
from tests.unit.pinpoint.journey_exports import import_journeys, project

OPENED = {"EventType": {"DimensionType": "INCLUSIVE", "Values": ["_email.open"]}}
SEGMENT_START = {"SegmentStartCondition": {"SegmentId": "seg-vip-123"}}
SCHEDULED = {"Schedule": {"StartTime": "2026-03-02T09:00:00Z"}}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return project(tmp_path)


def imported(folder: Path, activities: dict[str, Any], **settings: Any) -> tuple[dict[str, Any], list[str]]:
    """Import a journey of these activities (starting at the first), validate it: its file and the report's
    decisions."""
    journey = {
        "Name": "Small",
        "StartCondition": SEGMENT_START,
        "StartActivity": next(iter(activities)),
        "Activities": activities,
        **settings,
    }
    export = folder / "small.json"
    export.write_text(json.dumps(journey), encoding="utf-8")
    assert import_journeys(folder, str(export)) == 0
    assert main(["journeys", "validate", str(folder / "journeys"), "--config", str(folder / "config")]) == 0
    report = (folder / "pinpoint-import.md").read_text(encoding="utf-8")
    decisions = [line.removeprefix("- [ ] ") for line in report.splitlines() if line.startswith("- [ ] ")]
    return yaml.safe_load((folder / "journeys" / "small.yaml").read_text(encoding="utf-8")), decisions


def steps(journey: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in journey["steps"]}


def email(next_activity: str | None = None) -> dict[str, Any]:
    sent = {"TemplateName": "Welcome Email"}
    return {"EMAIL": sent | ({"NextActivity": next_activity} if next_activity else {})}


def split_on(event: dict[str, Any], **split: Any) -> dict[str, Any]:
    condition = {"Conditions": [{"EventCondition": {"Dimensions": event, "MessageActivity": "a1"}}]}
    return {"ConditionalSplit": {"Condition": condition, "TrueActivity": "yes", "FalseActivity": "no", **split}}


# Where a split's Yes and No lead.
ENDS = {
    "yes": {"SMS": {"TemplateName": "Thanks SMS", "MessageConfig": {"MessageType": "TRANSACTIONAL"}}},
    "no": {"PUSH": {"TemplateName": "Comeback Push"}},
}


def test_a_split_evaluated_at_once_after_a_wait_asks_whether_the_email_was_opened_and_is_imported(
    folder: Path,
) -> None:
    """The console's usual pattern: EMAIL, Wait 2 days, then a yes/no split on the open with no evaluation wait."""
    journey, decisions = imported(
        folder,
        {
            "a1": email("w2"),
            "w2": {"Wait": {"WaitTime": {"WaitFor": "P2D"}, "NextActivity": "b3"}},
            "b3": split_on(OPENED),
            **ENDS,
        },
    )

    split = steps(journey)["yes_no_split_b3"]
    assert split["branch"] == {
        "cases": [{"when": {"tags": ["pinpoint_condition_b3"]}, "goto": "thanks_sms"}],
        "otherwise": "comeback_push",
    }
    assert not any("wait_for" in step for step in journey["steps"])  # it would only see an open after the wait
    assert any(
        line.startswith(
            "activity `b3` (ConditionalSplit): Pinpoint checks whether the participant has done _email.open of the "
            "message of activity `a1` by the time the split evaluates"
        )
        and "`when: {did: {event: message_opened, where: {channel: {equals: email}}, within_days: N}}`" in line
        for line in decisions
    ), decisions


def test_a_split_waiting_after_a_wait_evaluates_the_opens_since_the_send_not_only_the_next_one(folder: Path) -> None:
    journey, _ = imported(
        folder,
        {
            "a1": email("w2"),
            "w2": {"Wait": {"WaitTime": {"WaitFor": "P1D"}, "NextActivity": "b3"}},
            "b3": split_on(OPENED, EvaluationWaitTime={"WaitFor": "P1D"}),
            **ENDS,
        },
    )

    assert steps(journey)["yes_no_split_b3"]["wait"] == {"days": 1}
    assert steps(journey)["yes_no_split_b3_check"]["branch"]["cases"][0]["when"] == {"tags": ["pinpoint_condition_b3"]}


def test_a_split_right_after_the_email_waits_for_the_open_and_says_yes_moves_on_at_once(folder: Path) -> None:
    journey, decisions = imported(
        folder, {"a1": email("b3"), "b3": split_on(OPENED, EvaluationWaitTime={"WaitFor": "P2D"}), **ENDS}
    )

    awaited = steps(journey)["yes_no_split_b3"]["wait_for"]
    assert (awaited["event"], awaited["timeout"], awaited["on_timeout"]) == (
        "message_opened",
        {"days": 2},
        "comeback_push",
    )
    assert (
        "activity `b3` (ConditionalSplit): Pinpoint waited the whole 2 days and then sent those who had done it down "
        "Yes; here a customer goes on to Yes as soon as it happens (the others at the end of the wait), so the Yes "
        "path's steps come earlier than in Pinpoint"
    ) in decisions


@pytest.mark.parametrize("event", ["EMAIL_SEND", "_SMS.FAILURE", "PUSH_RECEIVED"])
def test_a_message_event_omnijourney_does_not_receive_is_a_placeholder_naming_it(folder: Path, event: str) -> None:
    dimensions = {"EventType": {"DimensionType": "INCLUSIVE", "Values": [event]}}
    journey, decisions = imported(
        folder, {"a1": email("b3"), "b3": split_on(dimensions, EvaluationWaitTime={"WaitFor": "P1D"}), **ENDS}
    )

    assert not any("wait_for" in step for step in journey["steps"])  # a wait for it would never end on the event
    assert steps(journey)["yes_no_split_b3_check"]["branch"]["cases"][0]["when"] == {"tags": ["pinpoint_condition_b3"]}
    assert any(
        line.startswith(f"activity `b3` (ConditionalSplit): {event} is a message event omnijourney does not receive")
        for line in decisions
    ), decisions
    assert not any("tracked" in line for line in decisions)


def test_a_wait_until_a_date_after_a_wait_of_a_day_waits_only_what_is_left(folder: Path) -> None:
    journey, decisions = imported(
        folder,
        {
            "a1": email("w2"),
            "w2": {"Wait": {"WaitTime": {"WaitFor": "P1D"}, "NextActivity": "w3"}},
            "w3": {"Wait": {"WaitTime": {"WaitUntil": "2026-03-05T09:00:00Z"}, "NextActivity": "no"}},
            "no": ENDS["no"],
        },
        **SCHEDULED,
    )

    assert steps(journey)["wait_w3"]["wait"] == {"days": 2}  # 3 days from the start, less the day waited before
    assert any(
        "this waits 2 days, the time from the journey's Schedule.StartTime (when everyone in its segment enters) "
        "to the date, less the 1 days the path waits before it" in line
        for line in decisions
    ), decisions


def test_a_wait_until_a_date_that_paths_reach_at_different_times_ends_the_path_and_says_why(folder: Path) -> None:
    journey, decisions = imported(
        folder,
        {
            "r1": {
                "RandomSplit": {
                    "Branches": [{"Percentage": 50, "NextActivity": "w2"}, {"Percentage": 50, "NextActivity": "w3"}]
                }
            },
            "w2": {"Wait": {"WaitTime": {"WaitFor": "P1D"}, "NextActivity": "w4"}},
            "w3": {"Wait": {"WaitTime": {"WaitFor": "P2D"}, "NextActivity": "w4"}},
            "w4": {"Wait": {"WaitTime": {"WaitUntil": "2026-03-05T09:00:00Z"}, "NextActivity": "no"}},
            "no": ENDS["no"],
        },
        **SCHEDULED,
    )

    assert steps(journey)["wait_w4"] == {"id": "wait_w4", "exit": "Pinpoint waited here until 2026-03-05T09:00:00Z"}
    assert any(
        line.startswith(
            "activity `w4` (Wait) until 2026-03-05T09:00:00Z: omnijourney has no wait until a date, and its "
            "participants reach this activity at different times"
        )
        for line in decisions
    ), decisions


def test_a_local_time_schedule_starts_in_each_timezone_so_a_wait_until_a_date_is_not_one_duration(
    folder: Path,
) -> None:
    journey, decisions = imported(
        folder,
        {
            "w1": {"Wait": {"WaitTime": {"WaitUntil": "2026-03-05T09:00:00Z"}, "NextActivity": "no"}},
            "no": ENDS["no"],
        },
        LocalTime=True,
        Schedule={"StartTime": "2026-03-02T09:00:00Z", "Timezone": "UTC+01"},
    )

    assert "exit" in steps(journey)["wait_w1"]
    assert any(
        line.startswith(
            'Schedule {"StartTime": "2026-03-02T09:00:00Z", "Timezone": "UTC+01"} with LocalTime true: Pinpoint '
            "started the journey at 09:00 on 2026-03-02 in each participant's own timezone (starting with "
            "Schedule.Timezone UTC+01)"
        )
        for line in decisions
    ), decisions
    assert not any("LocalTime" in line and "UTC;" in line for line in decisions)  # quiet time was local anyway


def test_an_event_start_in_a_segment_not_imported_yet_names_a_placeholder_audience_not_everyone(folder: Path) -> None:
    event_filter = {
        "FilterType": "ENDPOINT",
        "Dimensions": {"EventType": {"DimensionType": "INCLUSIVE", "Values": ["Account Created"]}},
    }
    start = {"EventStartCondition": {"EventFilter": event_filter, "SegmentId": "seg-new-77"}}
    journey = {"Name": "Small", "StartCondition": start, "StartActivity": "a1", "Activities": {"a1": email()}}
    export = folder / "small.json"
    export.write_text(json.dumps(journey), encoding="utf-8")

    assert import_journeys(folder, str(export)) == 0

    written = yaml.safe_load((folder / "journeys" / "small.yaml").read_text(encoding="utf-8"))
    assert written["audience"] == {"segment": "pinpoint_segment_seg_new_77"}
    assert main(["journeys", "validate", str(folder / "journeys"), "--config", str(folder / "config")]) == 1


def test_an_attribute_and_a_user_attribute_of_one_name_are_not_merged_into_one_trait_test(folder: Path) -> None:
    dimensions = {
        "Attributes": {"tier": {"AttributeType": "INCLUSIVE", "Values": ["gold"]}},
        "UserAttributes": {"tier": {"AttributeType": "INCLUSIVE", "Values": ["vip"]}},
    }
    condition = {"Conditions": [{"SegmentDimensions": dimensions}]}
    split = {"ConditionalSplit": {"Condition": condition, "TrueActivity": "yes", "FalseActivity": "no"}}

    journey, decisions = imported(folder, {"b1": split, **ENDS})

    assert steps(journey)["yes_no_split_b1"]["branch"]["cases"][0]["when"] == {"tags": ["pinpoint_condition_b1"]}
    assert any(
        "tier is tested as more than one of Attributes, UserAttributes and Metrics" in line for line in decisions
    )


def test_a_promotional_sms_says_it_reaches_only_customers_who_opted_in(folder: Path) -> None:
    sms = {"SMS": {"TemplateName": "Review Request SMS", "MessageConfig": {"MessageType": "PROMOTIONAL"}}}

    _, decisions = imported(folder, {"s1": sms})

    assert any(
        line.startswith("activity `s1` (SMS): a marketing SMS goes only to customers who opted in to SMS")
        and "a Twilio START from the number" in line
        for line in decisions
    ), decisions
