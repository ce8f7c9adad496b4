"""A marketer simulates in the studio, in headless Chromium: runs a shipped scenario and finds the held message with
its reason in words, with the mouse or the keyboard alone; an upload with a malformed line is named and runs nothing.
Every wait is Playwright's own wait for what the page shows, never a time."""

from __future__ import annotations

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.browser.studio import ROOT, Studio, serious_violations

# Small (12 lines, one customer): her SMS STOP and unsubscribe hold the welcome series' reminder.
SCENARIO = "stop_by_sms_holds_the_cart_reminder.jsonl"
RESULT_SECONDS_MS = 120_000  # moto starting and the scenario playing, on a loaded CI machine
# More key presses than the page has controls (a dozen, and three per customer's messages): a control not reached
# within them is out of the keyboard's reach.
MAX_PRESSES = 60
# The focused element's text (or label) and whether a focus outline is drawn around it; null on the page's body.
FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const name = (element.getAttribute("aria-label") || element.labels?.[0]?.textContent || element.textContent).trim();
  return [name.slice(0, 60), outline];
}"""


def run_scenario(page: Page, studio: Studio, scenario: str) -> None:
    page.goto(f"{studio.url}/")
    page.get_by_role("link", name="Simulate").click()
    page.wait_for_load_state()  # the page's script listens once the page has loaded
    page.get_by_label("A scenario from scenarios/").select_option(scenario)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("heading", name=f"{scenario}: 12 lines, 1 customers")).to_be_visible(
        timeout=RESULT_SECONDS_MS
    )


def test_a_marketer_runs_a_scenario_and_finds_the_held_message_with_its_reason(
    page: Page, clean_studio: Studio
) -> None:
    run_scenario(page, clean_studio, SCENARIO)

    held = page.get_by_role("row").filter(has_text="held welcome_series › resend_welcome")
    expect(held).to_be_visible()
    expect(held).to_contain_text("not sent: the customer opted out of email")
    # The welcome email that was sent shows its text as she read it.
    page.get_by_text("Welcome to omnijourney shop, Lena").click()
    expect(page.get_by_text("Your account works online, in the app and in our stores.")).to_be_visible()
    # The funnel says the same in numbers, and its chart is drawn.
    funnel = page.get_by_role("table", name="welcome_series")
    expect(funnel.get_by_role("row", name="resend_welcome")).to_contain_text(
        "1 not sent: the customer opted out of email"
    )
    chart = page.get_by_role("img", name="funnel of welcome_series", exact=False)
    expect(chart.locator(".mark-rect path").first).to_be_visible()  # its bars are drawn
    expect(page.get_by_role("term").filter(has_text="On Step Functions Standard")).to_be_visible()

    serious = serious_violations(page)
    assert not serious, "\n".join(serious)


def test_an_upload_with_a_malformed_line_is_named_and_runs_nothing(page: Page, clean_studio: Studio) -> None:
    lines = (ROOT / "scenarios" / SCENARIO).read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace('"at"', '"when"', 1)
    page.goto(f"{clean_studio.url}/simulate")

    page.get_by_label("Or a scenario of your own").set_input_files(
        files=[{"name": "mine.jsonl", "mimeType": "application/jsonl", "buffer": "\n".join(lines).encode()}]
    )
    page.get_by_role("button", name="Run the upload").click()

    expect(page.get_by_role("alert")).to_contain_text("mine.jsonl:5: at: Field required")
    assert httpx.get(f"{clean_studio.url}/api/simulation").json()["scenario"] != "mine.jsonl"


def test_a_keyboard_alone_runs_a_scenario_and_reaches_the_held_message_and_the_funnel(
    page: Page, clean_studio: Studio
) -> None:
    page.goto(f"{clean_studio.url}/simulate")
    scenarios = page.get_by_label("A scenario from scenarios/")
    press_until_focused(page, scenarios)
    for _ in range(len(scenarios.locator("option").all())):  # arrow keys walk the select's options
        if scenarios.input_value() == SCENARIO:
            break
        page.keyboard.press("ArrowDown")
    expect(scenarios).to_have_value(SCENARIO)
    press_until_focused(page, page.get_by_role("button", name="Run", exact=True))
    page.keyboard.press("Enter")

    # The page shows the result with the focus on it: the keyboard goes on from there, not from the top.
    expect(page.get_by_role("heading", name=f"{SCENARIO}: 12 lines, 1 customers")).to_be_focused(
        timeout=RESULT_SECONDS_MS
    )
    press_until_focused(
        page, page.get_by_role("navigation", name="parts of the result").get_by_role("link", name="Journeys")
    )
    page.keyboard.press("Enter")
    funnel = page.get_by_role("table", name="welcome_series")
    expect(funnel).to_be_in_viewport()
    expect(funnel.get_by_role("row", name="resend_welcome")).to_contain_text(
        "1 not sent: the customer opted out of email"
    )

    press_until_focused(page, page.locator("details.customer > summary"))  # her timeline, open: she is the only one
    held = page.get_by_role("row").filter(has_text="held welcome_series › resend_welcome")
    expect(held).to_be_visible()
    expect(held).to_contain_text("not sent: the customer opted out of email")
    press_until_focused(page, page.get_by_text("Welcome to omnijourney shop, Lena"))
    page.keyboard.press("Space")
    expect(page.get_by_text("Your account works online, in the app and in our stores.")).to_be_visible()


def test_the_keyboard_leaves_the_simulate_page_and_comes_back_both_ways(page: Page, clean_studio: Studio) -> None:
    page.goto(f"{clean_studio.url}/simulate")
    skip = page.get_by_role("link", name="Skip to content")
    forwards = press_until_focused(page, skip)
    # Past the last control the focus leaves the page, and the next Tab comes round to the first: nothing traps it.
    forwards = press_until_focused(page, skip)
    backwards = press_until_focused(page, skip, key="Shift+Tab")

    assert "Run the upload" in forwards, "every control of the page is on the way round"
    assert backwards == [*forwards[-2::-1], forwards[-1]], "Shift+Tab goes back the way Tab came"


def press_until_focused(page: Page, target: Locator, *, key: str = "Tab") -> list[str]:
    """Press `key` until `target` has the focus, failing if it never does; each control focused on the way shows
    the focus (an outline). The controls passed, by their text, `target` last."""
    passed: list[str] = []
    for _ in range(MAX_PRESSES):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED)
        if focused is None:  # the focus is outside the page (the browser's own controls) or on its body
            continue
        name, outline = focused
        assert outline, f"{name!r} has the focus but shows no outline"
        passed.append(name)
        if target.evaluate("element => element === document.activeElement"):
            return passed
    raise AssertionError(f"{target} never had the focus in {MAX_PRESSES} presses of {key}; passed {passed}")
