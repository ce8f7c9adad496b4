"""What deploys but can never happen is warned, and only what surely can never happen: a warning that cries wolf
teaches marketers to ignore warnings. (Each warning's exact text: tests/unit/broken_journeys/.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from omnijourney.journeys.catalog import load_journeys
from omnijourney.journeys.validation import schedule_mistake

# EventBridge Scheduler's own examples and the shapes its cron and rate rules allow.
ACCEPTED_BY_AWS = [
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 9 L * ? *)",
    "cron(0 9 LW * ? *)",
    "cron(0 9 15W * ? *)",
    "cron(0 9 ? * 6L *)",
    "cron(30 7 1,15 JAN,JUL ? 2026-2030)",
    "cron(0 18 ? * L *)",
    "cron(0 8-17/2 ? * MON-FRI *)",
    "cron(0-30/5 * * * ? *)",
    "cron(0/59 * * * ? *)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
]


@pytest.mark.parametrize("expression", ACCEPTED_BY_AWS)
def test_a_schedule_aws_accepts_passes(expression: str) -> None:
    assert schedule_mistake(expression) is None


@pytest.mark.parametrize(
    ("expression", "mistake"),
    [
        ("cron(0 9 ? * 2#6 *)", "the day-of-week field '2#6' is not valid"),
        ("cron(0 9 ? 13 MON *)", "the month field '13' is not valid"),
        ("cron(0 9 ? * MON 1969)", "the year field '1969' is not valid"),
        ("cron(60 9 ? * MON *)", "the minutes field '60' is not valid"),
        ("cron(0 9 ? * MON/2 *)", "the day-of-week field 'MON/2' is not valid"),
        ("cron(0 9 ? * ? *)", "give ? in exactly one of day-of-month and day-of-week"),
        ("rate(five minutes)", "write a rate as a whole number"),
        ("rate(2² minutes)", "write a rate as a whole number"),
        ("cron(0 9 ? * 3#1,6#3 *)", "the day-of-week field '3#1,6#3' has more than one #; AWS allows one"),
        ("cron(*/60 9 ? * MON *)", "the minutes field '*/60' is not valid"),
        ("cron(0 0/24 ? * MON *)", "the hours field '0/24' is not valid"),
        ("cron(0 9 ? * MON 2026-2199/230)", "the year field '2026-2199/230' is not valid"),
        ("cron(0 9² ? * MON *)", "the hours field '9²' is not valid"),
    ],
)
def test_a_schedule_aws_refuses_names_the_part_to_fix(expression: str, mistake: str) -> None:
    assert (schedule_mistake(expression) or "").startswith(mistake)


def journey_file(tmp_path: Path, name: str, body: str) -> Path:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "note.yaml").write_text("channel: in_store\nbody: Say hello\n")
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"journey: {name}\nentry:\n  event: checkout_started\n{body}")
    return path


def test_a_wait_for_the_goals_event_with_a_narrower_goal_can_still_fire(tmp_path: Path) -> None:
    path = journey_file(
        tmp_path,
        "big_orders_convert",
        "goal: {event: order_completed, where: {order_total: {at_least: 100}}}\n"
        "steps:\n"
        "  - id: any_order\n"
        "    wait_for: {event: order_completed, timeout: {days: 3}, on_timeout: done}\n"
        "  - id: thanks\n"
        "    send: {channel: in_store, template: note, category: service}\n"
        "  - id: done\n"
        "    exit: no order\n",
    )
    assert load_journeys([path]).warnings == ()


def test_a_wait_for_an_event_an_exit_ends_only_by_name_can_still_fire(tmp_path: Path) -> None:
    path = journey_file(
        tmp_path,
        "named_exit",
        "exit_when: [{event: tracked, name: Support Chat Started}]\n"
        "steps:\n"
        "  - id: any_tracked\n"
        "    wait_for: {event: tracked, timeout: {days: 3}, on_timeout: done}\n"
        "  - id: done\n"
        "    exit: finished\n",
    )
    assert load_journeys([path]).warnings == ()


def test_cases_that_can_hold_are_not_warned(tmp_path: Path) -> None:
    path = journey_file(
        tmp_path,
        "sensible_cases",
        "audience: {lifecycle_stage: [prospect, repeat_customer]}\n"
        "steps:\n"
        "  - id: by_value\n"
        "    branch:\n"
        "      cases:\n"
        "        - {when: {orders: {at_least: 3}}, goto: note}\n"
        "        - {when: {orders: {at_least: 1}}, goto: note}\n"
        "        - {when: {lifecycle_stage: [prospect], tags: [vip]}, goto: note}\n"
        "        - {when: {traits: {tier: {one_of: [gold, silver]}}}, goto: note}\n"
        "        - {when: {traits: {tier: {equals: gold}}}, goto: note}\n"
        "      otherwise: note\n"
        "  - id: note\n"
        "    send: {channel: in_store, template: note, category: service}\n",
    )
    # The fifth case is the fourth's gold customers: the fourth wins, so only it is warned.
    assert [problem.message for problem in load_journeys([path]).warnings] == [
        "case 5 of step 'by_value' can never hold: case 4 before it holds whenever it does"
    ]


def test_a_case_containing_a_longer_value_is_not_said_to_imply_a_shorter_one(tmp_path: Path) -> None:
    # On a list trait `contains` is membership: a customer with interests [golf clubs] fails the first case.
    path = journey_file(
        tmp_path,
        "interests",
        "steps:\n"
        "  - id: by_interest\n"
        "    branch:\n"
        "      cases:\n"
        "        - {when: {traits: {interests: {contains: golf}}}, goto: note}\n"
        "        - {when: {traits: {interests: {contains: golf clubs}}}, goto: note}\n"
        "        - {when: {traits: {interests: {contains: golf clubs}}}, goto: note}\n"
        "      otherwise: note\n"
        "  - id: note\n"
        "    send: {channel: in_store, template: note, category: service}\n",
    )
    assert [problem.message for problem in load_journeys([path]).warnings] == [
        "case 3 of step 'by_interest' can never hold: case 2 before it holds whenever it does"
    ]
