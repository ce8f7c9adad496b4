"""The Simulate page's routes through Starlette's TestClient: what an upload with a malformed line is told, what a
run without the page's token gets, and that starting a run reads the journeys as saved without swapping the definitions
the studio's process serves. (tests/browser runs a scenario in Chromium.)"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from omnijourney.app import config
from omnijourney.edge.http import PROBLEM_JSON
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.studio.app import studio_app
from omnijourney_tools.studio.protection import CSRF_HEADER

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "the-page-token"
NIGHT_SMS = ROOT / "scenarios" / "night_sms_waits_for_morning.jsonl"
# Moto starting in the run's own process and six lines playing, on a loaded machine; only a bound on waiting.
RUN_SECONDS = 180


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
    assert refusal(answer).startswith("my_night.jsonl:3: not JSON:")
    assert client.get("/api/simulation").json()["state"] == "idle"
    assert "my_night.jsonl" not in client.get("/simulate").text


def test_a_line_that_is_json_but_not_a_scenario_line_is_named_with_its_field(client: TestClient) -> None:
    text = NIGHT_SMS.read_text(encoding="utf-8") + json.dumps({"at": "yesterday", "lookup": {"phone": "+1"}}) + "\n"

    answer = client.post("/api/simulation", json={"upload": "late.jsonl", "text": text}, headers={CSRF_HEADER: TOKEN})

    assert answer.status_code == 400
    assert refusal(answer).startswith(f"late.jsonl:{len(text.splitlines())}: at:")
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
    assert refusal(answer) == "no scenario named '../README.md' in scenarios/"
    assert client.get("/api/simulation").json()["state"] == "idle"


def test_the_page_lists_the_shipped_scenarios(client: TestClient) -> None:
    page = client.get("/simulate")

    assert page.status_code == 200
    for scenario in (ROOT / "scenarios").glob("*.jsonl"):
        assert f"<option>{scenario.name}</option>" in page.text


def test_a_journey_with_errors_stops_a_run_before_it_starts_naming_the_file(client: TestClient, tmp_path: Path) -> None:
    served = config.journeys()
    (tmp_path / "journeys" / "draft.yaml").write_text(
        "journey: draft\nentry: {event: order_completed}\nsteps:\n  - id: thanks\n    sned: {}\n", encoding="utf-8"
    )

    answer = client.post("/api/simulation", json={"scenario": NIGHT_SMS.name}, headers={CSRF_HEADER: TOKEN})

    assert answer.status_code == 400
    assert refusal(answer).startswith(f"nothing ran: {tmp_path / 'journeys' / 'draft.yaml'}:5:")
    assert client.get("/api/simulation").json()["state"] == "idle"
    assert config.journeys() is served, "the studio keeps serving the journeys it had, the draft's errors aside"


@pytest.mark.parametrize("file", ["/etc/hostname", "../README.md", "../events/../pyproject.toml"])
def test_an_upload_reads_no_file_outside_scenarios_and_events_and_names_the_line(client: TestClient, file: str) -> None:
    line = {"at": "2026-03-02T18:05:01Z", "source": "segment", "file": file}

    answer = client.post(
        "/api/simulation", json={"upload": "peek.jsonl", "text": json.dumps(line)}, headers={CSRF_HEADER: TOKEN}
    )

    assert answer.status_code == 400
    said = refusal(answer)
    assert said == f"peek.jsonl:1: file {file}: only a file under scenarios/ or events/ can be read"
    assert str(ROOT) not in said
    assert client.get("/api/simulation").json()["state"] == "idle"


def test_an_upload_names_a_missing_sample_without_the_studios_folders(client: TestClient) -> None:
    line = {"at": "2026-03-02T18:05:01Z", "source": "segment", "file": "../events/segment/no_such.json"}

    answer = client.post(
        "/api/simulation", json={"upload": "typo.jsonl", "text": json.dumps(line)}, headers={CSRF_HEADER: TOKEN}
    )

    assert answer.status_code == 400
    assert refusal(answer) == (
        "typo.jsonl:1: file ../events/segment/no_such.json: cannot be read: No such file or directory"
    )


def test_starting_a_run_keeps_the_definitions_the_studio_serves_and_plays_the_journeys_as_saved(
    client: TestClient, tmp_path: Path
) -> None:
    served = config.journeys()  # what the customer screen's backend and the editor's previews run on
    post_purchase = tmp_path / "journeys" / "post_purchase.yaml"
    post_purchase.write_text(
        post_purchase.read_text(encoding="utf-8").replace("id: let_it_arrive", "id: let_the_parcel_arrive"),
        encoding="utf-8",
    )

    answer = client.post("/api/simulation", json={"scenario": NIGHT_SMS.name}, headers={CSRF_HEADER: TOKEN})
    assert answer.status_code == 202
    assert finished(client)["state"] == "finished"

    assert config.journeys() is served, "starting a run swapped the definitions the process serves"
    funnel = client.get("/simulate").text
    assert '<th scope="row">let_the_parcel_arrive</th><td>1</td>' in funnel, "the result names the saved step"
    assert "let_it_arrive" not in funnel


def test_a_customers_timeline_is_fetched_from_the_result_the_page_shows(client: TestClient) -> None:
    client.post("/api/simulation", json={"scenario": NIGHT_SMS.name}, headers={CSRF_HEADER: TOKEN})
    assert finished(client)["state"] == "finished"
    page = client.get("/simulate").text
    found = re.search(r'data-timeline="(/simulate/runs/(\d+)/customers/[^"]+)"', page)
    assert found, "each customer on the page names where its timeline is"

    timeline = client.get(found[1])
    replaced = client.get(found[1].replace(f"/runs/{found[2]}/", f"/runs/{int(found[2]) + 1}/"))

    assert timeline.status_code == 200
    assert "win_back › win_back_text" in timeline.text
    assert "waited for the customer&#39;s morning" in timeline.text
    assert replaced.status_code == 404
    assert refusal(replaced) == "this result is gone: a newer run has replaced it; reload the page"


def refusal(answer: httpx.Response) -> str:
    """The `detail` of a refusal, which is a problem (RFC 9457), as every studio error is."""
    assert answer.headers["content-type"] == PROBLEM_JSON
    problem = answer.json()
    assert problem["status"] == answer.status_code
    return str(problem["detail"])


def finished(client: TestClient) -> dict[str, Any]:
    """The run's progress once it has stopped playing."""
    deadline = time.monotonic() + RUN_SECONDS
    while (progress := client.get("/api/simulation").json())["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    return dict(progress)
