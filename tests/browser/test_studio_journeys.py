"""A marketer in the studio, in headless Chromium: the journeys page, a journey's editor, saving, and what the studio
refuses. Every wait is Playwright's own wait for what the page shows, never a time."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from omnijourney_tools.studio.picture import THUMBNAIL_HEIGHT, THUMBNAIL_WIDTH
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


def replace_text(page: Page, text: str) -> None:
    """Select everything in the editor and type `text` over it (as one paste)."""
    page.get_by_label(EDITOR).click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)


def selected_text(page: Page) -> str:
    return str(page.evaluate("() => getSelection().toString()"))


def cursor_line(page: Page) -> str:
    """The line number the editor's gutter shows beside the cursor."""
    return page.locator(".cm-lineNumbers .cm-activeLineGutter").inner_text()


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
    expect(picture).to_contain_text("wait 1h")  # its steps drawn
    drawn = picture.bounding_box()
    assert drawn is not None
    assert 0 < drawn["width"] <= THUMBNAIL_WIDTH + 2, "a thumbnail (and its border), not the whole drawing"
    assert 0 < drawn["height"] <= THUMBNAIL_HEIGHT + 2
    # The draft's typo shows as its errors, and every other journey is still listed as valid.
    draft = page.get_by_role("row").filter(has=page.get_by_role("link", name=DRAFT, exact=True))
    expect(draft).to_contain_text("1 error")
    expect(draft).to_contain_text("no picture until it is valid")
    expect(page.locator("tbody .is-valid")).to_have_count(len(list((ROOT / "journeys").glob("*.yaml"))))


def test_the_yaml_is_highlighted_keys_apart_from_values(page: Page, studio: Studio) -> None:
    open_journey(page, studio, "abandoned_cart")
    key = page.locator(".cm-line .tok-key", has_text=re.compile(r"^journey$"))
    value = page.locator(".cm-line .tok-value", has_text=re.compile(r"^abandoned_cart$"))
    comment = page.locator(".cm-line .tok-comment").first

    expect(key).to_be_visible()
    expect(value).to_be_visible()
    expect(comment).to_contain_text("# yaml-language-server")
    colours = {each.evaluate("e => getComputedStyle(e).color") for each in (key, value, comment)}
    assert len(colours) == 3, f"keys, values and comments are told apart by colour: {colours}"


def test_a_typo_is_marked_at_its_line_and_fixing_it_redraws_the_diagram(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "abandoned_cart")
    typo_line = saved.splitlines().index("      category: marketing") + 1

    replace_text(page, saved.replace("      category: marketing", "      categroy: marketing", 1))

    problem = page.locator("#problems li")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text(f"line {typo_line}, column 7")
    expect(problem).to_contain_text("unknown key 'categroy' (did you mean 'category'?)")
    expect(page.locator("#status")).to_have_text("1 error")
    # The link puts the cursor on the line, where the editor underlines the word and marks the margin.
    problem.get_by_role("button", name=f"line {typo_line}, column 7").click()
    expect(page.get_by_label(EDITOR)).to_be_focused()
    assert cursor_line(page) == str(typo_line)
    marked = page.locator(".cm-activeLine .cm-lintRange-error")
    expect(marked).to_have_text("categroy")
    expect(page.locator(".cm-gutter-lint .cm-lint-marker-error")).to_have_count(1)
    marker = page.locator(".cm-gutter-lint .cm-lint-marker-error").bounding_box()
    numbered = page.locator(".cm-lineNumbers .cm-activeLineGutter").bounding_box()
    assert marker is not None
    assert numbered is not None
    assert abs(marker["y"] - numbered["y"]) < numbered["height"], "the margin's mark is beside the line's number"

    replace_text(page, saved.replace("wait: {hours: 1}", "wait: {hours: 2}"))

    expect(page.locator("#problems")).to_have_text("No problems.")
    expect(page.locator("#status")).to_have_text("valid")
    expect(page.locator(".cm-lintRange-error")).to_have_count(0)
    expect(page.locator(".cm-lint-marker-error")).to_have_count(0)
    expect(page.locator('#diagram a[data-step="give_them_an_hour"]')).to_contain_text("wait 2h")
    assert (studio.journeys / "abandoned_cart.yaml").read_text(encoding="utf-8") == saved, "checking saves nothing"


