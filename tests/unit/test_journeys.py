"""Journeys as code: marketers' files are checked with errors at their line, compiled to valid ASL, and drawn."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from statelint.linter import Linter

from omnijourney.journeys.catalog import load_journeys
from omnijourney.journeys.compiler import compile_journey
from omnijourney.journeys.language import Journey, json_schema
from omnijourney.platform.configfile import ConfigError, Severity
from omnijourney_tools import cli
from omnijourney_tools.journeys import diagram

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "journeys"
BROKEN = Path(__file__).parent / "broken_journeys"
BROKEN_TEMPLATES = Path(__file__).parent / "broken_templates"
SHIPPED_NAMES = sorted(path.stem for path in SHIPPED.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (.*)$", re.MULTILINE)
EXPECT_WARNING = re.compile(r"^# expect warning: (.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def shipped() -> dict[str, Journey]:
    return load_journeys([SHIPPED]).journeys


def problems_in(path: Path) -> list[str]:
    """Each problem as `line:column: where: message`, the way `journeys validate` prints it after the path."""
    with pytest.raises(ConfigError) as error:
        load_journeys([path])
    return [str(problem).removeprefix(f"{problem.path}:") for problem in error.value.problems]


def test_every_shipped_journey_is_valid(shipped: dict[str, Journey]) -> None:
    assert sorted(shipped) == [
        "abandoned_cart",
        "b2b_cart_to_sales",
        "birthday",
        "browse_abandonment",
        "monthly_picks",
        "post_purchase",
        "support_follow_up",
        "welcome_series",
        "win_back",
    ]


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_every_shipped_journey_compiles_to_asl_that_statelint_accepts(shipped: dict[str, Journey], name: str) -> None:
    asl = compile_journey(shipped[name])
    assert Linter.validate(asl) == []


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_every_task_retries_with_backoff_and_catches_into_the_failure_record(
    shipped: dict[str, Journey], name: str
) -> None:
    states = compile_journey(shipped[name])["States"]
    tasks = {state_name: state for state_name, state in states.items() if state["Type"] == "Task"}
    assert tasks
    for state in tasks.values():
        assert state["Retry"][0]["BackoffRate"] > 1
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
        assert state["Catch"][-1]["Next"] in ("RecordFailure", "Failed")


def test_wait_for_compiles_to_a_task_token_wait_with_its_timeout_path(shipped: dict[str, Journey]) -> None:
    states = compile_journey(shipped["welcome_series"])["States"]
    waiting = states["wait_for_first_look"]
    assert waiting["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert waiting["TimeoutSeconds"] == 3 * 86_400
    assert waiting["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "ResultPath": "$.timed_out",
        "Next": "resend_welcome",
    }


def test_a_send_asks_the_step_function_which_runs_the_guards(shipped: dict[str, Journey]) -> None:
    states = compile_journey(shipped["abandoned_cart"])["States"]
    payload = states["cart_email"]["Parameters"]["Payload"]
    assert payload["action"] == "send"
    assert payload["send"]["promotes"] == "cart"
    assert payload["policy"]["goal"] == {"event": "order_completed", "includes": "cart"}
    assert {choice["Next"] for choice in states["cart_email.route"]["Choices"]} == {
        "cart_email.defer",
        "GoalReached",
        "Exited",
    }


def reported(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) of a journey file, each as `line:column: where: message`."""
    try:
        problems = list(load_journeys([path]).warnings)
    except ConfigError as error:
        problems = error.problems
    texts = {
        severity: [
            f"{problem.line}:{problem.column}: " + (f"{problem.where}: " if problem.where else "") + problem.message
            for problem in problems
            if problem.severity is severity
        ]
        for severity in Severity
    }
    return texts[Severity.error], texts[Severity.warning]


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda path: path.stem)
def test_a_broken_journey_is_reported_at_its_line_with_what_to_do(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = (EXPECT.findall(text), EXPECT_WARNING.findall(text))
    assert expected != ([], []), f"{path.name} states what it must produce in '# expect:' (or 'expect warning:') lines"
    assert reported(path) == expected


def test_broken_templates_are_reported_with_the_journey_that_uses_them() -> None:
    assert problems_in(BROKEN_TEMPLATES) == [
        "2:1: subject: ${shop_name} is not a variable any profile or event supplies (did you mean 'store_name'?)",
        "2:1: subject: only email and sales task templates have a subject; this one is for sms",
        "8:26: steps[1].send.template: template 'cart_email' is for email, this step sends sms",
    ]


def test_a_journey_too_long_for_the_execution_history_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "note.yaml").write_text("channel: in_store\nbody: Say hello\n")
    steps = "".join(
        f"  - id: note_{n}\n    send: {{channel: in_store, template: note, category: service}}\n" for n in range(1600)
    )
    path = tmp_path / "chatty.yaml"
    path.write_text(f"journey: chatty\nentry:\n  event: order_completed\nsteps:\n{steps}")
    assert problems_in(path) == [
        f"{5 + 2 * 1562}:5: steps[1562].id: the longest path reaches about 25008 history events at step "
        "'note_1562'; an execution may have at most 25,000 events"
    ]


