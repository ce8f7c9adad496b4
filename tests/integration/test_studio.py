"""The studio's routes through Starlette's TestClient, over a copy of journeys/: what the editor is told, and what a
request the editor would never send gets. (tests/browser drives the same pages in Chromium.)"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from omnijourney_tools import cli
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.studio.app import MAX_TEXT_BYTES, studio_app
from omnijourney_tools.studio.customer import Counter, customer_routes, demo_lines
from omnijourney_tools.studio.front_end import FrontEndMissing
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
    assert page.json()["detail"] == "no journey named 'new_one' in journeys/"
    assert saved.status_code == 404
    assert sorted(path.name for path in journeys.parent.rglob("*")) == before


@pytest.mark.parametrize(
    ("body", "said"),
    [(b"journey: abandoned_cart", "expected JSON"), (b'{"yaml": "journey: x"}', 'expected {"text"')],
)
def test_a_body_the_editor_would_never_send_is_refused_in_words(client: TestClient, body: bytes, said: str) -> None:
    answer = client.post("/api/journeys/abandoned_cart/check", content=body, headers={CSRF_HEADER: TOKEN})
    assert answer.status_code == 400
    assert said in answer.json()["detail"]


def test_previews_follow_the_text_as_typed_and_stay_away_while_it_has_errors(
    client: TestClient, journeys: Path
) -> None:
    text = (journeys / "abandoned_cart.yaml").read_text(encoding="utf-8")
    plain = text.replace("template: abandoned_cart_offer_sms", "template: abandoned_cart_sms")

    def previews(typed: str) -> list[dict[str, str]] | None:
        answer = client.post("/api/journeys/abandoned_cart/check", json={"text": typed}, headers={CSRF_HEADER: TOKEN})
        shown: list[dict[str, str]] | None = answer.json()["previews"]
        return shown

    saved, typed, broken = previews(text), previews(plain), previews(text.replace("steps:", "stepz:"))

    assert saved is not None
    assert typed is not None
    assert [(shown["step"], shown["template"]) for shown in saved if shown["step"] == "cart_sms"] == [
        ("cart_sms", "abandoned_cart_offer_sms"),
        ("cart_sms", "abandoned_cart_sms"),
    ]
    assert [(shown["step"], shown["template"]) for shown in typed if shown["step"] == "cart_sms"] == [
        ("cart_sms", "abandoned_cart_sms"),
        ("cart_sms", "abandoned_cart_sms"),
    ]
    sms = next(shown for shown in typed if shown["step"] == "cart_sms")
    assert sms["channel"] == "sms"
    assert "is still in your cart. Finish here:" in sms["text"]
    assert "── abandoned_cart_sms · sms · de · for a sample customer (not a real profile)" in sms["text"]
    assert broken is None


def test_the_editor_completes_keys_from_the_schema_the_studio_serves(client: TestClient) -> None:
    published = json.loads((ROOT / "docs" / "journey.schema.json").read_text(encoding="utf-8"))
    assert client.get("/journey.schema.json").json() == published


@pytest.mark.parametrize(
    ("refusal", "status", "title", "said"),
    [
        ("unknown journey", 404, "Not Found", "no journey named 'new_one' in journeys/"),
        ("body too large", 413, "Request Entity Too Large", f"a journey file is at most {MAX_TEXT_BYTES:,} bytes"),
        ("no CSRF token", 403, "Forbidden", "a change needs the studio page's X-CSRF-Token: reload the page"),
        ("foreign Host", 400, "Bad Request", f"the studio answers only at 127.0.0.1:{PORT} or localhost:{PORT}"),
        ("malformed JSON", 400, "Bad Request", "expected JSON with the journey's text: Expecting value"),
        ("no such page", 404, "Not Found", "Not Found"),
    ],
)
def test_every_refusal_is_a_problem_with_its_status_and_a_sentence(
    client: TestClient, refusal: str, status: int, title: str, said: str
) -> None:
    check = "/api/journeys/abandoned_cart/check"
    with_token = {CSRF_HEADER: TOKEN}
    answer = {
        "unknown journey": lambda: client.get("/journeys/new_one"),
        "body too large": lambda: client.post(
            check, content=b"{}", headers={**with_token, "Content-Length": str(MAX_TEXT_BYTES + 1)}
        ),
        "no CSRF token": lambda: client.post(check, json={"text": "journey: x\n"}),
        "foreign Host": lambda: client.get("/", headers={"Host": "attacker.example"}),
        "malformed JSON": lambda: client.post(check, content=b'{"text": ', headers=with_token),
        "no such page": lambda: client.get("/no/such/page"),
    }[refusal]()

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem.pop("detail").startswith(said)
    assert problem == {"type": "about:blank", "title": title, "status": status}


def test_the_editors_style_sheet_is_let_in_by_a_nonce_new_with_every_page(client: TestClient) -> None:
    pages = [client.get("/journeys/abandoned_cart") for _ in range(2)]

    nonces = []
    for page in pages:
        allowed = re.search(r"style-src 'self' 'nonce-([\w-]+)'", page.headers["content-security-policy"])
        assert allowed, page.headers["content-security-policy"]
        assert f'<meta name="csp-nonce" content="{allowed.group(1)}">' in page.text
        nonces.append(allowed.group(1))
    assert nonces[0] != nonces[1]
    assert "script-src" not in pages[0].headers["content-security-policy"], "scripts stay the studio's own files"


def test_without_the_built_front_end_the_studio_does_not_start_and_says_to_run_make_web(
    journeys: Path, tmp_path: Path
) -> None:
    with pytest.raises(FrontEndMissing, match=r"run `make web`"):
        studio_app(journeys, token=TOKEN, assets=tmp_path / "web" / "dist")


def test_outside_a_git_checkout_the_page_says_there_is_no_pull_request_to_propose(client: TestClient) -> None:
    proposal = client.get("/api/journeys/abandoned_cart/proposal")
    assert proposal.status_code == 200
    assert proposal.json()["diff"] == ""
    assert proposal.json()["note"].endswith("is not a git checkout: there is no pull request to propose from it")


def statuses_on_the_journeys_page(client: TestClient) -> dict[str, str]:
    """Each journey's status, as its row on the journeys page shows it."""
    page = client.get("/")
    return dict(
        re.findall(r'href="/journeys/(\w+)">\1</a></th>\s*<td><span class="status [^"]+">([^<]+)</span>', page.text)
    )


