"""A marketer in the studio, in headless Chromium: the journeys page, a journey's editor, saving, and what the studio
refuses. Every wait is Playwright's own wait for what the page shows, never a time."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.studio import DRAFT, ROOT, Studio, serious_violations

EDITOR = "the journey's YAML"
MOST_TABS = 30


def open_journey(page: Page, studio: Studio, name: str) -> str:
    """Open a journey from the journeys page, as a marketer does; its text as saved."""
    page.goto(f"{studio.url}/")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    # The editor's script listens from here on (the page is shown before a slow script has run).
    expect(page.get_by_label(EDITOR)).to_have_attribute("data-ready", "true")
    return (studio.journeys / f"{name}.yaml").read_text(encoding="utf-8")


def test_the_journeys_page_shows_each_journey_with_its_status_entry_priority_and_picture(
    page: Page, studio: Studio
) -> None:
    page.goto(f"{studio.url}/")
    cart = page.get_by_role("row").filter(has=page.get_by_role("link", name="abandoned_cart", exact=True))
    expect(cart).to_contain_text("valid")
    expect(cart).to_contain_text("checkout_started where cart_value ≥ 50")
    expect(cart).to_contain_text("70")
    picture = cart.get_by_role("img", name="diagram of abandoned_cart")
    expect(picture).to_be_visible()
    expect(picture).to_have_js_property("complete", True)
    assert picture.evaluate("image => image.naturalWidth") > 0, "the picture is drawn, not a broken image"
    # The draft's typo shows as its errors, and every other journey is still listed as valid.
    draft = page.get_by_role("row").filter(has=page.get_by_role("link", name=DRAFT, exact=True))
    expect(draft).to_contain_text("1 error")
    expect(draft).to_contain_text("no picture until it is valid")
    expect(page.locator("tbody .is-valid")).to_have_count(len(list((ROOT / "journeys").glob("*.yaml"))))


def test_a_typo_is_marked_at_its_line_and_fixing_it_redraws_the_diagram(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "abandoned_cart")
    editor = page.get_by_label(EDITOR)
    typo_line = saved.splitlines().index("      category: marketing") + 1

    editor.fill(saved.replace("      category: marketing", "      categroy: marketing", 1))

    problem = page.locator("#problems li")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text(f"line {typo_line}, column 7")
    expect(problem).to_contain_text("unknown key 'categroy' (did you mean 'category'?)")
    expect(page.locator(f'#gutter [data-line="{typo_line}"]')).to_have_class(re.compile(r"\bproblem-error\b"))
    expect(page.locator("#status")).to_have_text("1 error")

    editor.fill(saved.replace("wait: {hours: 1}", "wait: {hours: 2}"))

    expect(page.locator("#problems")).to_have_text("No problems.")
    expect(page.locator("#status")).to_have_text("valid")
    expect(page.locator(f'#gutter [data-line="{typo_line}"]')).not_to_have_class(re.compile(r"\bproblem-error\b"))
    expect(page.locator('#diagram a[data-step="give_them_an_hour"]')).to_contain_text("wait 2h")
    assert (studio.journeys / "abandoned_cart.yaml").read_text(encoding="utf-8") == saved, "checking saves nothing"


def test_a_step_in_the_diagram_selects_its_lines_in_the_editor(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "abandoned_cart")
    page.locator('#diagram a[data-step="cart_email"]').click()
    # The page's first check may redraw the diagram around the click: wait until the editor holds a selection.
    page.wait_for_function("() => { const e = document.getElementById('yaml'); return e.selectionEnd > 0; }")

    selected = page.get_by_label(EDITOR).evaluate("e => e.value.slice(e.selectionStart, e.selectionEnd)")
    assert selected.lstrip().startswith("- id: cart_email")
    assert selected.rstrip().endswith("without_offer: abandoned_cart_email")
    first = saved.splitlines().index("  - id: cart_email") + 1
    expect(page.locator(f'#gutter [data-line="{first}"]')).to_have_class(re.compile(r"\bselected\b"))


def test_saving_writes_the_file_and_shows_what_a_pull_request_would_propose(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "welcome_series")
    expect(page.locator("#proposal-note")).to_have_text("no change since the last commit")
    described = re.sub(r"(?m)^description: .*$", "description: Welcome new subscribers, warmly.", saved)

    page.get_by_label(EDITOR).fill(described)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#saved")).to_have_text("Saved welcome_series.yaml.")
    assert (studio.journeys / "welcome_series.yaml").read_text(encoding="utf-8") == described
    expect(page.locator("#proposal-note")).to_have_text("a pull request would propose this change")
    expect(page.locator("#diff")).to_contain_text("+description: Welcome new subscribers, warmly.")


def test_text_with_errors_replaces_a_valid_file_only_once_the_marketer_confirms(page: Page, studio: Studio) -> None:
    file = studio.journeys / "post_purchase.yaml"
    saved = open_journey(page, studio, "post_purchase")
    broken = saved.replace("steps:", "stepz:", 1)
    try:
        page.get_by_label(EDITOR).fill(broken)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#confirm")).to_contain_text("would replace a valid journeys/post_purchase.yaml")
        page.get_by_role("button", name="Keep the saved file").click()
        expect(page.locator("#saved")).to_have_text("Not saved: the file keeps its last valid text.")
        assert file.read_text(encoding="utf-8") == saved

        page.get_by_role("button", name="Save", exact=True).click()
        page.get_by_role("button", name="Save anyway").click()

        expect(page.locator("#saved")).to_have_text("Saved post_purchase.yaml.")
        assert file.read_text(encoding="utf-8") == broken
    finally:
        file.write_text(saved, encoding="utf-8")


@pytest.mark.parametrize("token", [None, "a-guessed-token"])
def test_a_write_without_the_pages_csrf_token_is_refused_and_changes_nothing(
    page: Page, studio: Studio, token: str | None
) -> None:
    saved = (studio.journeys / "win_back.yaml").read_text(encoding="utf-8")
    headers = {"X-CSRF-Token": token} if token else {}

    answer = page.request.post(
        f"{studio.url}/api/journeys/win_back/save",
        data={"text": "journey: win_back\n", "confirmed": True},
        headers=headers,
    )

    assert answer.status == 403
    assert (studio.journeys / "win_back.yaml").read_text(encoding="utf-8") == saved


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}", "127.0.0.1:1"])
def test_a_foreign_host_header_is_refused(studio: Studio, host: str) -> None:
    port = studio.url.rsplit(":", 1)[1]
    answer = httpx.get(f"{studio.url}/", headers={"Host": host.format(port=port)})
    assert answer.status_code == 400
    assert "the studio answers only at" in answer.text


def test_the_keyboard_alone_reaches_a_journey_its_editor_and_its_steps(page: Page, studio: Studio) -> None:
    page.goto(f"{studio.url}/")
    tab_to(page, "a journey link", "e => e.tagName === 'A' && e.textContent === 'abandoned_cart'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{studio.url}/journeys/abandoned_cart")
    tab_to(page, "the editor", "e => e.id === 'yaml'")
    tab_to(page, "a step of the diagram", "e => e.dataset && e.dataset.step === 'give_them_an_hour'")
    page.keyboard.press("Enter")
    selected = page.get_by_label(EDITOR).evaluate("e => e.value.slice(e.selectionStart, e.selectionEnd)")
    assert "id: give_them_an_hour" in selected


def tab_to(page: Page, what: str, is_it: str) -> None:
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(f"({is_it})(document.activeElement)"):
            return
    raise AssertionError(f"{MOST_TABS} presses of Tab did not reach {what}")


@pytest.mark.parametrize("path", ["/", "/journeys/abandoned_cart"])
def test_axe_finds_no_serious_accessibility_violation(page: Page, studio: Studio, path: str) -> None:
    page.goto(f"{studio.url}{path}")
    expect(page.locator("main")).to_be_visible()
    serious = serious_violations(page)
    assert not serious, "\n".join(serious)
