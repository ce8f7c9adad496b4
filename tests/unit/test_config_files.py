"""Shared configuration fails fast, naming the file, line and column to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnijourney.platform.configfile import ConfigError, load
from omnijourney.profiles.lifecycle import LifecycleConfig

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lifecycle.yaml"
    path.write_text(text)
    return path


def test_the_shipped_lifecycle_config_is_valid() -> None:
    stages = load(ROOT / "config" / "lifecycle.yaml", LifecycleConfig)
    assert stages.names == (
        "lapsed",
        "at_risk",
        "repeat_customer",
        "first_time_customer",
        "prospect",
        "visitor",
    )


def test_an_unknown_condition_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stages:\n  - name: buyer\n    when:\n      min_order: 1\n  - name: everyone\n    when: {}\n",
    )
    with pytest.raises(ConfigError) as error:
        load(path, LifecycleConfig)
    assert str(error.value) == (
        f"{path}:4:7: stages[0].when.min_order: unknown key 'min_order' (did you mean 'min_orders'?); "
        "allowed here: min_orders, max_orders, days_since_last_order_at_least, known"
    )


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "stages:\n  - name: Buyer\n    when: {min_orders: -1}\n  - name: everyone\n    when: {}\n")
    with pytest.raises(ConfigError) as error:
        load(path, LifecycleConfig)
    assert [(p.line, p.where) for p in error.value.problems] == [
        (2, "stages[0].name"),
        (3, "stages[0].when.min_orders"),
    ]


def test_a_missing_catch_all_stage_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "stages:\n  - name: buyer\n    when: {min_orders: 1}\n")
    with pytest.raises(ConfigError, match="the last stage must have no conditions"):
        load(path, LifecycleConfig)


def test_broken_yaml_points_at_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "stages:\n  - name: buyer\n    when: {min_orders: 1\n")
    with pytest.raises(ConfigError, match=rf"^{path}:4:1: not valid YAML"):
        load(path, LifecycleConfig)