def test_several_files_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as error:
        load_journeys([BROKEN / "loop.yaml", BROKEN / "unknown_goto.yaml"])
    assert [Path(problem.path).name for problem in error.value.problems] == ["loop.yaml", "unknown_goto.yaml"]


def test_the_mermaid_diagram_shows_every_step_branch_and_the_goal(shipped: dict[str, Journey]) -> None:
    text = diagram.mermaid(shipped["abandoned_cart"])
    assert text.startswith("flowchart TD\n")
    assert '    sms_allowed -- "reachable by sms" --> cart_sms\n' in text
    assert '    sms_allowed -- "otherwise" --> done\n' in text
    assert 'goal>"goal (ends the journey anywhere): order_completed with the cart\'s items"]' in text


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_the_svg_picture_is_well_formed_and_names_every_step(shipped: dict[str, Journey], name: str) -> None:
    journey = shipped[name]
    picture = ElementTree.fromstring(diagram.svg(journey))
    texts = " ".join(element.text or "" for element in picture.iter("{http://www.w3.org/2000/svg}text"))
    for step in journey.steps:
        assert f"{step.id}:" in texts or f"exit: {step.exit}" in texts


def test_the_published_schema_is_the_languages_schema() -> None:
    published = json.loads((ROOT / "docs" / "journey.schema.json").read_text(encoding="utf-8"))
    assert published == json_schema(), "run `omnijourney journeys schema --out docs/journey.schema.json`"


def test_validate_passes_the_shipped_journeys(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["journeys", "validate", str(SHIPPED)]) == 0
    assert capsys.readouterr().out.startswith("9 journey(s) valid")