def test_a_key_typed_in_a_send_step_is_completed_from_the_schema(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "abandoned_cart")
    # The marketer starts a new send step after the first step, the cursor on the send's first line.
    replace_text(page, saved[: saved.index("  # One offer")] + "  - id: text_them\n    send:\n")

    page.keyboard.type("      cha")

    offered = page.get_by_role("listbox").get_by_role("option")
    expect(offered).to_have_count(1)
    expect(offered).to_contain_text("channel")
    # Taken with the mouse: the list ignores Enter for a moment after it opens, so fast typing never picks from it.
    offered.click()
    page.keyboard.type("sm")
    expect(offered).to_have_count(1)
    expect(offered).to_contain_text("sms")
    offered.click()
    page.keyboard.press("Enter")
    # Ctrl-Space lists every key a send step takes but the one written already, and only those.
    page.keyboard.press("Control+Space")
    expect(offered).to_have_count(6)
    names = [name.strip() for name in offered.all_inner_texts()]
    assert sorted(names) == ["category", "offer", "promotes", "target", "template", "without_offer"]
    page.keyboard.press("Escape")
    expect(offered).to_have_count(0)
    assert selected_text(page) == "", "nothing selected: the cursor is at the end of what was typed"
    expect(page.locator(".cm-activeLine")).to_have_text("      ")
    expect(page.locator(".cm-line", has_text="channel: sms")).to_have_text("      channel: sms")


def test_previews_follow_the_template_named_in_the_text_before_it_is_saved(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "abandoned_cart")
    previews = page.get_by_role("region", name="Messages, for a sample customer")
    offer_sms = previews.locator("summary", has_text="cart_sms · sms · abandoned_cart_offer_sms")
    expect(offer_sms).to_have_count(1)
    offer_sms.click()
    expect(previews.locator("details[open] pre")).to_contain_text("is still waiting. Code SAMPLE-CODE")

    replace_text(page, saved.replace("template: abandoned_cart_offer_sms", "template: abandoned_cart_sms"))

    expect(offer_sms).to_have_count(0)
    plain_sms = previews.locator("details", has_text="cart_sms · sms · abandoned_cart_sms")
    expect(plain_sms).to_have_count(2)  # the step's template and its without_offer, now the same
    plain_sms.first.locator("summary").click()
    expect(plain_sms.first.locator("pre")).to_contain_text("is still in your cart. Finish here:")
    assert (studio.journeys / "abandoned_cart.yaml").read_text(encoding="utf-8") == saved, "previewing saves nothing"


def test_a_step_in_the_diagram_selects_its_lines_in_the_editor(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "abandoned_cart")
    page.locator('#diagram a[data-step="cart_email"]').click()

    expect(page.get_by_label(EDITOR)).to_be_focused()
    selected = selected_text(page)
    assert selected.lstrip().startswith("- id: cart_email")
    assert selected.rstrip().endswith("without_offer: abandoned_cart_email")
    first = saved.splitlines().index("  - id: cart_email") + 1
    expect(page.locator(".cm-lineNumbers .cm-gutterElement", has_text=re.compile(f"^{first}$"))).to_be_visible()


def test_saving_writes_the_file_and_shows_what_a_pull_request_would_propose(page: Page, studio: Studio) -> None:
    saved = open_journey(page, studio, "welcome_series")
    expect(page.locator("#proposal-note")).to_have_text("no change since the last commit")
    described = re.sub(r"(?m)^description: .*$", "description: Welcome new subscribers, warmly.", saved)

    replace_text(page, described)
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
        replace_text(page, broken)
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
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"].startswith("the studio answers only at")


def test_the_keyboard_alone_reaches_a_journey_edits_it_leaves_the_editor_saves_and_selects_a_step(
    page: Page, studio: Studio
) -> None:
    file = studio.journeys / "birthday.yaml"
    saved = file.read_text(encoding="utf-8")
    page.goto(f"{studio.url}/")
    tab_to(page, "a journey link", "e => e.tagName === 'A' && e.textContent === 'birthday'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{studio.url}/journeys/birthday")
    expect(page.get_by_label(EDITOR)).to_have_attribute("data-ready", "true")
    tab_to(page, "the editor", "e => e.getAttribute('aria-label') === \"the journey's YAML\"")
    try:
        page.keyboard.type("# Checked by Ada.\n")
        # Tab indents in the editor; Escape, then Tab, leaves it for what comes next on the page.
        page.keyboard.press("Escape")
        page.keyboard.press("Tab")
        expect(page.get_by_label(EDITOR)).not_to_be_focused()
        tab_to(page, "Save", "e => e.id === 'save'")
        page.keyboard.press("Enter")
        expect(page.locator("#saved")).to_have_text("Saved birthday.yaml.")
        assert file.read_text(encoding="utf-8") == "# Checked by Ada.\n" + saved

        tab_to(page, "a step of the diagram", "e => e.dataset && e.dataset.step === 'birthday_sms'")
        page.keyboard.press("Enter")
        expect(page.get_by_label(EDITOR)).to_be_focused()
        assert "id: birthday_sms" in selected_text(page)
    finally:
        file.write_text(saved, encoding="utf-8")


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
