"""A clerk reads what sales has going with the customer: the customer screen (web/dist/customer) over the staff API's
real answer for Lena, a HubSpot contact of rep 83712 with an open deal, a won one, and the task b2b_cart_to_sales
created for her rep when she left a large cart (tests/integration/test_sales_view.py)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.studio import serious_violations
from tests.browser.test_customer_unconfirmed import shown
from tests.integration.test_sales_view import deals_and_a_sales_task, sales_backend
from tests.integration.test_staff_api import staff

SCREENSHOT = "/tmp/customer_sales.png"


@pytest.fixture(scope="module")
def lenas_page() -> dict[str, Any]:
    """Her page as the staff API answers it, two hours after she left the cart."""
    with sales_backend() as harness:
        lena = deals_and_a_sales_task(harness)
        status, page = staff(harness, "GET", f"/staff/customers/{lena}")
    assert status == 200, page
    assert [deal["status"] for deal in page["deals"]] == ["open", "won"]
    assert len(page["sales_tasks"]) == 1
    return page


def listed(page: Page, section: str) -> Locator:
    """The entries of a section's own list (a deal's line items are in a list of the deal's)."""
    return page.get_by_role("region", name=section).locator(":scope ul.sales > li")


def test_a_clerk_reads_the_open_deal_first_with_its_products_and_the_task_for_her_rep(
    page: Page, lenas_page: dict[str, Any]
) -> None:
    shown(page, lenas_page)

    # Closing on 4 March 2026 (10:29 UTC): the same day in the counter's time zone, whichever it is here.
    expect(listed(page, "Deals")).to_have_text(
        [
            "Deal “Trail running kit for the club” — contract sent, €1,299.00, owner 83712, closes 4 Mar 2026"
            "10 × Trail Runner 42 (SHOE-TRAIL-42), €129.90 each",
            "Deal “Club jackets” — won, €480.50, owner 83712",
        ]
    )
    task = re.compile(
        r"^Task “Call Lena Fischer about their cart of €649\.75” for owner 83712, from b2b_cart_to_sales, "
        r"created 4 Mar 2026, \d\d:\d\d$"
    )
    expect(listed(page, "Sales tasks")).to_have_text([task])
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_a_deal_without_a_currency_or_its_products_details_says_so(page: Page, lenas_page: dict[str, Any]) -> None:
    answer = copy.deepcopy(lenas_page)
    kit = answer["deals"][0]
    kit["currency"] = None
    kit["line_items"] = [dict.fromkeys(kit["line_items"][0], None) | {"line_item_id": "7101"}]
    shown(page, answer)

    expect(listed(page, "Deals").first).to_have_text(
        "Deal “Trail running kit for the club” — contract sent, 1,299 (no currency set), owner 83712, closes 4 Mar 2026"
        "Line item 7101, details not received yet"
    )


def test_a_customer_without_deals_or_sales_tasks_shows_neither_section(page: Page, lenas_page: dict[str, Any]) -> None:
    shown(page, lenas_page | {"deals": [], "sales_tasks": []})

    expect(page.get_by_role("region", name="Open tickets")).to_be_visible()
    expect(page.get_by_role("region", name="Deals")).to_have_count(0)
    expect(page.get_by_role("region", name="Sales tasks")).to_have_count(0)


def test_axe_finds_no_serious_accessibility_violation_with_deals_and_sales_tasks(
    page: Page, lenas_page: dict[str, Any]
) -> None:
    shown(page, lenas_page)

    expect(page.get_by_role("region", name="Sales tasks")).to_be_visible()
    serious = serious_violations(page)
    assert not serious, "\n".join(serious)