def test_validate_fails_a_broken_journey_with_file_line_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    path = BROKEN / "unknown_template.yaml"
    assert cli.main(["journeys", "validate", str(path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"{path}:6:28: steps[0].send.template: no template 'abandoned_cart_mail'")
    assert error.endswith("1 error(s) in 1 file(s)\n")


def test_validate_prints_warnings_and_passes_unless_strict(capsys: pytest.CaptureFixture[str]) -> None:
    path = BROKEN / "wait_for_ended_by_goal.yaml"
    assert cli.main(["journeys", "validate", str(path)]) == 0
    lenient = capsys.readouterr()
    assert lenient.err.startswith(f"{path}:11:7: warning: steps[1].wait_for.event: step 'wait_for_order' waits for")
    assert lenient.err.endswith("1 warning(s) in 1 file(s)\n")
    assert lenient.out == "1 journey(s) valid: wait_for_ended_by_goal\n"
    assert cli.main(["journeys", "validate", "--strict", str(path)]) == 1
    strict = capsys.readouterr()
    assert strict.err.endswith("1 warning(s) in 1 file(s)\n--strict: warnings fail validation\n")
    assert strict.out == ""


def test_the_shipped_journeys_have_no_warnings(shipped: dict[str, Journey]) -> None:
    assert load_journeys([SHIPPED]).warnings == ()


def test_validate_of_a_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["journeys", "validate", "no/such/journeys"]) == 2
    assert capsys.readouterr().err == "no such file or folder: no/such/journeys\n"


def test_compile_writes_one_state_machine_per_journey(tmp_path: Path) -> None:
    assert cli.main(["journeys", "compile", str(SHIPPED), "--out", str(tmp_path)]) == 0
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == [f"{name}.asl.json" for name in sorted(load_journeys([SHIPPED]).journeys)]
    machine = json.loads((tmp_path / "win_back.asl.json").read_text())
    assert machine["QueryLanguage"] == "JSONPath"


def test_diagram_writes_svg_pictures(tmp_path: Path) -> None:
    journey = SHIPPED / "welcome_series.yaml"
    assert cli.main(["journeys", "diagram", str(journey), "--format", "svg", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "welcome_series.svg").read_text().startswith("<svg ")


def test_the_diagram_in_the_docs_is_the_shipped_journeys(shipped: dict[str, Journey]) -> None:
    docs = (ROOT / "docs" / "journeys.md").read_text(encoding="utf-8")
    embedded = docs.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert embedded == diagram.mermaid(shipped["abandoned_cart"]), "regenerate it with `omnijourney journeys diagram`"


def a_marketers_copy(tmp_path: Path) -> Path:
    """A copy of config/ with a segment the project does not define, and a journey entered on it."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    with (config / "segments.yaml").open("a", encoding="utf-8") as segments:
        segments.write(
            "\n  lapsed_vips:\n    description: VIPs who have not ordered for 60 days.\n"
            "    when:\n      segment: vip\n      days_since: {last_order: {at_least: 60}}\n"
        )
    journeys = tmp_path / "journeys"
    shutil.copytree(SHIPPED / "templates", journeys / "templates")
    (journeys / "vip_win_back.yaml").write_text(
        "journey: vip_win_back\nentry:\n  segment: lapsed_vips\nsteps:\n  - id: vip_email\n"
        "    send: {channel: email, template: win_back_email, category: marketing}\n"
    )
    return tmp_path


@pytest.mark.parametrize("action", ["validate", "compile", "diagram"])
def test_config_names_the_folder_segments_are_read_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    copy = a_marketers_copy(tmp_path)
    journey = str(copy / "journeys" / "vip_win_back.yaml")
    assert cli.main(["journeys", action, journey]) == 1
    assert "no segment 'lapsed_vips' in config/segments.yaml" in capsys.readouterr().err
    assert cli.main(["journeys", action, journey, "--config", str(copy / "config")]) == 0
    assert capsys.readouterr().err == ""
    # The next command reads the project's config/ again.
    assert cli.main(["journeys", action, journey]) == 1


def test_a_misspelt_segment_is_reported_in_the_segments_file_that_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = a_marketers_copy(tmp_path)
    journey = copy / "journeys" / "vip_win_back.yaml"
    journey.write_text(journey.read_text().replace("segment: lapsed_vips", "segment: lapsed_vip"))
    assert cli.main(["journeys", "validate", str(journey), "--config", str(copy / "config")]) == 1
    segments_file = copy / "config" / "segments.yaml"
    assert (
        f"no segment 'lapsed_vip' in {segments_file.resolve()} (did you mean 'lapsed_vips'?)" in capsys.readouterr().err
    )


def test_validate_with_a_missing_config_folder_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["journeys", "validate", str(SHIPPED), "--config", "no/such/config"]) == 2
    assert capsys.readouterr().err == "no such file or folder: no/such/config\n"


def test_a_broken_template_does_not_fail_a_journey_that_does_not_use_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journeys = a_marketers_copy(tmp_path) / "journeys"
    (journeys / "vip_win_back.yaml").unlink()
    shutil.copy(SHIPPED / "abandoned_cart.yaml", journeys)
    (journeys / "templates" / "vip_note.yaml").write_text("channel: sms\nsubject: Hi\nbody: Hello {{ shop_name }}\n")
    assert cli.main(["journeys", "validate", str(journeys / "abandoned_cart.yaml")]) == 0
    one = capsys.readouterr()
    assert (one.out, one.err) == ("1 journey(s) valid: abandoned_cart\n", "")
    assert cli.main(["journeys", "validate", str(journeys)]) == 1
    folder = capsys.readouterr().err
    vip_note = journeys / "templates" / "vip_note.yaml"
    assert f"{vip_note}:2:1: subject: only email and sales task templates have a subject" in folder
