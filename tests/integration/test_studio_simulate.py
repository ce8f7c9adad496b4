"""The Simulate page's routes through Starlette's TestClient: what an upload with a malformed line is told, and what a
run without the page's token gets. (tests/browser runs a scenario in Chromium.)"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from omnijourney_tools.folders import definitions_from
from omnijourney_tools.studio.app import studio_app
from omnijourney_tools.studio.protection import CSRF_HEADER

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "the-page-token"
NIGHT_SMS = ROOT / "scenarios" / "night_sms_waits_for_morning.jsonl"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    journeys = Path(shutil.copytree(ROOT / "journeys", tmp_path / "journeys"))
    app = studio_app(journeys, token=TOKEN, scenarios=ROOT / "scenarios")
    # As `omnijourney studio --journeys` serves: the runs read this folder's journeys.
    with definitions_from(journeys_dir=journeys), TestClient(app, base_url="http://127.0.0.1:8090") as client:
        yield client


def test_an_upload_with_a_malformed_line_is_told_which_line_and_nothing_runs(client: TestClient) -> None:
    lines = NIGHT_SMS.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rstrip("}")  # a line cut short, as a hand edit leaves it

    answer = client.post(
        "/api/simulation", json={"upload": "my_night.jsonl", "text": "\n".join(lines)}, headers={CSRF_HEADER: TOKEN}
    )

    assert answer.status_code == 400
    assert answer.json()["error"].startswith("my_night.jsonl:3: not JSON:")
    assert client.get("/api/simulation").json()["state"] == "idle"
    assert "my_night.jsonl" not in client.get("/simulate").text


def test_a_line_that_is_json_but_not_a_scenario_line_is_named_with_its_field(client: TestClient) -> None:
    text = NIGHT_SMS.read_text(encoding="utf-8") + json.dumps({"at": "yesterday", "lookup": {"phone": "+1"}}) + "\n"

    answer = client.post("/api/simulation", json={"upload": "late.jsonl", "text": text}, headers={CSRF_HEADER: TOKEN})

    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"late.jsonl:{len(text.splitlines())}: at:")
    assert client.get("/api/simulation").json()["state"] == "idle"


def test_a_run_without_the_pages_token_is_refused_and_nothing_runs(client: TestClient) -> None:
    without = client.post("/api/simulation", json={"scenario": NIGHT_SMS.name})
    forged = client.post("/api/simulation", json={"scenario": NIGHT_SMS.name}, headers={CSRF_HEADER: "guessed"})

    assert without.status_code == forged.status_code == 403
    assert "X-CSRF-Token" in without.text
    assert client.get("/api/simulation").json()["state"] == "idle"


def test_a_scenario_name_that_is_not_a_file_of_scenarios_is_refused(client: TestClient) -> None:
    answer = client.post("/api/simulation", json={"scenario": "../README.md"}, headers={CSRF_HEADER: TOKEN})

    assert answer.status_code == 400
    assert answer.json()["error"] == "no scenario named '../README.md' in scenarios/"
    assert client.get("/api/simulation").json()["state"] == "idle"


def test_the_page_lists_the_shipped_scenarios(client: TestClient) -> None:
    page = client.get("/simulate")

    assert page.status_code == 200
    for scenario in (ROOT / "scenarios").glob("*.jsonl"):
        assert f"<option>{scenario.name}</option>" in page.text


def test_a_journey_with_errors_stops_a_run_before_it_starts_naming_the_file(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "journeys" / "draft.yaml").write_text(
        "journey: draft\nentry: {event: order_completed}\nsteps:\n  - id: thanks\n    sned: {}\n", encoding="utf-8"
    )

    answer = client.post("/api/simulation", json={"scenario": NIGHT_SMS.name}, headers={CSRF_HEADER: TOKEN})

    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"nothing ran: {tmp_path / 'journeys' / 'draft.yaml'}:5:")
    assert client.get("/api/simulation").json()["state"] == "idle"


@pytest.mark.parametrize("file", ["/etc/hostname", "../README.md", "../events/../pyproject.toml"])
def test_an_upload_reads_no_file_outside_scenarios_and_events_and_names_the_line(client: TestClient, file: str) -> None:
    line = {"at": "2026-03-02T18:05:01Z", "source": "segment", "file": file}

    answer = client.post(
        "/api/simulation", json={"upload": "peek.jsonl", "text": json.dumps(line)}, headers={CSRF_HEADER: TOKEN}
    )

    assert answer.status_code == 400
    said = answer.json()["error"]
    assert said == f"peek.jsonl:1: file {file}: only a file under scenarios/ or events/ can be read"
    assert str(ROOT) not in said
    assert client.get("/api/simulation").json()["state"] == "idle"


def test_an_upload_names_a_missing_sample_without_the_studios_folders(client: TestClient) -> None:
    line = {"at": "2026-03-02T18:05:01Z", "source": "segment", "file": "../events/segment/no_such.json"}

    answer = client.post(
        "/api/simulation", json={"upload": "typo.jsonl", "text": json.dumps(line)}, headers={CSRF_HEADER: TOKEN}
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "typo.jsonl:1: file ../events/segment/no_such.json: cannot be read: No such file or directory"
    )
