"""Shared configuration fails fast, naming the file, line and column to fix."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from omnijourney.journeys.language import Journey
from omnijourney.platform.configfile import ConfigError, ConfigModel, load
from omnijourney.profiles.lifecycle import LifecycleConfig
from omnijourney.runtime.consistency import ConsistencyRules

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


def test_broken_yaml_points_at_the_line_to_fix_and_shows_it_fixed(tmp_path: Path) -> None:
    path = write(tmp_path, "stages:\n  - name: buyer\n    when: {min_orders: 1\n")
    with pytest.raises(ConfigError) as error:
        load(path, LifecycleConfig)
    assert str(error.value) == (
        f"{path}:3:11: not valid YAML: this `{{` is never closed; end it with `}}`: when: {{min_orders: 1}}"
    )


def test_times_in_any_config_file_are_explained_in_plain_words(tmp_path: Path) -> None:
    shipped = (ROOT / "config" / "consistency.yaml").read_text(encoding="utf-8")
    path = tmp_path / "consistency.yaml"
    path.write_text(shipped.replace('start: "21:00"', "start: 21:00").replace('end: "09:00"', "end: 9:30"))
    with pytest.raises(ConfigError) as error:
        load(path, ConsistencyRules)
    assert [str(problem).removeprefix(f"{path}:") for problem in error.value.problems] == [
        '31:3: quiet_hours.start: 21:00 without quotes is read as a number; put times in quotes: "21:00"',
        '32:3: quiet_hours.end: 9:30 without quotes is read as a number; put times in quotes: "09:30"',
    ]


def test_a_value_yaml_reads_as_true_is_shown_as_typed(tmp_path: Path) -> None:
    path = write(tmp_path, "stages:\n  - name: on\n    when: {}\n")
    with pytest.raises(ConfigError) as error:
        load(path, LifecycleConfig)
    assert (
        str(error.value)
        == f'{path}:2:5: stages[0].name: name is text, and without quotes on is not; put it in quotes: "on"'
    )


def reachable_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """Every model a person may write inside `model`'s file."""
    found: set[type[BaseModel]] = set()
    pending: list[Any] = [model]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.add(annotation)
                pending.extend(field.annotation for field in annotation.model_fields.values())
        else:
            pending.extend(typing.get_args(annotation))
    return found


def examples_of(model: type[BaseModel]) -> list[Any]:
    """The examples a model shows in its JSON Schema (and messages show for a wrongly shaped value)."""
    return list(model.model_json_schema().get("examples", []))


def test_every_journey_model_has_a_correct_example_for_messages() -> None:
    missing = sorted(
        model.__name__
        for model in reachable_models(Journey)
        if not examples_of(model) or not (issubclass(model, ConfigModel) and model.noun)
    )
    assert missing == [], "give each a noun and with_examples(...) in its model_config: a wrongly shaped value shows it"


JOURNEY_MODELS = sorted(reachable_models(Journey), key=lambda model: model.__name__)


@pytest.mark.parametrize("model", JOURNEY_MODELS, ids=[model.__name__ for model in JOURNEY_MODELS])
def test_every_example_a_message_shows_is_a_valid_value(model: type[BaseModel]) -> None:
    for example in examples_of(model):
        model.model_validate(example)
