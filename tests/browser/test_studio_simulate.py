"""A marketer simulates in the studio, in headless Chromium: runs a shipped scenario and finds the held message with
its reason in words; an upload with a malformed line is named and runs nothing. Every wait is Playwright's own wait
for what the page shows, never a time."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.studio import ROOT, Studio, serious_violations

# Small (12 lines, one customer): her SMS STOP and unsubscribe hold the welcome series' reminder.
SCENARIO = "stop_by_sms_holds_the_cart_reminder.jsonl"
RESULT_SECONDS_MS = 120_000  # moto starting and the scenario playing, on a loaded CI machine


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
    expect(chart).to_have_js_property("complete", True)
    assert chart.evaluate("image => image.naturalWidth") > 0, "the chart is drawn, not a broken image"
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
