"""The scorecard's HTML report (`omnijourney metrics --html FILE`) opened from disk in headless Chromium: it shows every
section with nothing fetched from anywhere, its charts are images named by their figures, and axe finds nothing
serious, with the list of every violation closed or open."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.studio import serious_violations
from tests.integration.test_scorecard_report import shop_report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    file = folder / "scorecard.html"
    file.write_text(shop_report(folder / "lake"), encoding="utf-8")
    return file


def test_the_report_opens_offline_with_every_section(page: Page, report: Path) -> None:
    requested: list[str] = []

    def note(request: Request) -> None:
        requested.append(request.url)

    page.on("request", note)
    page.goto(report.as_uri())

    for section in ("In short", "Lifetime value", "Cross-channel conversion", "Consistency", "Journeys"):
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Holdout lift", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^holdout lift: abandoned_cart: −50 points"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^funnel of abandoned_cart: 4 entered"))).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^in_quiet_hours 1 "))).to_be_visible()
    expect(page.get_by_text("$0.0004 on Step Functions Standard", exact=False)).to_be_visible()
    assert requested == [report.as_uri()]  # the page alone: no style, script, font or image from anywhere


def test_axe_finds_nothing_serious_with_the_violations_closed_or_open(page: Page, report: Path) -> None:
    page.goto(report.as_uri())
    assert serious_violations(page) == []

    page.get_by_text("Every violation", exact=True).click()
    expect(page.get_by_role("cell", name="sent_after_erasure")).to_be_visible()
    assert serious_violations(page) == []
