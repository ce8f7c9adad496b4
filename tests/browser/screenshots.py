"""`make screenshots`: the studio's pages as PNGs in docs/img/, for the README and docs/studio.md.

The studio runs over a copy of journeys/ and config/ (with a draft that has a typo, as a marketer's clone may have);
the journey page is shown while the marketer has a typo in the text, the Simulate page with a scenario's result, and
the customer screen with Lena found by her phone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.studio import CHROMIUM, DRAFT, ROOT, studio_over, working_copy

IMAGES = ROOT / "docs" / "img"
VIEWPORT = {"width": 1400, "height": 1000}
SIMULATED = "stop_by_sms_holds_the_cart_reminder.jsonl"
SIMULATION_MS = 120_000
# The customer screen's backend plays the demo story on the first search.
FIRST_SEARCH_MS = 60_000


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        studio_over(working_copy(Path(scratch))) as studio,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{studio.url}/")
        expect(page.locator("tbody tr").first).to_be_visible()
        page.screenshot(path=IMAGES / "studio-journeys.png", full_page=True)
        page.goto(f"{studio.url}/journeys/abandoned_cart")
        editor = page.get_by_label("the journey's YAML")
        expect(editor).to_have_attribute("data-ready", "true")
        text = (studio.journeys / "abandoned_cart.yaml").read_text(encoding="utf-8")
        editor.click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.insert_text(text.replace("      category: marketing", "      categroy: marketing", 1))
        expect(page.locator("#status")).to_have_text("1 error")
        page.get_by_role("button", name="line 34, column 7").click()
        page.screenshot(path=IMAGES / "studio-journey.png")
        # A journey with errors stops a simulation (as it stops the CLI's): the marketer deletes the draft first.
        (studio.journeys / f"{DRAFT}.yaml").unlink()
        page.goto(f"{studio.url}/simulate")
        page.get_by_label("A scenario from scenarios/").select_option(SIMULATED)
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page.get_by_role("heading", name=SIMULATED, exact=False)).to_be_visible(timeout=SIMULATION_MS)
        # The one customer's timeline is fetched once the result is shown.
        expect(page.locator("table.timeline")).to_be_visible()
        page.screenshot(path=IMAGES / "studio-simulate.png", full_page=True)
        page.goto(f"{studio.url}/customers")
        page.get_by_label("Phone", exact=True).fill("+49 151 23456789")
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_role("region", name="Live offers")).to_contain_text("CAREKIT-", timeout=FIRST_SEARCH_MS)
        page.screenshot(path=IMAGES / "studio-customer.png", full_page=True)
        browser.close()
    for name in ("studio-journeys.png", "studio-journey.png", "studio-simulate.png", "studio-customer.png"):
        print(IMAGES / name)


if __name__ == "__main__":
    main()
