"""The studio's routes through Starlette's TestClient, over a copy of journeys/: what the editor is told, and what a
request the editor would never send gets. (tests/browser drives the same pages in Chromium.)"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from omnijourney_tools import cli
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.studio.app import MAX_TEXT_BYTES, studio_app
from omnijourney_tools.studio.protection import CSRF_HEADER

ROOT = Path(__file__).resolve().parents[2]
PORT = 8090
TOKEN = "the-page-token"


@pytest.fixture
def journeys(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "journeys", tmp_path / "journeys"))


@pytest.fixture
def client(journeys: Path) -> Iterator[TestClient]:
    with TestClient(studio_app(journeys, token=TOKEN), base_url=f"http://127.0.0.1:{PORT}") as client:
        yield client


def after_the_path(line: str) -> str:
    """`journeys/abandoned_cart.yaml:34:7: …` → `34:7: …`: the CLI names the file as given, the studio from its
    folder's name."""
    return line.split(".yaml:", 1)[1]


def test_the_editor_is_told_each_problem_at_its_line_in_the_clis_own_words(
    client: TestClient, journeys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (journeys / "abandoned_cart.yaml").read_text(encoding="utf-8")
    typos = text.replace("category: marketing", "categroy: marketing").replace("priority: 70", "priority: high")

    answer = client.post("/api/journeys/abandoned_cart/check", json={"text": typos}, headers={CSRF_HEADER: TOKEN})

    (journeys / "abandoned_cart.yaml").write_text(typos, encoding="utf-8")
    assert cli.main(["journeys", "validate", str(journeys / "abandoned_cart.yaml")]) == 1
    printed = [line for line in capsys.readouterr().err.splitlines() if ".yaml:" in line]
    checked = answer.json()
    assert answer.status_code == 200
    assert [after_the_path(problem["text"]) for problem in checked["problems"]] == [after_the_path(p) for p in printed]
    assert [(problem["line"], problem["severity"]) for problem in checked["problems"]] == [
        (4, "error"),
        (34, "error"),
        (54, "error"),
    ]
    assert all(problem["file"] == "journeys/abandoned_cart.yaml" for problem in checked["problems"])
    assert checked["status"] == "3 errors"
    assert checked["svg"] is None


def test_valid_text_comes_back_with_its_diagram_and_where_each_step_is(client: TestClient, journeys: Path) -> None:
    text = (journeys / "abandoned_cart.yaml").read_text(encoding="utf-8")

    checked = client.post("/api/journeys/abandoned_cart/check", json={"text": text}, headers={CSRF_HEADER: TOKEN})

    assert checked.json()["status"] == "valid"
    assert 'data-step="sms_allowed"' in checked.json()["svg"]
    lines = text.splitlines()
    first, last = checked.json()["steps"]["sms_allowed"]
    assert lines[first - 1] == "  - id: sms_allowed"
    assert lines[last - 1] == "      otherwise: done"


def test_a_name_that_is_not_a_journey_file_reaches_no_file(client: TestClient, journeys: Path) -> None:
    before = sorted(path.name for path in journeys.parent.rglob("*"))

    page = client.get("/journeys/new_one")
    saved = client.post(
        "/api/journeys/..%2Fshop/save", json={"text": "x: 1\n", "confirmed": True}, headers={CSRF_HEADER: TOKEN}
    )

    assert page.status_code == 404
    assert "no journey named 'new_one'" in page.text
    assert saved.status_code == 404
    assert sorted(path.name for path in journeys.parent.rglob("*")) == before


@pytest.mark.parametrize(
    ("body", "said"),
    [(b"journey: abandoned_cart", "expected JSON"), (b'{"yaml": "journey: x"}', 'expected {"text"')],
)
def test_a_body_the_editor_would_never_send_is_refused_in_words(client: TestClient, body: bytes, said: str) -> None:
    answer = client.post("/api/journeys/abandoned_cart/check", content=body, headers={CSRF_HEADER: TOKEN})
    assert answer.status_code == 400
    assert said in answer.text


def test_outside_a_git_checkout_the_page_says_there_is_no_pull_request_to_propose(client: TestClient) -> None:
    page = client.get("/journeys/abandoned_cart")
    assert page.status_code == 200
    assert "is not a git checkout: there is no pull request to propose from it" in page.text


def test_while_a_journey_has_errors_the_customer_screen_says_so_and_runs_no_other_journeys(journeys: Path) -> None:
    (journeys / "draft.yaml").write_text(
        "journey: draft\nentry: {event: order_completed}\nsteps:\n  - id: thanks\n    sned: {}\n", encoding="utf-8"
    )
    app = studio_app(journeys, token=TOKEN)

    with definitions_from(journeys_dir=journeys), TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
        page = client.get("/customers", params={"by": "phone", "value": "+49 151 23456789"}, follow_redirects=False)

    assert page.status_code == 200
    assert "the journeys in journeys/ have errors: fix them to use the customer screen" in page.text
    assert "draft.yaml:5:" in page.text


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(client: TestClient, journeys: Path) -> None:
    before = (journeys / "abandoned_cart.yaml").read_text(encoding="utf-8")
    declared = {CSRF_HEADER: TOKEN, "Content-Length": str(MAX_TEXT_BYTES + 1), "Content-Type": "application/json"}

    answer = client.post(
        "/api/journeys/abandoned_cart/save", content=b'{"text": "x: 1", "confirmed": true}', headers=declared
    )

    assert answer.status_code == 413
    assert answer.text == f"a journey file is at most {MAX_TEXT_BYTES:,} bytes"
    assert (journeys / "abandoned_cart.yaml").read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"by": "phone", "value": " "}, "Enter a phone, email or loyalty id."),
        (
            {"by": "name", "first_name": "Lena", "last_name": "", "value": "+49 151 23456789"},
            "Enter a first and last name.",
        ),
    ],
)
def test_a_search_without_what_its_lookup_needs_says_what_is_missing(
    client: TestClient, query: dict[str, str], said: str
) -> None:
    page = client.get("/customers", params=query)

    assert page.status_code == 200
    assert f'role="alert">{said}</p>' in page.text