def test_a_saved_change_to_a_template_or_to_config_shows_on_the_journeys_page(journeys: Path, tmp_path: Path) -> None:
    settings = Path(shutil.copytree(ROOT / "config", tmp_path / "config"))
    template = journeys / "templates" / "abandoned_cart_sms.yaml"
    written = template.read_text(encoding="utf-8")
    app = studio_app(journeys, token=TOKEN)

    with definitions_from(config_dir=settings), TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
        before = statuses_on_the_journeys_page(client)
        template.write_text(written.replace("{{ first_cart_item }}", "{{ first_cart_itme }}"), encoding="utf-8")
        template_typo = statuses_on_the_journeys_page(client)
        template.write_text(written, encoding="utf-8")
        template_fixed = statuses_on_the_journeys_page(client)
        (settings / "shop.yaml").write_text("locale: en-GB\ncurrency: euros\n", encoding="utf-8")
        shop_typo = statuses_on_the_journeys_page(client)

    every_journey = sorted(path.stem for path in journeys.glob("*.yaml"))
    assert before == dict.fromkeys(every_journey, "valid")
    assert template_typo == before | {"abandoned_cart": "1 error"}  # the one journey that sends it
    assert template_fixed == before
    assert shop_typo == dict.fromkeys(every_journey, "1 error")


def test_while_a_journey_has_errors_the_customer_screen_says_so_and_runs_no_other_journeys(journeys: Path) -> None:
    (journeys / "draft.yaml").write_text(
        "journey: draft\nentry: {event: order_completed}\nsteps:\n  - id: thanks\n    sned: {}\n", encoding="utf-8"
    )
    app = studio_app(journeys, token=TOKEN)

    with definitions_from(journeys_dir=journeys), TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
        answer = client.post(
            "/customers/staff/search", json={"phone": "+49 151 23456789"}, headers={CSRF_HEADER: TOKEN}
        )

    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert detail.startswith("the journeys in journeys/ have errors: fix them to use the customer screen")
    assert "draft.yaml:5:" in detail


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(client: TestClient, journeys: Path) -> None:
    before = (journeys / "abandoned_cart.yaml").read_text(encoding="utf-8")
    declared = {CSRF_HEADER: TOKEN, "Content-Length": str(MAX_TEXT_BYTES + 1), "Content-Type": "application/json"}

    answer = client.post(
        "/api/journeys/abandoned_cart/save", content=b'{"text": "x: 1", "confirmed": true}', headers=declared
    )

    assert answer.status_code == 413
    assert answer.json()["detail"] == f"a journey file is at most {MAX_TEXT_BYTES:,} bytes"
    assert (journeys / "abandoned_cart.yaml").read_text(encoding="utf-8") == before


def test_the_customer_screen_is_told_the_shops_locale_and_currency_and_the_pages_token(
    journeys: Path, tmp_path: Path
) -> None:
    settings = Path(shutil.copytree(ROOT / "config", tmp_path / "config"))
    (settings / "shop.yaml").write_text("locale: de-CH\ncurrency: CHF\n", encoding="utf-8")
    app = studio_app(journeys, token=TOKEN)

    with definitions_from(config_dir=settings), TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
        screen = client.get("/customers")
        told = client.get("/customers/config.json").json()
        unknown = client.get(f"{told['api']}/customers/cus_nobody")

    assert screen.url.path == "/customers/"
    assert '<script type="module" src="app.js"></script>' in screen.text
    assert told == {
        "api": "/customers/staff",
        "locale": "de-CH",
        "currency": "CHF",
        "sign_in": None,
        "csrf": {"header": CSRF_HEADER, "token": TOKEN},
        "studio": {"href": "/", "folder": "journeys"},
    }
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no customer cus_nobody"


def test_without_the_built_customer_screen_the_studio_does_not_start_and_says_to_run_make_web(tmp_path: Path) -> None:
    with pytest.raises(FrontEndMissing, match=r"index\.html, app\.js, customer\.css missing in .*: run `make web`"):
        customer_routes(Counter(demo_lines, folder="journeys"), folder="journeys", token=TOKEN, screen=tmp_path)


def test_the_editors_script_is_asked_for_again_at_every_page_so_a_rebuild_never_mixes_old_and_new_parts(
    client: TestClient,
) -> None:
    script = client.get("/assets/editor.js")
    again = client.get("/assets/editor.js", headers={"If-None-Match": script.headers["etag"]})

    assert script.status_code == 200
    assert script.headers["cache-control"] == "no-cache"
    assert again.status_code == 304, "unchanged since: nothing sent again"
