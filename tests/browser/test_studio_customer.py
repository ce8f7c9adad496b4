"""A store clerk at the counter, in headless Chromium: the studio's customer screen over the demo (the shoes story,
Lena's care kit in her web cart the day after, and two customers named Maria Schmidt)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.studio import Studio, serious_violations

LENA_PHONE = "0151 23456789"


def find(page: Page, studio: Studio, by: str, **fields: str) -> None:
    page.goto(f"{studio.url}/customers")
    page.get_by_label(by, exact=True).check()
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Find").click()
    page.wait_for_load_state()  # the customer page's script (the Done buttons) listens once it has loaded


def test_a_clerk_finds_lena_by_phone_sees_her_web_cart_and_offer_code_and_marks_an_action_done(
    page: Page, clean_studio: Studio
) -> None:
    find(page, clean_studio, "Phone", **{"Phone, email or loyalty id": f"+49 {LENA_PHONE}"})

    cart = page.get_by_role("region", name="Cart")
    expect(cart).to_contain_text("From the web channel")
    expect(cart).to_contain_text("Shoe Care Kit")
    expect(page.get_by_role("region", name="Live offers")).to_contain_text("CAREKIT-")
    expect(page.get_by_role("region", name="Recent orders")).to_contain_text("pos")
    actions = page.get_by_role("region", name="Next best actions").get_by_role("listitem")
    suggestion = actions.filter(has_text="Suggest: Merino Running Socks")
    expect(suggestion).to_have_count(1)

    done = suggestion.get_by_role("button", name="Done")
    expect(done).to_have_accessible_description(re.compile(r"Suggest: Merino Running Socks"))
    done.click()

    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Marked done: .*Suggest: Merino Running Socks"))
    expect(page.get_by_role("heading", name="Next best actions")).to_be_focused()
    expect(actions.filter(has_text="Suggest: Merino")).to_have_count(0)
    expect(actions).to_have_count(1)


def test_a_name_lists_both_customers_who_share_it_each_on_their_own(page: Page, clean_studio: Studio) -> None:
    find(page, clean_studio, "First and last name", **{"First name": "maria", "Last name": "SCHMIDT"})

    expect(page.get_by_role("heading", name="2 customers have this name")).to_be_visible()
    rows = page.locator("table.namesakes tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="maria.schmidt@example.com")).to_have_count(1)
    expect(rows.filter(has_text="m.schmidt@example.org")).to_have_count(1)


def test_an_unknown_phone_shows_not_found(page: Page, clean_studio: Studio) -> None:
    find(page, clean_studio, "Phone", **{"Phone, email or loyalty id": "+49 151 99999999"})

    expect(page.get_by_role("alert")).to_contain_text("Not found")


def test_done_without_the_pages_csrf_token_is_refused(clean_studio: Studio) -> None:
    answer = httpx.post(f"{clean_studio.url}/api/customers/cus_a14367a1756351d4aeae/actions/any/done")
    assert answer.status_code == 403


@pytest.mark.parametrize("path", ["/customers", "/customers?by=phone&value=%2B4915123456789"])
def test_axe_finds_no_serious_accessibility_violation_on_the_customer_screen(
    page: Page, clean_studio: Studio, path: str
) -> None:
    page.goto(f"{clean_studio.url}{path}")
    expect(page.locator("main")).to_be_visible()
    serious = serious_violations(page)
    assert not serious, "\n".join(serious)
